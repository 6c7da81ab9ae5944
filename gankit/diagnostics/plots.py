"""The doctor's charts: losses, D accuracy and outputs, gradient norms, FID, diversity and (class-
conditional runs) class consistency over the run, with the warnings marked. Each returns a base64
PNG, or None where the run logged nothing to draw. matplotlib is imported on first use.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from typing import Any

from gankit.diagnostics.context import loss_profile
from gankit.diagnostics.report import DoctorReport, WarningEvent, finite_value
from gankit.diagnostics.thresholds import (
    ADA_SATURATED_P,
    COLLAPSE_DIVERSITY_RATIO,
    FMNIST_CLASSIFIER_ACCURACY,
    HEALTHY_D_ACCURACY,
    labels_ignored_threshold,
)


def _series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """Steps and values, NaN where the value is missing (a gap in the line); None if never present."""
    xs, ys = [], []
    for r in records:
        if "step" in r:
            xs.append(int(r["step"]))
            v = finite_value(r.get(key))
            ys.append(float("nan") if v is None else v)
    return xs, ys


def _has(ys: Sequence[float]) -> bool:
    return any(not math.isnan(y) for y in ys)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.0))
    ax = fig.add_subplot(1, 1, 1)
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("step")
    return fig, ax


def _mark_warnings(ax: Any, warnings: Sequence[WarningEvent]) -> None:
    for i, w in enumerate(warnings):
        ax.axvline(w.step, color="tab:red", ls=":", lw=1, label="warning" if i == 0 else None)


def _fraction_axes(fig: Any, ax: Any, rep: DoctorReport, ylabel: str) -> str:
    """Finish a plot of fractions in [0, 1] (accuracies, class consistency) with the run's warnings."""
    ax.set_ylim(-0.02, 1.02)
    _mark_warnings(ax, rep.warnings)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _png(fig)


def _line_plot(records: Sequence[dict[str, Any]], keys: Sequence[tuple[str, str]], ylabel: str,
               warnings: Sequence[WarningEvent] = (), log: bool = False) -> str | None:  # fmt: skip
    fig, ax = _figure()
    drawn = False
    for key, label in keys:
        xs, ys = _series(records, key)
        if log:
            ys = [y if y > 0 else float("nan") for y in ys]
        if _has(ys):
            ax.plot(xs, ys, label=label, lw=1.2, marker="o" if len(xs) <= 30 else None, ms=3)
            drawn = True
    if not drawn:
        return None
    if log:
        ax.set_yscale("log")
    _mark_warnings(ax, warnings)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _png(fig)


def plot_losses(rep: DoctorReport) -> str | None:
    return _line_plot(rep.train, [("d_loss", "D loss"), ("g_loss", "G loss")], "loss", rep.warnings)


def plot_accuracy(rep: DoctorReport) -> str | None:
    fig, ax = _figure()
    xs, ar = _series(rep.train, "acc_real")
    _, af = _series(rep.train, "acc_fake")
    if not (_has(ar) or _has(af)):
        return None
    lo, hi = HEALTHY_D_ACCURACY
    ax.axhspan(lo, hi, color="tab:green", alpha=0.15, label=f"healthy {lo}-{hi}")
    mean = [0.5 * (a + b) for a, b in zip(ar, af)]
    ax.plot(xs, ar, lw=1, alpha=0.6, label="on real")
    ax.plot(xs, af, lw=1, alpha=0.6, label="on fake")
    ax.plot(xs, mean, lw=1.8, color="black", label="D accuracy (mean)")
    return _fraction_axes(fig, ax, rep, "D accuracy")


def plot_scores(rep: DoctorReport) -> str | None:
    family = loss_profile(rep.loss or "nonsaturating").family
    ylabel = "mean D probability" if family in ("sigmoid", "hinge") else "mean D score (raw)"
    return _line_plot(rep.train, [("d_real", "D(x)"), ("d_fake", "D(G(z))")], ylabel, rep.warnings)


def plot_grad_norms(rep: DoctorReport) -> str | None:
    return _line_plot(rep.train, [("grad_norm_d", "D"), ("grad_norm_g", "G")], "gradient norm (log)", rep.warnings, log=True)


def plot_fid(rep: DoctorReport) -> str | None:
    if rep.final_fid is None:
        return None
    fig, ax = _figure()
    xs, ys = _series(rep.evals, "fid")
    pts = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label="FID")
    if rep.best_fid_step is not None:
        ax.axvline(rep.best_fid_step, color="tab:green", ls="--", lw=1, label=f"best {rep.best_fid:.4g} @ {rep.best_fid_step}")
    if all(p[1] > 0 for p in pts):
        ax.set_yscale("log")
    ax.set_ylabel("FID")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def plot_diversity(rep: DoctorReport) -> str | None:
    xs, ys = _series(rep.evals, "diversity_ratio")
    _, kl = _series(rep.evals, "class_kl")
    if not (_has(ys) or _has(kl)):
        return None
    fig, ax = _figure()
    if _has(ys):
        pts = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label="diversity / real diversity")
        ax.axhline(COLLAPSE_DIVERSITY_RATIO, color="tab:red", ls="--", lw=1, label=f"collapse threshold {COLLAPSE_DIVERSITY_RATIO}")
        ax.set_ylabel("diversity ratio")
        ax.set_ylim(0, max(1.1, 1.05 * max(p[1] for p in pts)))
    if _has(kl):
        ax2 = ax.twinx() if _has(ys) else ax
        pts = [(x, y) for x, y in zip(xs, kl) if not math.isnan(y)]
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], color="tab:purple", marker="s", ms=3, label="class KL to uniform (nats)")
        ax2.set_ylabel("class KL (nats)")
        if ax2 is not ax:
            ax2.legend(fontsize=8, loc="lower right")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def plot_class_consistency(rep: DoctorReport) -> str | None:
    """Class consistency at the evaluations between its chance level (1/K: G ignores the label), the
    ``labels_ignored`` threshold and the classifier's own accuracy (its ceiling); an AC-GAN's class-head
    accuracies on real and fake batches beside it, since they are fractions on the same scale."""
    xs, ys = _series(rep.evals, "class_consistency")
    tx, real = _series(rep.train, "acc_class_real")
    _, fake = _series(rep.train, "acc_class_fake")
    if not (_has(ys) or _has(real) or _has(fake)):
        return None
    fig, ax = _figure()
    for vals, label in ((real, "D class head on real"), (fake, "D class head on fake")):
        if _has(vals):
            ax.plot(tx, vals, lw=1, alpha=0.5, label=label)
    if _has(ys):
        pts = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], color="black", lw=1.8, marker="o", ms=3, label="class consistency")
        ax.axhline(FMNIST_CLASSIFIER_ACCURACY, color="tab:green", ls="--", lw=1, label=f"classifier ceiling {FMNIST_CLASSIFIER_ACCURACY}")
        if rep.consistency_chance is not None:
            chance = rep.consistency_chance
            ax.axhline(labels_ignored_threshold(chance), color="tab:red", ls="--", lw=1,
                       label=f"labels-ignored threshold {labels_ignored_threshold(chance):.2f}")  # fmt: skip
            ax.axhline(chance, color="tab:gray", ls=":", lw=1.2, label=f"chance 1/K = {chance:.3g}")
    return _fraction_axes(fig, ax, rep, "fraction of the asked class")


def plot_style_regularisers(rep: DoctorReport) -> str | None:
    """ADA's p against its saturation line, and StyleGAN2's mean path length with its penalty term, where
    logged: the two quantities the ``augmentation_saturated`` and ``path_length_unstable`` rules read."""
    px, p = _series(rep.train, "d_ada_p")
    lx, length = _series(rep.train, "g_pl_length")
    _, term = _series(rep.train, "g_pl")
    if not (_has(p) or _has(length)):
        return None
    fig, ax = _figure()
    if _has(p):
        ax.plot(px, p, color="tab:purple", lw=1.4, label="ADA p")
        ax.axhline(ADA_SATURATED_P, color="tab:red", ls="--", lw=1, label=f"saturated ({ADA_SATURATED_P})")
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("augmentation probability")
    if _has(length):
        other = ax.twinx() if _has(p) else ax
        other.plot(lx, length, color="tab:orange", lw=1.2, label="mean path length")
        if _has(term):
            other.plot(lx, term, color="tab:brown", lw=1, alpha=0.6, label="path-length term (weighted)")
        other.set_ylabel("path length")
        if other is not ax:
            other.legend(fontsize=8, loc="lower right")
    _mark_warnings(ax, rep.warnings)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def plot_reconstruction(rep: DoctorReport) -> str | None:
    """Image-to-image runs: Pix2Pix's L1 to the target and CycleGAN's cycle L1 (means on [-1, 1]), where logged."""
    return _line_plot(rep.train, [("g_l1_raw", "L1 |G(a) - b| (Pix2Pix)"), ("g_cycle_l1", "cycle L1 (CycleGAN, mean of both ways)")],
                      "mean absolute error", rep.warnings)  # fmt: skip


__all__ = ["plot_accuracy", "plot_class_consistency", "plot_reconstruction", "plot_style_regularisers", "plot_diversity", "plot_fid", "plot_grad_norms", "plot_losses", "plot_scores"]
