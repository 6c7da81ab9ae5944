"""Stabilisation tricks as composable switches, grouped by what they are; see :mod:`gankit.tricks.base`."""

from gankit.core.objective import Targets
from gankit.tricks.base import TRICKS, Assembly, StepContext, Trick, TrickEnv, build_tricks

__all__ = ["TRICKS", "Assembly", "StepContext", "Targets", "Trick", "TrickEnv", "build_tricks"]
