"""Objectives: pure tensor functions a task weights into named loss terms.

* ``losses/``: the adversarial losses, selected by ``loss.name`` in a recipe (one file each);
* ``penalties.py``: input-gradient penalties (WGAN-GP, R1/R2, DRAGAN), per D score;
* ``classification.py``, ``translation.py``, ``restoration.py``: class, translation and restoration
  terms (hole L1, domain classification, reconstruction);
* ``content.py``: the content (perceptual) loss on frozen features (VGG19 by path, the fmnist classifier).
"""

from __future__ import annotations

from typing import Any

from gankit.objectives.base import LOSSES, AdversarialLoss


def build_loss(name: str, params: dict[str, Any]) -> AdversarialLoss:
    return LOSSES.build(name, params, "loss")


__all__ = ["LOSSES", "AdversarialLoss", "build_loss"]
