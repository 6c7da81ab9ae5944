"""Improved precision and recall (Kynkäänniemi et al. 2019), via torch-fidelity.

Each set's manifold is the union of balls around its points with radius the distance to the
point's k-th nearest neighbour (k = 3) within the set. Precision: fraction of generated samples
inside the real manifold. Recall: fraction of real samples inside the generated manifold. Distances
are Euclidean in feature space, computed in float32 with torch-fidelity's block-wise path; blocks
hold at most ~1e8 distances (400 MB), so 10k x 10k runs in one block and larger sets stay bounded.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_fidelity.metric_prc import KEY_METRIC_F_SCORE, KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

from gankit.errors import GankitError

DEFAULT_K = 3
MAX_BLOCK_DISTANCES = 100_000_000


def precision_recall(
    generated: np.ndarray, real: np.ndarray, k: int = DEFAULT_K, batch_size: int | None = None
) -> dict[str, float | int]:
    """Precision/recall of generated features (N1, F) against real features (N2, F).

    Returns ``{"precision", "recall", "f_score", "k"}``.
    """
    g = np.asarray(generated, dtype=np.float64)
    r = np.asarray(real, dtype=np.float64)
    if g.ndim != 2 or r.ndim != 2 or g.shape[1] != r.shape[1]:
        raise GankitError(f"precision/recall needs two feature sets (N, F) of equal width; got {g.shape} and {r.shape}.")
    if min(len(g), len(r)) <= k:
        raise GankitError(f"precision/recall with k={k} needs more than {k} samples per set; got {len(g)} and {len(r)}.")
    if batch_size is None:
        batch_size = int(min(10000, max(500, MAX_BLOCK_DISTANCES // max(len(g), len(r)))))
    out = prc_features_to_metric(
        torch.from_numpy(g.astype(np.float32)),
        torch.from_numpy(r.astype(np.float32)),
        prc_neighborhood=k,
        prc_batch_size=batch_size,
        save_cpu_ram=True,
        verbose=False,
    )
    return {
        "precision": float(out[KEY_METRIC_PRECISION]),
        "recall": float(out[KEY_METRIC_RECALL]),
        "f_score": float(out[KEY_METRIC_F_SCORE]),
        "k": k,
    }


def report(ctx) -> None:
    """``pr`` of :func:`gankit.metrics.evaluate`: ``precision`` and ``recall`` against the reference features."""
    from gankit.metrics.protocol import MetricResult

    rs = ctx.ref_stats
    with ctx.timed("pr"):
        pr = precision_recall(ctx.gen["features"], rs.features)
    p = ctx.proto(ctx.ext, rs.n, rs.reference)
    ctx.report.add(MetricResult("precision", pr["precision"], p, details={"k": pr["k"]}))
    ctx.report.add(MetricResult("recall", pr["recall"], p, details={"k": pr["k"]}))
