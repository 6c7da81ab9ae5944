"""Does a class-conditional generator draw the class it was asked for? ``class_consistency`` and ``intra_fid``.

Both take generated images with the class each was generated for (labels, see
:mod:`gankit.metrics.labels`).

* **class consistency** -- the fraction of samples that the shipped Fashion-MNIST classifier assigns
  (arg-max) to their requested class, overall and per class: TF-GAN's classifier check of
  conditional MNIST generators. Its ceiling is the classifier's own test accuracy (92.98% on real
  Fashion-MNIST test images), not 1: a perfect generator scores about that, and per-class ceilings
  differ (shirts are confused with T-shirts and pullovers far more often than trousers with anything).
* **intra-FID** (Miyato & Koyama 2018) -- the mean over the requested classes ``k`` of
  ``FID(generated images of class k, real reference images of class k)``. Unlike FID it penalises a
  generator that draws good images of the wrong class. It is on the chosen extractor's features
  (fmnist by default); reference statistics per class are cached with the class in the key. With
  N samples per class instead of N in all, each term has the larger small-sample bias of FID at that
  N, so compare intra-FIDs only at equal per-class counts (stated in the protocol).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gankit.errors import GankitError
from gankit.metrics.fid import feature_statistics, frechet_distance


def _argmax(logits: np.ndarray) -> np.ndarray:
    z = np.asarray(logits)
    if z.ndim != 2 or len(z) == 0:
        raise GankitError(f"class consistency needs logits of shape (N, K) with N > 0; got {z.shape}.")
    return z.argmax(axis=1)


def class_consistency(logits: np.ndarray, labels: np.ndarray) -> dict[str, object]:
    """Fraction of samples whose arg-max class equals their requested label: overall, per class, confusion.

    ``per_class[k]`` is None for a class with no samples. ``confusion[k][j]`` counts samples asked
    for class ``k`` and classified as ``j``.
    """
    pred, lab = _argmax(logits), np.asarray(labels, dtype=np.int64)
    k = np.asarray(logits).shape[1]
    if lab.shape != pred.shape:
        raise GankitError(f"class consistency needs one label per sample; got {lab.shape} labels for {pred.shape[0]} samples.")
    if lab.min() < 0 or lab.max() >= k:
        raise GankitError(f"labels must be class ids 0..{k - 1}; got values in [{lab.min()}, {lab.max()}].")
    confusion = np.zeros((k, k), dtype=np.int64)
    np.add.at(confusion, (lab, pred), 1)
    counts = confusion.sum(axis=1)
    per_class = [float(confusion[c, c] / counts[c]) if counts[c] else None for c in range(k)]
    return {
        "overall": float(np.mean(pred == lab)),
        "per_class": per_class,
        "counts": counts.tolist(),
        "confusion": confusion.tolist(),
    }


def _check_counts(labels: np.ndarray) -> None:
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) == 0:
        raise GankitError("intra-FID needs at least one labelled sample.")
    for c, m in zip(classes.tolist(), counts.tolist()):
        if m < 2:
            raise GankitError(f"intra-FID: class {c} has {m} generated sample; FID needs at least 2 per class (use hundreds).")


def intra_fid(
    features: np.ndarray, labels: np.ndarray, reference: dict[int, tuple[np.ndarray, np.ndarray]]
) -> tuple[float, dict[int, float]]:
    """(mean over classes, {class: FID}) of generated ``features`` of each class in ``labels`` against ``reference[class]`` (mu, sigma)."""
    feats, lab = np.asarray(features, dtype=np.float64), np.asarray(labels, dtype=np.int64)
    if len(feats) != len(lab):
        raise GankitError(f"intra-FID needs one label per sample; got {len(lab)} labels for {len(feats)} samples.")
    _check_counts(lab)
    per_class: dict[int, float] = {}
    for c in np.unique(lab).tolist():
        of_c = feats[lab == c]
        if c not in reference:
            raise GankitError(f"intra-FID: no reference statistics for class {c}.")
        per_class[c] = frechet_distance(*feature_statistics(of_c), *reference[c])
    return float(np.mean(list(per_class.values()))), per_class


def _classifier_accuracy(weights_path: str) -> float | None:
    """The classifier's recorded test accuracy (its ``.json``), the ceiling of class consistency."""
    try:
        return json.loads(Path(weights_path).with_suffix(".json").read_text()).get("test_accuracy")
    except (OSError, ValueError, AttributeError):
        return None


def report_consistency(ctx) -> None:
    """``class_consistency`` of :func:`gankit.metrics.evaluate`: always the shipped Fashion-MNIST classifier."""
    from gankit.metrics.extractors.fmnist import CLASS_NAMES, NUM_CLASSES
    from gankit.metrics.labels import class_counts
    from gankit.metrics.protocol import MetricResult

    labels = ctx.need_labels("class_consistency")
    ext, out = ctx.fmnist
    with ctx.timed("class_consistency"):
        c = class_consistency(out["logits"], labels.numpy())
    details = {
        "per_class": dict(zip(CLASS_NAMES, c["per_class"])),
        "counts": dict(zip(CLASS_NAMES, c["counts"])),
        "confusion": c["confusion"],
        "classifier_test_accuracy": _classifier_accuracy(ext.weights_path),
    }
    proto = ctx.proto(ext, n_generated_per_class=class_counts(labels, NUM_CLASSES))
    ctx.report.add(MetricResult("class_consistency", c["overall"], proto, details=details))


def report_intra_fid(ctx) -> None:
    """``intra_fid`` of :func:`gankit.metrics.evaluate`: per-class FIDs against the labelled reference ``ref``."""
    from gankit.metrics.extractors.fmnist import CLASS_NAMES, NUM_CLASSES
    from gankit.metrics.labels import class_counts
    from gankit.metrics.protocol import MetricResult

    labels = ctx.need_labels("intra_fid").numpy()
    _check_counts(labels)  # before the reference is loaded
    r, ext = ctx.reference, ctx.ext
    feats = ctx.gen["features"]
    stats, hits = {}, 0
    with ctx.timed("reference_stats"):
        for c in np.unique(labels).tolist():
            rs = ctx.stats(r, n=None, label=int(c))
            stats[int(c)] = rs
            hits += int(rs.hit)
    with ctx.timed("intra_fid"):
        value, per_class = intra_fid(feats, labels, {c: (rs.mu, rs.sigma) for c, rs in stats.items()})
    n_ref = tuple(stats[c].n if c in stats else 0 for c in range(NUM_CLASSES))
    names = {c: CLASS_NAMES[c] if c < len(CLASS_NAMES) else str(c) for c in per_class}
    details = {
        "per_class": {names[c]: v for c, v in per_class.items()},
        "classes": sorted(per_class),
        "reference_cache_hits": hits,
    }
    proto = ctx.proto(ext, sum(n_ref), r.spec, n_generated_per_class=class_counts(labels, NUM_CLASSES), n_reference_per_class=n_ref)
    ctx.report.add(MetricResult("intra_fid", value, proto, details=details))


__all__ = ["class_consistency", "intra_fid", "report_consistency", "report_intra_fid"]
