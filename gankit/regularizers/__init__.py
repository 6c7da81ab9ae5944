"""Stabilisation tricks as composable switches; see :mod:`gankit.regularizers.base`."""

from gankit.regularizers.base import REGULARIZERS, Regularizer, StepContext, Targets, build_regularizers

__all__ = ["REGULARIZERS", "Regularizer", "StepContext", "Targets", "build_regularizers"]
