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


def fmnist_features(weights: str | None = None) -> Features:
    """The shipped Fashion-MNIST classifier's 128-d features of float images in [-1, 1] (no uint8 rounding,
    which would swallow a 1e-4 step); 1 x 28 x 28 only."""
    from gankit.metrics.extractors.fmnist import load_fmnist_net

    net, _ = load_fmnist_net(weights)
    net.eval()

    def features(images: torch.Tensor) -> torch.Tensor:
        if tuple(images.shape[1:]) != (1, 28, 28):
            raise ValueError(f"fmnist features read 1 x 28 x 28 images; got {tuple(images.shape[1:])} (use pixels)")
        with torch.no_grad():
            return net.forward_features(((images.float() + 1) / 2).clamp(0, 1))[0]

    return features


def report(ctx) -> None:  # noqa: ANN001 - an EvalContext
    """``ppl`` of :func:`gankit.metrics.evaluate`: z (slerp) and, for a style-based G, w (lerp); full and end
    sampling; fmnist features for 1x28x28 images (pixels otherwise), and a pixel-space sanity value."""
    from gankit.metrics.protocol import MetricResult, Protocol

    gen = ctx.need_generator("ppl")
    module = gen.module.eval()
    n = min(ctx.n, 10_000)
    shape = tuple(gen.signature["output_shape"])
    feats, space_name = (fmnist_features(), "fmnist") if shape == (1, 28, 28) else (pixel_features, "pixels")
    k = gen.signature["num_classes"]
    g = torch.Generator().manual_seed(ctx.seed)
    c = torch.randint(0, k, (n,), generator=g) if k else None
    z0, z1 = torch.randn(n, gen.signature["z_dim"], generator=g), torch.randn(n, gen.signature["z_dim"], generator=g)
    style = hasattr(module, "mapping") and hasattr(module, "synthesis")

    def lengths(space: str, sampling: str, features: Features) -> np.ndarray:
        out = []
        for lo in range(0, n, 500):
            hi = min(n, lo + 500)
            cc = None if c is None else c[lo:hi]
            if space == "w":
                a, b = module.mapping(z0[lo:hi], cc), module.mapping(z1[lo:hi], cc)
                def make(w: torch.Tensor) -> torch.Tensor:  # noqa: E306
                    return module.synthesis(w[:, None].expand(-1, module.num_ws, -1))
            else:
                a, b = z0[lo:hi], z1[lo:hi]
                radius = (a.norm(dim=1, keepdim=True) + b.norm(dim=1, keepdim=True)) / 2
                def make(z: torch.Tensor, r: torch.Tensor = radius) -> torch.Tensor:  # noqa: E306
                    return module(z * r, cc) if cc is not None else module(z * r)
            with torch.no_grad():
                out.append(path_lengths(make, features, a, b, space, sampling, generator=g).numpy())
        return np.concatenate(out)

    spaces = ["z", "w"] if style else ["z"]
    with ctx.timed("ppl"):
        for space in spaces:
            for sampling in ("full", "end"):
                values = lengths(space, sampling, feats)
                proto = Protocol(extractor=space_name, extractor_hash=None, n_generated=n, n_reference=None, reference=None,
                                 resize="none", seed=ctx.seed, image_shape=shape)  # fmt: skip
                details = {"space": space, "sampling": sampling, "eps": EPS, "percentiles": [1, 99], "pairs": n,
                           "similarity": f"{space_name} features, squared L2 / eps^2"}  # fmt: skip
                ctx.report.add(MetricResult(f"ppl_{space}_{sampling}", filtered_mean(values), proto, details=details))
        pix = lengths(spaces[-1], "end", pixel_features)
        proto = Protocol(extractor="pixels", extractor_hash=None, n_generated=n, n_reference=None, reference=None,
                         resize="none", seed=ctx.seed, image_shape=shape)  # fmt: skip
        ctx.report.add(MetricResult(f"ppl_{spaces[-1]}_end_pixels", filtered_mean(pix), proto,
                                    details={"space": spaces[-1], "sampling": "end", "eps": EPS, "similarity": "pixels (sanity check)"}))  # fmt: skip
