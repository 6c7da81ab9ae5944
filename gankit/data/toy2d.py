"""The synthetic 2D Gaussian mixtures of the mode-collapse literature (Metz et al. 2017, VEEGAN).

Modes are far apart relative to sigma, so a collapsed generator is visible at a glance and
countable: a sample "hits" a mode when it lies within a few sigma of its mean.
"""

from __future__ import annotations

import math

import torch

from gankit.errors import DataError


def _ring8() -> torch.Tensor:
    angles = torch.arange(8, dtype=torch.float64) * (2 * math.pi / 8)
    return torch.stack([angles.cos(), angles.sin()], dim=1).float()


def _grid25() -> torch.Tensor:
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(axis, axis).float()


MIXTURES: dict[str, tuple[torch.Tensor, float]] = {
    "ring8": (_ring8(), 0.01),
    "grid25": (_grid25(), 0.05),
}


def mixture_params(name: str) -> tuple[torch.Tensor, float]:
    """(means (K, 2) float32, sigma); the means are a copy, safe to modify."""
    if name not in MIXTURES:
        raise DataError(f"unknown 2D mixture {name!r}; valid: {', '.join(sorted(MIXTURES))}.")
    means, sigma = MIXTURES[name]
    return means.clone(), sigma


def sample_mixture(name: str, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` points (n, 2) float32: a uniformly chosen mode plus isotropic N(0, sigma^2) noise."""
    means, sigma = mixture_params(name)
    modes = torch.randint(len(means), (n,), generator=generator)
    return means[modes] + sigma * torch.randn(n, 2, generator=generator)
