"""WGAN with gradient penalty (Gulrajani et al. 2017): lambda * E[(||grad D(x_hat)|| - 1)^2].

x_hat interpolates uniformly between paired real and fake samples; the norm is taken per D score
(per pack under PacGAN, see ``objectives/penalties.py``). Use a critic without batch
norm (``norm: layer``) and Adam(1e-4, betas (0, 0.9)), as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.objectives.base import LOSSES
from gankit.objectives.penalties import gradient_penalty
from gankit.objectives.losses.wgan import WassersteinLoss


@LOSSES.register("wgan_gp")
class WGANGP(WassersteinLoss):
    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def penalty(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return self.gp_weight * gradient_penalty(D, real, fake)
