"""Hinge loss (Lim & Ye 2017; used by SNGAN, SAGAN, BigGAN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.core.objective import LossProfile, Targets
from gankit.objectives.base import LOSSES, AdversarialLoss


@LOSSES.register("hinge")
class Hinge(AdversarialLoss):
    """D(x) is logged as the raw score: hinge scores are margins, not logits of a probability."""

    # relu(1 - D(x)) + relu(1 + D(G(z))): 2 at scores 0, 0 once every margin holds; G: -D(G(z)) > 1
    profile = LossProfile("hinge", 2.0, 1.0, 0.1, 1.0)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()
