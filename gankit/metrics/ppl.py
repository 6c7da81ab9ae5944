"""Perceptual path length (Karras et al. 2019, "A Style-Based Generator Architecture for GANs", section 4.2).

How much the image changes, perceptually, for a tiny step along an interpolation path in latent
space: l = d(g(p(t)), g(p(t + eps))) / eps^2 with eps = 1e-4, averaged over random pairs of
latents and discarding the values below the 1st and above the 99th percentile. A smooth, well
disentangled latent space has short paths.

* ``space="z"``: p(t) = slerp(z0, z1, t) (z lies near a sphere); ``space="w"``: lerp(w0, w1, t),
  w from the mapping network (style-based generators only).
* ``sampling="full"``: t ~ U[0, 1]; ``"end"``: t = 0 (paths measured at their ends).
* ``d``: a perceptual distance. The paper's is LPIPS-VGG (``d`` = the LPIPS distance itself); here the
  network is pluggable (:func:`path_lengths` takes a ``features`` function, whose squared L2 distance
  is ``d``, or a ``distance`` function) and the protocol line names the one used
  (``ppl_similarity``): ``auto`` -- the fmnist classifier's features for 1 x 28 x 28 images, pixels
  otherwise; ``fmnist``; ``pixels``; ``lpips`` -- LPIPS-VGG v0.1 from weights files the caller names
  (:mod:`gankit.metrics.extractors.lpips_vgg`). A pixel-space value is always added as a sanity check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, NamedTuple

import numpy as np
import torch

from gankit.errors import GankitError

EPS = 1e-4
SIMILARITIES = ("auto", "fmnist", "pixels", "lpips")

Features = Callable[[torch.Tensor], torch.Tensor]
Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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


def feature_distance(features: Features) -> Distance:
    """d(x0, x1) = |features(x0) - features(x1)|^2 per pair, in float64."""

    def d(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
        f0, f1 = features(x0).double(), features(x1).double()
        return (f0 - f1).square().flatten(1).sum(dim=1)

    return d


def path_lengths(generate: Callable[[torch.Tensor], torch.Tensor], features: Features | None, start: torch.Tensor,
                 end: torch.Tensor, space: str = "z", sampling: str = "full", eps: float = EPS,
                 generator: torch.Generator | None = None, *, distance: Distance | None = None) -> torch.Tensor:  # fmt: skip
    """One length d(g(p(t)), g(p(t + eps))) / eps^2 per pair of latents (rows of ``start``/``end``).

    ``generate`` maps latents of that space to images; ``d`` is ``distance`` (LPIPS: the distance itself)
    or, given ``features`` instead, the squared L2 distance of the features. Exactly one of the two.
    """
    if space not in ("z", "w") or sampling not in ("full", "end"):
        raise ValueError(f"space z|w and sampling full|end, got {space!r}, {sampling!r}")
    if (features is None) == (distance is None):
        raise ValueError("give exactly one of features and distance")
    d = distance if distance is not None else feature_distance(features)  # type: ignore[arg-type]
    n = start.shape[0]
    t = torch.rand(n, generator=generator) if sampling == "full" else torch.zeros(n)
    t = t.to(start.device, start.dtype)
    interp = slerp if space == "z" else lerp
    p0, p1 = interp(start, end, t), interp(start, end, t + eps)
    return d(generate(p0), generate(p1)).double() / eps**2


def filtered_mean(lengths: torch.Tensor | np.ndarray, low: float = 1.0, high: float = 99.0) -> float:
    """Mean of the lengths within the [low, high] percentiles (the paper discards the outliers)."""
    x = np.asarray(lengths, dtype=np.float64)
    lo, hi = np.percentile(x, low, method="lower"), np.percentile(x, high, method="higher")
    kept = x[(x >= lo) & (x <= hi)]
    return float(kept.mean())


def pixel_features(images: torch.Tensor) -> torch.Tensor:
    """Pixels as features: the sanity-check variant (a pixel-space path length)."""
    return images.flatten(1)


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


class Similarity(NamedTuple):
    """The network behind d, as the protocol names it."""

    extractor: str  # Protocol.extractor
    extractor_hash: str | None
    resize: str
    description: str  # details["similarity"]
    distance: Distance
    weights: dict[str, str] | None = None


def check_similarity(choice: str, lpips_weights: str | Path | None = None, vgg_weights: str | Path | None = None,
                     shape: tuple[int, ...] | None = None, device: str | None = None) -> None:  # fmt: skip
    """Fail before any work on a bad ``ppl_similarity`` choice; with ``device``, load (and so check) LPIPS' files."""
    from gankit.core.registry import did_you_mean

    if choice not in SIMILARITIES:
        raise GankitError(f"unknown ppl similarity {choice!r}.{did_you_mean(choice, list(SIMILARITIES))} "
                          f"Choose from {', '.join(SIMILARITIES)}.")  # fmt: skip
    given = [o for o, v in (("--lpips-weights", lpips_weights), ("--vgg-weights", vgg_weights)) if v is not None]
    if choice != "lpips" and given:
        raise GankitError(f"{' and '.join(given)} are the weights of --ppl-similarity lpips, but the similarity is "
                          f"{choice!r}; add `--ppl-similarity lpips` (Python: ppl_similarity=\"lpips\") or drop them.")  # fmt: skip
    if choice == "fmnist" and shape is not None and tuple(shape) != (1, 28, 28):
        raise GankitError(f"--ppl-similarity fmnist reads 1 x 28 x 28 images (the Fashion-MNIST classifier); this "
                          f"generator makes {' x '.join(map(str, shape))}. Use pixels, or lpips with its weights.")  # fmt: skip
    if choice == "lpips":
        from gankit.metrics.extractors.lpips_vgg import load_lpips_vgg, missing_weights_message

        if lpips_weights is None or vgg_weights is None:
            raise GankitError(missing_weights_message(lpips_weights, vgg_weights))
        if device is not None:
            load_lpips_vgg(lpips_weights, vgg_weights, _device(device))


def _device(device: str) -> torch.device:
    from gankit.metrics.extractors import _check_device

    return _check_device(device)


def similarity_for(ctx: Any, shape: tuple[int, ...]) -> Similarity:
    """The similarity network of ``ctx.ppl_similarity`` for images of ``shape`` (``auto``: today's choice)."""
    choice = getattr(ctx, "ppl_similarity", "auto")
    lpips_w, vgg_w = getattr(ctx, "lpips_weights", None), getattr(ctx, "vgg_weights", None)
    check_similarity(choice, lpips_w, vgg_w, shape)
    if choice == "auto":
        choice = "fmnist" if tuple(shape) == (1, 28, 28) else "pixels"
    if choice == "lpips":
        from gankit.metrics.extractors.lpips_vgg import NAME, load_lpips_vgg, resize_name

        net = load_lpips_vgg(lpips_w, vgg_w, _device(ctx.device))
        return Similarity(NAME, net.hash, resize_name(shape), f"{net.description}, LPIPS distance / eps^2", net.distance(),
                          {"lpips": str(net.lpips_path), "vgg": str(net.vgg_path)})  # fmt: skip
    features = fmnist_features() if choice == "fmnist" else pixel_features
    return Similarity(choice, None, "none", f"{choice} features, squared L2 / eps^2", feature_distance(features))


def report(ctx) -> None:  # noqa: ANN001 - an EvalContext
    """``ppl`` of :func:`gankit.metrics.evaluate`: z (slerp) and, for a style-based G, w (lerp); full and end
    sampling; under ``ctx.ppl_similarity`` (:func:`similarity_for`), and a pixel-space sanity value."""
    from gankit.metrics.protocol import MetricResult, Protocol

    gen = ctx.need_generator("ppl")
    module = gen.module.eval()
    n = min(ctx.n, 10_000)
    shape = tuple(gen.signature["output_shape"])
    sim = similarity_for(ctx, shape)
    k = gen.signature["num_classes"]
    g = torch.Generator().manual_seed(ctx.seed)
    c = torch.randint(0, k, (n,), generator=g) if k else None
    z0, z1 = torch.randn(n, gen.signature["z_dim"], generator=g), torch.randn(n, gen.signature["z_dim"], generator=g)
    style = hasattr(module, "mapping") and hasattr(module, "synthesis")

    def lengths(space: str, sampling: str, distance: Distance) -> np.ndarray:
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
                out.append(path_lengths(make, None, a, b, space, sampling, generator=g, distance=distance).numpy())
        return np.concatenate(out)

    spaces = ["z", "w"] if style else ["z"]
    with ctx.timed("ppl"):
        for space in spaces:
            for sampling in ("full", "end"):
                values = lengths(space, sampling, sim.distance)
                proto = Protocol(extractor=sim.extractor, extractor_hash=sim.extractor_hash, n_generated=n, n_reference=None,
                                 reference=None, resize=sim.resize, seed=ctx.seed, image_shape=shape)  # fmt: skip
                details = {"space": space, "sampling": sampling, "eps": EPS, "percentiles": [1, 99], "pairs": n,
                           "similarity": sim.description}  # fmt: skip
                if sim.weights is not None:
                    details["weights"] = sim.weights
                ctx.report.add(MetricResult(f"ppl_{space}_{sampling}", filtered_mean(values), proto, details=details))
        pix = lengths(spaces[-1], "end", feature_distance(pixel_features))
        proto = Protocol(extractor="pixels", extractor_hash=None, n_generated=n, n_reference=None, reference=None,
                         resize="none", seed=ctx.seed, image_shape=shape)  # fmt: skip
        ctx.report.add(MetricResult(f"ppl_{spaces[-1]}_end_pixels", filtered_mean(pix), proto,
                                    details={"space": spaces[-1], "sampling": "end", "eps": EPS, "similarity": "pixels (sanity check)"}))  # fmt: skip


__all__ = ["EPS", "SIMILARITIES", "Similarity", "check_similarity", "feature_distance", "filtered_mean", "fmnist_features",
           "lerp", "path_lengths", "pixel_features", "similarity_for", "slerp"]
