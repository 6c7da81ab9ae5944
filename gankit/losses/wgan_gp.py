"""WGAN with gradient penalty (Gulrajani et al. 2017): lambda * E[(||grad D(x_hat)|| - 1)^2].

x_hat interpolates uniformly between paired real and fake samples. Use a critic without batch
norm (``norm: layer``) and Adam(1e-4, betas (0, 0.9)), as in the paper.
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.losses.base import LOSSES
from gankit.losses.wgan import WassersteinLoss


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, center: float = 1.0) -> torch.Tensor:
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(dim=1) - center).pow(2).mean()


@LOSSES.register("wgan_gp")
class WGANGP(WassersteinLoss):
    def __init__(self, gp_weight: float = 10.0) -> None:
        self.gp_weight = gp_weight

    def penalty(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return self.gp_weight * gradient_penalty(D, real, fake)
