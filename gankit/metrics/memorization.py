"""Memorisation: are generated samples closer to the training set than to held-out data?

For each generated sample ``g``::

    ratio(g) = (d(g, train) + eps) / (d(g, held_out) + eps)

where ``d(g, S)`` is the Euclidean distance to the nearest element of ``S`` and
``eps = 1e-6 * median_g d(g, held_out)`` only keeps the ratio finite when a distance is exactly 0
(a copy of a training image gives ~0; a sample equal to both gives 1). Computed in two spaces:
pixels (values scaled to [0, 1], flattened) and extractor features. We report the mean and
median ratio.

Reading it: ``ratio << 1`` means samples sit on top of training images (copying). A generator
that samples *new* images from the data distribution gets about the value a real held-out image
gets, reported as ``baseline_median``: for up to ``baseline_n`` held-out images ``h`` we compute
``d(h, train) / d(h, held_out without h)``. It is ~1 when the training and held-out sets have the
same size, and somewhat below 1 when the training set is larger (nearest-neighbour distances
shrink with the size of the set; e.g. 60k Fashion-MNIST train images vs 10k test images), so
compare the generated ratio with the baseline rather than with exactly 1.

Nearest neighbours are found with chunked ``torch.cdist`` (float32, memory bounded by
``max_block_elems``) and the winning distance is then recomputed exactly, so exact copies give 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from gankit.utils.images import save_figure
from gankit.errors import GankitError

BASELINE_N = 2000
MAX_BLOCK_ELEMS = 1 << 26  # 64M float32 = 256 MiB per distance block


def pixel_vectors(images: torch.Tensor) -> torch.Tensor:
    """uint8 N x C x H x W -> float32 N x (C*H*W) in [0, 1]."""
    return images.reshape(len(images), -1).to(torch.float32).div_(255.0)


def nearest_neighbours(
    queries: torch.Tensor,
    refs: torch.Tensor,
    exclude: torch.Tensor | None = None,
    max_block_elems: int = MAX_BLOCK_ELEMS,
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (float64) and index of each query's nearest ref; ``exclude[i]`` = a ref index to skip for query i."""
    q = torch.as_tensor(queries, dtype=torch.float32)
    r = torch.as_tensor(refs, dtype=torch.float32)
    if q.ndim != 2 or r.ndim != 2 or q.shape[1] != r.shape[1]:
        raise GankitError(f"nearest neighbours need (N, D) and (M, D) arrays; got {tuple(q.shape)} and {tuple(r.shape)}.")
    if len(r) == 0 or (exclude is not None and len(r) < 2):
        raise GankitError("nearest neighbours need a non-empty reference set.")
    chunk = max(1, min(4096, max_block_elems // max(1, len(r))))
    dist, index = [], []
    with torch.inference_mode():
        for i in range(0, len(q), chunk):
            qb = q[i : i + chunk]
            d = torch.cdist(qb, r)
            if exclude is not None:
                d[torch.arange(len(qb)), exclude[i : i + chunk]] = float("inf")
            idx = d.argmin(dim=1)
            exact = (qb.double() - r[idx].double()).norm(dim=1)
            dist.append(exact.numpy())
            index.append(idx.numpy())
    return np.concatenate(dist), np.concatenate(index)


def _ratios(d_train: np.ndarray, d_held: np.ndarray) -> np.ndarray:
    med = float(np.median(d_held))
    eps = 1e-6 * med if med > 0 else 1e-12
    return (d_train + eps) / (d_held + eps)


@dataclass
class MemorizationResult:
    ratio_mean: float
    ratio_median: float
    baseline_mean: float | None
    baseline_median: float | None
    n_generated: int
    n_train: int
    n_held_out: int
    n_baseline: int
    d_train: np.ndarray = field(repr=False)  # per generated sample
    d_held_out: np.ndarray = field(repr=False)
    train_index: np.ndarray = field(repr=False)  # nearest training item per generated sample

    def summary(self) -> dict:
        d = asdict(self)
        for k in ("d_train", "d_held_out", "train_index"):
            d.pop(k)
        return d


def memorization_ratios(
    generated: torch.Tensor,
    train: torch.Tensor,
    held_out: torch.Tensor,
    seed: int = 0,
    baseline_n: int = BASELINE_N,
) -> MemorizationResult:
    """Distance ratios for vectors (N, D) against train (M, D) and held-out (H, D) vectors.

    ``baseline_n`` held-out items (chosen with ``seed``) give the no-memorisation baseline; 0 skips it.
    """
    g, tr, ho = (torch.as_tensor(np.asarray(a) if not torch.is_tensor(a) else a, dtype=torch.float32) for a in (generated, train, held_out))
    for name, a in (("generated", g), ("train", tr), ("held-out", ho)):
        if len(a) == 0:
            raise GankitError(f"memorisation needs a non-empty {name} set.")
    d_train, idx_train = nearest_neighbours(g, tr)
    d_held, _ = nearest_neighbours(g, ho)
    ratio = _ratios(d_train, d_held)
    b_mean = b_median = None
    nb = min(baseline_n, len(ho)) if len(ho) >= 2 else 0
    if nb:
        pick = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(ho), nb, replace=False)))
        hb = ho[pick]
        bd_train, _ = nearest_neighbours(hb, tr)
        bd_held, _ = nearest_neighbours(hb, ho, exclude=pick)
        b = _ratios(bd_train, bd_held)
        b_mean, b_median = float(b.mean()), float(np.median(b))
    return MemorizationResult(
        ratio_mean=float(ratio.mean()),
        ratio_median=float(np.median(ratio)),
        baseline_mean=b_mean,
        baseline_median=b_median,
        n_generated=len(g),
        n_train=len(tr),
        n_held_out=len(ho),
        n_baseline=nb,
        d_train=d_train,
        d_held_out=d_held,
        train_index=idx_train,
    )


def _to_hwc(img: torch.Tensor) -> np.ndarray:
    a = img.detach().cpu().numpy()
    return a[0] if a.shape[0] == 1 else np.transpose(a, (1, 2, 0))


def plot_closest_pairs(
    generated: torch.Tensor,
    train: torch.Tensor,
    d_train: np.ndarray,
    train_index: np.ndarray,
    path: str | Path,
    k: int = 16,
) -> Path:
    """PNG of the ``k`` generated samples closest to a training image (top row) and that image (bottom)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt


    order = np.argsort(d_train, kind="stable")[:k]
    k = len(order)
    fig, axes = plt.subplots(2, k, figsize=(0.85 * k + 0.6, 2.3), dpi=120, squeeze=False)
    gray = generated.shape[1] == 1
    for j, i in enumerate(order):
        for row, img in ((0, generated[i]), (1, train[int(train_index[i])])):
            ax = axes[row, j]
            ax.imshow(_to_hwc(img), cmap="gray" if gray else None, vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, j].set_title(f"{d_train[i]:.2f}", fontsize=6)
    axes[0, 0].set_ylabel("generated", fontsize=7)
    axes[1, 0].set_ylabel("nearest train", fontsize=7)
    fig.suptitle("closest generated/train pairs (pixel L2 distance, pixels in [0,1])", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path)


def report(ctx) -> None:
    """``memorization`` of :func:`gankit.metrics.evaluate`: train = ``ctx.train_ref``, held out = ``ctx.ref``."""
    from gankit.metrics.protocol import MetricResult
    from gankit.metrics.reference import check_shapes, parse_reference

    x, shape, reference, seed = ctx.x, ctx.shape, ctx.reference, ctx.seed
    train = parse_reference(ctx.train_ref)
    tr_img, ho_img = ctx.ref_images(train), ctx.ref_images(reference)
    if train.kind == "dataset":
        check_shapes(shape, tuple(tr_img.shape[1:]), train)
    if reference.kind == "dataset":
        check_shapes(shape, tuple(ho_img.shape[1:]), reference)
    with ctx.timed("memorization_pixels"):
        pix = memorization_ratios(pixel_vectors(x), pixel_vectors(tr_img), pixel_vectors(ho_img), seed=seed)
    pp = ctx.proto(None, pix.n_train, train.spec, held_out=reference.spec, n_held_out=pix.n_held_out)
    ctx.report.add(MetricResult("memorization.pixel_ratio_mean", pix.ratio_mean, pp, details=pix.summary()))
    ctx.report.add(MetricResult("memorization.pixel_ratio_median", pix.ratio_median, pp))
    with ctx.timed("memorization_features"):
        tr_stats, ho_stats = ctx.stats(train, n=None), ctx.stats(reference, n=None)
        feat = memorization_ratios(ctx.gen["features"], tr_stats.features, ho_stats.features, seed=seed)
    fp = ctx.proto(ctx.ext, feat.n_train, train.spec, held_out=reference.spec, n_held_out=feat.n_held_out)
    ctx.report.add(MetricResult("memorization.feature_ratio_mean", feat.ratio_mean, fp, details=feat.summary()))
    ctx.report.add(MetricResult("memorization.feature_ratio_median", feat.ratio_median, fp))
    if ctx.out is not None:
        path = plot_closest_pairs(x, tr_img, pix.d_train, pix.train_index, ctx.out / "memorization_pairs.png")
        ctx.report.artifacts["memorization_pairs"] = str(path)
