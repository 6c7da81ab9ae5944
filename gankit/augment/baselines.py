"""The two non-GAN ways to enlarge a rare class, the study's baselines (b) and (c).

* :func:`random_oversample` -- copies of the class's own images, drawn with replacement;
* :func:`classical_augment` -- the same draws, each moved by one random affine map: a horizontal
  flip (p = 0.5), a rotation of up to +-10 degrees, a scale in [0.9, 1.1] and a shift of up to
  2 pixels (a random crop of a 2-pixel-padded image), bilinear, zero (black) fill.

Both return only the *extra* images (uint8, same shape) and their labels, so a caller adds them
with ``train_classifier(x, y, seed, extra=...)`` exactly as it adds GAN samples. Seeded.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gankit.errors import ConfigError

MAX_ROTATION_DEG = 10.0
SCALE = (0.9, 1.1)
MAX_SHIFT_PX = 2.0


def _members(x: torch.Tensor, y: torch.Tensor, klass: int, n: int, seed: int) -> torch.Tensor:
    if n < 1:
        raise ConfigError(f"n: at least 1 extra image, got {n}.")
    idx = torch.nonzero(torch.as_tensor(y).long() == klass).flatten()
    if len(idx) == 0:
        raise ConfigError(f"class {klass} has no images to draw from.")
    g = torch.Generator().manual_seed(seed)
    return x[idx[torch.randint(len(idx), (n,), generator=g)]]


def random_oversample(x: torch.Tensor, y: torch.Tensor, klass: int, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` copies of class ``klass``'s images of ``(x, y)``, drawn uniformly with replacement."""
    return _members(x, y, klass, n, seed).clone(), torch.full((n,), int(klass), dtype=torch.int64)


def affine(images: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """Each uint8 image moved by its own random flip / rotation / scale / shift (module docstring)."""
    n, _, h, w = images.shape
    g = torch.Generator().manual_seed(seed)
    flip = torch.where(torch.rand(n, generator=g) < 0.5, -1.0, 1.0)
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(MAX_ROTATION_DEG)
    scale = SCALE[0] + torch.rand(n, generator=g) * (SCALE[1] - SCALE[0])
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * MAX_SHIFT_PX
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale  # output -> input coordinates
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos * flip, -sin
    theta[:, 1, 0], theta[:, 1, 1] = sin * flip, cos
    theta[:, 0, 2], theta[:, 1, 2] = shift[:, 0] * 2 / w, shift[:, 1] * 2 / h  # pixels -> [-1, 1] units
    x = images.float()
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.round_().clamp_(0, 255).to(torch.uint8)


def classical_augment(x: torch.Tensor, y: torch.Tensor, klass: int, n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` augmented draws of class ``klass``: :func:`random_oversample` then :func:`affine`."""
    picked = _members(x, y, klass, n, seed)
    return affine(picked, seed + 1), torch.full((n,), int(klass), dtype=torch.int64)


__all__ = ["affine", "classical_augment", "random_oversample"]
