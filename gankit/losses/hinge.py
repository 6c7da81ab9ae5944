"""Hinge loss (Lim & Ye 2017; used by SNGAN, SAGAN, BigGAN)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.losses.base import LOSSES, AdversarialLoss, Targets


@LOSSES.register("hinge")
class Hinge(AdversarialLoss):
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()
