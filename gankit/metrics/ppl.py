"""Perceptual path length (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", section 4.2).

How much the image changes, perceptually, for a tiny step along an interpolation path in latent
space: l = d(g(p(t)), g(p(t + eps))) / eps^2 with eps = 1e-4, averaged over random pairs of
latents and discarding the values below the 1st and above the 99th percentile. A smooth, well
disentangled latent space has short paths.

* ``space="z"``: p(t) = slerp(z0, z1, t) (z lies near a sphere); ``space="w"``: lerp(w0, w1, t),
  w from the mapping network (style-based generators only).
* ``sampling="full"``: t ~ U[0, 1]; ``"end"``: t = 0 (paths measured at their ends).
* ``d``: the squared distance of a similarity network's features. LPIPS-VGG is the paper's; here
  the network is pluggable (:func:`path_lengths` takes any ``features`` function) and the
  protocol line names the one used: the fmnist classifier's features by default, or pixels as
  a sanity check.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

EPS = 1e-4

Features = Callable[[torch.Tensor], torch.Tensor]


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of the directions of a and b (rows), as the paper's code: unit vectors out."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    d = (a * b).sum(dim=-1, keepdim=True).clamp(-1.0, 1.0)
    p = t.reshape(-1, 1) * torch.acos(d)
    c = b - d * a
    c = c / c.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return a * torch.cos(p) + c * torch.sin(p)


def lerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    return a + (b - a) * t.reshape(-1, *([1] * (a.dim() - 1)))


def path_lengths(generate: Callable[[torch.Tensor], torch.Tensor], features: Features, start: torch.Tensor,
                 end: torch.Tensor, space: str = "z", sampling: str = "full", eps: float = EPS,
                 generator: torch.Generator | None = None) -> torch.Tensor:  # fmt: skip
    """One length per pair of latents (rows of ``start``/``end``); ``generate`` maps latents of that space to images."""
    if space not in ("z", "w") or sampling not in ("full", "end"):
        raise ValueError(f"space z|w and sampling full|end, got {space!r}, {sampling!r}")
    n = start.shape[0]
    t = torch.rand(n, generator=generator) if sampling == "full" else torch.zeros(n)
    t = t.to(start.device, start.dtype)
    interp = slerp if space == "z" else lerp
    p0, p1 = interp(start, end, t), interp(start, end, t + eps)
    f0, f1 = features(generate(p0)).double(), features(generate(p1)).double()
    return (f0 - f1).square().flatten(1).sum(dim=1) / eps**2


def filtered_mean(lengths: torch.Tensor | np.ndarray, low: float = 1.0, high: float = 99.0) -> float:
    """Mean of the lengths within the [low, high] percentiles (the paper discards the outliers)."""
    x = np.asarray(lengths, dtype=np.float64)
    lo, hi = np.percentile(x, low, method="lower"), np.percentile(x, high, method="higher")
    kept = x[(x >= lo) & (x <= hi)]
    return float(kept.mean())


def pixel_features(images: torch.Tensor) -> torch.Tensor:
    """Pixels as features: the sanity-check variant (a pixel-space path length)."""
    return images.flatten(1)


__all__ = ["EPS", "filtered_mean", "lerp", "path_lengths", "pixel_features", "slerp"]
