"""Fréchet distance (FID) from features, computed in float64 with torch-fidelity's functions.

``FID = |mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))``. torch-fidelity evaluates the last
term as the sum of square roots of the eigenvalues of ``S1 S2`` (equal to ``Tr(sqrtm(S1 S2))``
because ``S1 S2`` is similar to a positive semi-definite matrix), which is also robust for the
rank-deficient covariances of small sample sets. Statistics are always float64.
"""

from __future__ import annotations

import numpy as np
import torch
from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric

from gankit.errors import GankitError


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean (F,) and covariance (F, F), float64, of features (N, F); N >= 2."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2 or len(features) < 2:
        raise GankitError(f"FID needs at least 2 feature vectors of shape (N, F); got shape {features.shape}.")
    stats = fid_features_to_statistics(torch.from_numpy(features))
    return np.asarray(stats["mu"], dtype=np.float64), np.asarray(stats["sigma"], dtype=np.float64)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between Gaussians (mu1, sigma1) and (mu2, sigma2), in float64."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise GankitError(
            f"FID statistics do not match: mu {mu1.shape} vs {mu2.shape}, sigma {sigma1.shape} vs {sigma2.shape}. "
            "Were the reference statistics computed with another feature extractor?"
        )
    out = fid_statistics_to_metric({"mu": mu1, "sigma": sigma1}, {"mu": mu2, "sigma": sigma2}, verbose=False)
    return float(out[KEY_METRIC_FID])


def fid_from_features(features_1: np.ndarray, features_2: np.ndarray) -> float:
    """FID between two feature sets (N1, F) and (N2, F)."""
    return frechet_distance(*feature_statistics(features_1), *feature_statistics(features_2))


def report(ctx) -> None:
    """``fid`` of :func:`gankit.metrics.evaluate`: generated features against the reference statistics."""
    from gankit.metrics.protocol import MetricResult

    rs = ctx.ref_stats
    with ctx.timed("fid"):
        mu, sigma = feature_statistics(ctx.gen["features"])
        ctx.report.add(MetricResult("fid", frechet_distance(mu, sigma, rs.mu, rs.sigma), ctx.proto(ctx.ext, rs.n, rs.reference)))
