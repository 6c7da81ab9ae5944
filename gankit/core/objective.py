"""The contract between adversarial losses, the tasks that weight them and the diagnostics that read them.

A loss is a pair of pure functions on D's raw scores plus what its numbers mean (``LossProfile``),
so the doctor's thresholds live with the loss, not in a table elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Targets:
    """Per-score D targets for the sigmoid/least-squares losses (smoothing, flipping)."""

    real: torch.Tensor
    fake: torch.Tensor


@dataclass(frozen=True)
class LossProfile:
    """What the numbers of one loss mean. Losses are in the engine's sign convention (minimised)."""

    family: str  # "sigmoid" | "least_squares" | "hinge" | "critic"
    d_scale: float  # typical |D loss| (its value when D cannot tell real from fake, or 1)
    g_scale: float
    d_near_zero: float | None  # D loss below this: D separates almost perfectly
    g_saturated: float | None  # G loss above this: D rejects the fakes with >= 95 % confidence


NEUTRAL_PROFILE = LossProfile("sigmoid", 1.0, 1.0, None, None)
