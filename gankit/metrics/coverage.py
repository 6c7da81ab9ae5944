"""Mode coverage of 2D mixtures (ring of 8 / grid of 25 Gaussians), the VEEGAN/PacGAN protocol.

Given the true mixture means ``m_1..m_K`` and the common standard deviation ``sigma``:

* the first ``n_samples`` (2,500) generated points are used;
* a point is **high quality** if its distance to the nearest mean is at most ``3 sigma``;
* a mode is **covered** if at least one high-quality point has it as nearest mean;
* ``hq_fraction`` = high-quality points / points used;
* ``reverse_kl`` = ``KL(p || u) = sum_{k: p_k > 0} p_k log(p_k K)`` in nats, where ``p_k`` is the
  fraction of *high-quality* points nearest to mode k and ``u`` is uniform over the K modes (the
  true mode distribution). Generated distribution first, hence "reverse". Modes with no
  high-quality point (``p_k = 0``) contribute ``0 log 0 = 0``, i.e. the sum runs over covered modes
  only, as in PacGAN, so the value is always finite: 0 for a perfectly balanced cover of all modes,
  ``log K`` when a single mode is covered. It is ``None`` when there is no high-quality point.

For a true mixture of isotropic 2D Gaussians, ``P(|x - m| <= 3 sigma) = 1 - exp(-4.5) = 0.989``,
so real samples give ~98.9% high quality and all K modes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.utils.images import save_figure
from gankit.errors import GankitError

N_SAMPLES = 2500
THRESHOLD_SIGMAS = 3.0


@dataclass
class CoverageResult:
    modes_covered: int
    n_modes: int
    hq_fraction: float
    reverse_kl: float | None
    n_samples: int
    mode_counts: list[int]  # high-quality points per mode

    def to_dict(self) -> dict:
        return asdict(self)


def _as_points(samples: torch.Tensor | np.ndarray) -> np.ndarray:
    x = samples.detach().cpu().numpy() if torch.is_tensor(samples) else np.asarray(samples)
    if x.ndim != 2 or x.shape[1] != 2 or not np.issubdtype(x.dtype, np.floating):
        raise GankitError(f"mode coverage needs float 2D points of shape (N, 2); got {x.dtype} array of shape {x.shape}.")
    if len(x) == 0:
        raise GankitError("mode coverage needs at least one sample; got none.")
    if not np.all(np.isfinite(x)):
        raise GankitError("the 2D samples contain NaN or Inf values.")
    return x.astype(np.float64)


def mode_coverage(
    samples: torch.Tensor | np.ndarray,
    means: np.ndarray,
    sigma: float,
    n_samples: int = N_SAMPLES,
    threshold_sigmas: float = THRESHOLD_SIGMAS,
) -> CoverageResult:
    """Coverage statistics of ``samples`` (N, 2) against mixture ``means`` (K, 2) with std ``sigma``."""
    x = _as_points(samples)[:n_samples]
    m = np.asarray(means, dtype=np.float64)
    k = len(m)
    d = np.sqrt(((x[:, None, :] - m[None, :, :]) ** 2).sum(-1))  # N x K
    nearest = d.argmin(axis=1)
    hq = d[np.arange(len(x)), nearest] <= threshold_sigmas * float(sigma)
    counts = np.bincount(nearest[hq], minlength=k)
    n_hq = int(hq.sum())
    if n_hq:
        p = counts / n_hq
        nz = p > 0
        rkl: float | None = float(np.sum(p[nz] * np.log(p[nz] * k)))
    else:
        rkl = None
    return CoverageResult(
        modes_covered=int((counts > 0).sum()),
        n_modes=k,
        hq_fraction=n_hq / len(x),
        reverse_kl=rkl,
        n_samples=len(x),
        mode_counts=counts.tolist(),
    )


def mixture_coverage(samples: torch.Tensor | np.ndarray, mixture: str, n_samples: int = N_SAMPLES) -> CoverageResult:
    """:func:`mode_coverage` for a named toy mixture (``"ring8"`` or ``"grid25"``)."""
    means, sigma = load_mixture(mixture)
    return mode_coverage(samples, means, sigma, n_samples=n_samples)


def load_mixture(mixture: str) -> tuple[np.ndarray, float]:
    from gankit.data.toy2d import mixture_params

    means, sigma = mixture_params(mixture)  # DataError naming the valid mixtures if unknown
    return np.asarray(torch.as_tensor(means).cpu(), dtype=np.float64), float(sigma)


def plot_coverage(
    samples: torch.Tensor | np.ndarray,
    means: np.ndarray,
    sigma: float,
    path: str | Path,
    title: str = "",
    threshold_sigmas: float = THRESHOLD_SIGMAS,
) -> Path:
    """Scatter plot of samples over the true means with their ``3 sigma`` circles; writes a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle


    x = _as_points(samples)
    m = np.asarray(means, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(5, 5), dpi=120)
    ax.scatter(x[:, 0], x[:, 1], s=2, alpha=0.4, color="tab:blue", label=f"samples ({len(x)})", rasterized=True)
    ax.scatter(m[:, 0], m[:, 1], s=30, marker="x", color="tab:red", label="true means")
    for c in m:
        ax.add_patch(Circle(tuple(c), threshold_sigmas * sigma, fill=False, color="tab:red", lw=0.6, alpha=0.7))
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title(title or f"samples vs. true means ({threshold_sigmas:g} sigma circles)", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


def report(ctx) -> None:
    """``coverage`` of :func:`gankit.metrics.evaluate`: 2D points against ``ctx.mixture``; plot into ``ctx.out``."""
    from gankit.metrics.protocol import MetricResult, Protocol

    x, mixture, seed = ctx.x, ctx.mixture, ctx.seed
    if mixture is None:
        raise GankitError("'coverage' needs the true mixture: pass mixture='ring8' or 'grid25' (CLI --mixture).")
    if x.shape[1] != 2:
        raise GankitError(f"'coverage' needs 2D points (N x 2); got N x {x.shape[1]}.")
    with ctx.timed("coverage"):
        means, sigma = load_mixture(mixture)
        res = mode_coverage(x, means, sigma)
    proto = Protocol(
        extractor="none", extractor_hash=None, n_generated=res.n_samples, n_reference=None,
        reference=f"mixture:{mixture}", resize="none", seed=seed,
    )  # fmt: skip
    details = {**res.to_dict(), "sigma": sigma, "threshold": f"{THRESHOLD_SIGMAS:g} sigma"}
    ctx.report.add(MetricResult("coverage.modes", float(res.modes_covered), proto, details=details))
    ctx.report.add(MetricResult("coverage.hq_fraction", res.hq_fraction, proto))
    ctx.report.add(MetricResult("coverage.reverse_kl", res.reverse_kl, proto))
    if ctx.out is not None:
        title = f"{mixture}: {res.modes_covered}/{res.n_modes} modes, {100 * res.hq_fraction:.1f}% high quality"
        ctx.report.artifacts["coverage_plot"] = str(plot_coverage(x[: res.n_samples], means, sigma, ctx.out / "coverage.png", title=title))
