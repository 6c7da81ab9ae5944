"""Least-squares GAN (Mao et al. 2017) with the 0-1 coding: D pushes real to 1, fake to 0."""

from __future__ import annotations

import torch

from gankit.core.objective import LossProfile, Targets
from gankit.objectives.base import CONFIDENT_D_FAKE, LOSSES, AdversarialLoss


@LOSSES.register("lsgan")
class LSGAN(AdversarialLoss):
    threshold = 0.5
    supports_targets = True
    # 0.5 * ((D(x)-1)^2 + D(G(z))^2): 0.25 at D = 1/2, 0.02 with errors of 0.14 on both sides;
    # G: 0.5 * (D(G(z))-1)^2 = 0.45 at D(G(z)) = 0.05
    profile = LossProfile("least_squares", 0.25, 0.125, 0.02, 0.5 * (1 - CONFIDENT_D_FAKE) ** 2)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        tr, tf = (1.0, 0.0) if targets is None else (targets.real, targets.fake)
        return 0.5 * ((real - tr).pow(2).mean() + (fake - tf).pow(2).mean())

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (fake - 1).pow(2).mean()
