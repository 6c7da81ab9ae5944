"""Inception Score (Salimans et al. 2016) from class logits, via torch-fidelity.

``IS = exp(E_x KL(p(y|x) || p(y)))`` computed on ``splits`` disjoint splits of the (seed-shuffled)
samples; reports the mean and standard deviation over splits. Logits come from the extractor used:
the Fashion-MNIST classifier's 10 logits, or torch-fidelity's Inception ``logits_unbiased``. The
score lies in [1, number of classes]: 1 when every sample gets the same prediction, the number of
classes when predictions are confident and the classes equally frequent.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_fidelity.metric_isc import KEY_METRIC_ISC_MEAN, KEY_METRIC_ISC_STD, isc_features_to_metric

from gankit.errors import GankitError

DEFAULT_SPLITS = 10


def inception_score(logits: np.ndarray, splits: int = DEFAULT_SPLITS, seed: int = 0, shuffle: bool = True) -> dict[str, float | int]:
    """IS of logits (N, K). Returns ``{"mean", "std", "splits"}``."""
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2 or logits.shape[1] < 2:
        raise GankitError(f"the Inception Score needs logits of shape (N, K >= 2); got {logits.shape}.")
    if len(logits) < splits:
        raise GankitError(f"the Inception Score with {splits} splits needs at least {splits} samples; got {len(logits)}.")
    out = isc_features_to_metric(torch.from_numpy(logits), splits=splits, shuffle=shuffle, rng_seed=seed)
    return {"mean": float(out[KEY_METRIC_ISC_MEAN]), "std": float(out[KEY_METRIC_ISC_STD]), "splits": splits}


def report(ctx) -> None:
    """``is`` of :func:`gankit.metrics.evaluate`, from the extractor's logits of the generated images."""
    from gankit.metrics.protocol import MetricResult

    logits = ctx.gen["logits"]
    with ctx.timed("is"):
        s = inception_score(logits, seed=ctx.seed)
    details = {"splits": s["splits"], "classes": int(logits.shape[1])}
    ctx.report.add(MetricResult("is", s["mean"], ctx.proto(ctx.ext), std=s["std"], details=details))
