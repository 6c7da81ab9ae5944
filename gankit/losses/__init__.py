"""Adversarial losses, selected by ``loss.name`` in a recipe.

Adding a loss is one file in this folder: subclass :class:`AdversarialLoss` and decorate it with
``@LOSSES.register("name")``; options in the recipe's ``loss:`` section become constructor args.
"""

from __future__ import annotations

from typing import Any

from gankit.losses.base import LOSSES, AdversarialLoss


def build_loss(name: str, params: dict[str, Any]) -> AdversarialLoss:
    return LOSSES.build(name, params, "loss")


__all__ = ["LOSSES", "AdversarialLoss", "build_loss"]
