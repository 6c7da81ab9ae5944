"""The synthetic 2D Gaussian mixtures of the mode-collapse literature (Metz et al. 2017, VEEGAN).

Modes are far apart relative to sigma, so a collapsed generator is visible at a glance and
countable: a sample "hits" a mode when it lies within a few sigma of its mean.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import torch

from gankit.data.base import SOURCES, DataSpec, check_label_switches
from gankit.data.source import TensorSource
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


# --------------------------------------------------------------------------- as data sources
# Everything particular to the 2D mixtures lives here: their points, their shape, their modes
# (for coverage, scatter plots and the doctor's collapse rule).


def _toy_seed(seed: int) -> int:
    """A data seed unrelated to the permutation seeds (seed * 1_000_003 + epoch)."""
    return int.from_bytes(hashlib.sha256(f"gankit-toy2d:{seed}".encode()).digest()[:8], "little")


def toy_points(name: str, n_points: int, seed: int, limit: int | None) -> torch.Tensor:
    n = min(n_points, limit) if limit is not None else n_points
    return sample_mixture(name, n, torch.Generator().manual_seed(_toy_seed(seed)))


def mode_count(name: str) -> int | None:
    """Number of modes of a named mixture; None for anything else."""
    return len(MIXTURES[name][0]) if name in MIXTURES else None


class Mixture2D(DataSpec):
    """``data.n_points`` points drawn once from ``seed``; evaluated by mode coverage, not FID."""

    kind = "vector"
    name = ""

    def sample_shape(self, cfg: Any) -> tuple[int, ...]:
        return (2,)

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TensorSource:  # fmt: skip
        check_label_switches(self, cfg)
        return TensorSource(toy_points(cfg.name, cfg.n_points, seed, cfg.limit), batch_size, device, seed, rank, world_size)

    def load_real(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> torch.Tensor:
        return toy_points(cfg.name, cfg.n_points, seed, limit if limit is not None else cfg.limit)

    def reference(self, cfg: Any, split: str) -> str | None:
        return f"mixture:{cfg.name}"

    def mixture(self, cfg: Any) -> tuple[torch.Tensor, float] | None:
        return mixture_params(cfg.name)

    def missing_labels(self, cfg: Any) -> str:
        return (f"data.name {cfg.name!r} has none: the 2D mixtures are unlabeled points; use fashion-mnist, "
                "mnist, or an image folder with one subfolder per class")  # fmt: skip


@SOURCES.register("ring8")
class Ring8(Mixture2D):
    """8 Gaussians on the unit circle, sigma 0.01 (Metz et al. 2017)."""


@SOURCES.register("grid25")
class Grid25(Mixture2D):
    """A 5x5 grid of Gaussians 2 apart, sigma 0.05 (VEEGAN, PacGAN)."""
