"""Input-gradient penalties on D, as pure functions of a network and its inputs.

Every norm is taken per D *score*: a packed D (PacGAN) scores groups of consecutive samples, so a
row of the gradient holds one pack's inputs, and a penalty that asks for norm 1 asks it of each
pack (not of each sample, which would push a pack's norm towards sqrt(pac)).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.utils.autograd import inner_grad


def input_grad(D: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """grad_x of sum D(x), kept differentiable, as (n_scores, -1), and the number of scores."""
    x = x.detach().requires_grad_(True)
    out = D(x).float()
    (grad,) = inner_grad(out.sum(), x, create_graph=True)
    return grad.reshape(out.numel(), -1), out.numel()


def squared_grad_norm(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x)||^2 over D's scores: R1 on real data, R2 on fakes (Mescheder et al. 2018)."""
    grad, _ = input_grad(D, x)
    return grad.float().pow(2).sum(dim=1).mean()


def interpolate(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Uniform random points on the lines between paired real and fake samples (global RNG)."""
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    return eps * real.detach() + (1 - eps) * fake.detach()


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor, center: float = 1.0) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E (||grad D(x_hat)|| - center)^2, per score."""
    grad, _ = input_grad(D, interpolate(real, fake))
    return (grad.float().norm(dim=1) - center).pow(2).mean()


def perturb(x: torch.Tensor, c: float) -> torch.Tensor:
    """DRAGAN's x + c * std(x) * U[0, 1) noise (std over the whole batch), from the global RNG."""
    x = x.detach()
    return x + c * x.float().std().to(x.dtype) * torch.rand_like(x)


def dragan_penalty(D: nn.Module, real: torch.Tensor, c: float = 0.5, k: float = 1.0) -> torch.Tensor:
    """DRAGAN (Kodali et al. 2017): E (||grad D(x + noise)|| - k)^2 near the real data, per score."""
    grad, _ = input_grad(D, perturb(real, c))
    return (grad.float().norm(dim=1) - k).pow(2).mean()
