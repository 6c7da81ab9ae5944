"""Least-squares GAN (Mao et al. 2017) with the 0-1 coding: D pushes real to 1, fake to 0."""

from __future__ import annotations

import torch

from gankit.losses.base import LOSSES, AdversarialLoss, Targets


@LOSSES.register("lsgan")
class LSGAN(AdversarialLoss):
    threshold = 0.5
    supports_targets = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        tr, tf = (1.0, 0.0) if targets is None else (targets.real, targets.fake)
        return 0.5 * ((real - tr).pow(2).mean() + (fake - tf).pow(2).mean())

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * (fake - 1).pow(2).mean()

    def prob(self, scores: torch.Tensor) -> torch.Tensor:
        return scores
