"""Class-aware measures of generated samples from the Fashion-MNIST classifier's logits.

* ``histogram``: fraction of samples whose predicted (arg-max) class is c, for c = 0..K-1.
* ``kl_uniform``: ``KL(h || U) = sum_{c: h_c > 0} h_c log(h_c K)`` in nats, with the usual
  ``0 log 0 = 0``; 0 when every class is predicted equally often, ``log K`` (2.303 for K = 10)
  when all samples fall in one class.
* ``confident_fraction``: fraction of samples whose top softmax probability exceeds ``threshold``
  (0.9): a proxy for how recognisable the samples are.
"""

from __future__ import annotations

import numpy as np

from gankit.errors import GankitError

DEFAULT_THRESHOLD = 0.9


def kl_to_uniform(histogram: np.ndarray) -> float:
    """``KL(h || uniform)`` of a normalised histogram, in nats; empty bins contribute 0."""
    h = np.asarray(histogram, dtype=np.float64)
    total = h.sum()
    if h.ndim != 1 or len(h) == 0 or total <= 0:
        raise GankitError(f"KL to uniform needs a non-empty histogram with positive mass; got {h}.")
    h = h / total
    nz = h > 0
    return float(np.sum(h[nz] * np.log(h[nz] * len(h))))


def class_statistics(logits: np.ndarray, threshold: float = DEFAULT_THRESHOLD) -> dict[str, object]:
    """Class histogram, its KL to uniform and the confident fraction, from logits (N, K)."""
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim != 2 or len(z) == 0:
        raise GankitError(f"class statistics need logits of shape (N, K) with N > 0; got {z.shape}.")
    k = z.shape[1]
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    counts = np.bincount(p.argmax(axis=1), minlength=k)
    hist = counts / counts.sum()
    return {
        "histogram": hist.tolist(),
        "counts": counts.tolist(),
        "kl_uniform": kl_to_uniform(hist),
        "confident_fraction": float(np.mean(p.max(axis=1) > threshold)),
        "threshold": threshold,
    }


def report(ctx) -> None:
    """``classes`` of :func:`gankit.metrics.evaluate`: always the Fashion-MNIST classifier (shared with the extractor when it is fmnist)."""
    from gankit.metrics.extractors.fmnist import CLASS_NAMES
    from gankit.metrics.protocol import MetricResult

    cext, out = ctx.fmnist
    with ctx.timed("classes"):
        c = class_statistics(out["logits"])
    details = {"histogram": dict(zip(CLASS_NAMES, c["histogram"])), "counts": c["counts"]}
    ctx.report.add(MetricResult("classes.kl_uniform", c["kl_uniform"], ctx.proto(cext), details=details))
    ctx.report.add(MetricResult("classes.confident_fraction", c["confident_fraction"], ctx.proto(cext), details={"threshold": c["threshold"]}))
