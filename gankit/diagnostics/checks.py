"""The health rules: pure functions of a :class:`~gankit.diagnostics.records.History` and a
:class:`~gankit.diagnostics.context.RuleContext` that return a :class:`~gankit.diagnostics.records.Finding`
or None. :class:`~gankit.diagnostics.engine.RuleEngine` runs them; thresholds are in
:mod:`gankit.diagnostics.thresholds`.

Rules (names as in :data:`~gankit.diagnostics.thresholds.RULES`):

* ``overpowering`` -- D accuracy above 0.95 over the whole window, D loss near 0 and G loss rising;
* ``vanishing_gradients`` -- G's gradient norm collapsed to a small fraction of its peak while D is
  confident about the fakes;
* ``mode_collapse`` -- sample diversity below a fraction of the real data's, a drop from its own
  peak, the class histogram concentrating, or too few 2D modes covered, at consecutive evaluations;
* ``labels_ignored`` -- a class-conditional G's samples are classified as the class they were
  asked for barely more often than chance (``class_consistency`` near 1/K) at consecutive
  evaluations after the warmup: G ignores its label;
* ``oscillation`` -- loss variance exploding against the previous window, or the losses' or D's
  gradient norm's magnitude blowing up;
* ``nan`` -- a loss or gradient norm that is NaN/Inf (the trainer stops on non-finite losses, so
  this mostly reports ``kind: error`` records and non-finite gradient norms);
* ``augmentation_saturated`` -- ADA's probability p (``d_ada_p``) at or above 0.8 over the whole
  window: D overfits the reals even though most of what it sees is augmented;
* ``path_length_unstable`` -- StyleGAN2's path-length term outweighs G's adversarial loss over the
  whole window, or the mean path length grew several-fold from the previous window;
* ``reconstruction_drift`` and ``domains_ignored`` -- the image-to-image rules, in
  :mod:`gankit.diagnostics.checks_restoration`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from statistics import median
from typing import Any

from gankit.diagnostics.checks_restoration import RESTORATION_RULES
from gankit.diagnostics.context import RuleContext
from gankit.diagnostics.records import Finding, History, detrended_std, finite, fmt, num, series, slope, steps
from gankit.diagnostics.remedies import (
    remedies_augmentation_saturated,
    remedies_path_length,
    remedies_collapse,
    remedies_labels_ignored,
    remedies_nan,
    remedies_oscillation,
    remedies_overpowering,
    remedies_vanishing,
)
from gankit.diagnostics.thresholds import (
    ADA_SATURATED_P,
    COLLAPSE_CLASS_KL,
    COLLAPSE_DIVERSITY_RATIO,
    COLLAPSE_DROP,
    COLLAPSE_EVALS,
    COLLAPSE_MODES_FRACTION,
    CONFIDENT_D_FAKE,
    DIVERGENCE_FACTOR,
    FMNIST_CLASSIFIER_ACCURACY,
    GRAD_EXPLOSION_FACTOR,
    GRAD_KEYS,
    HEALTHY_D_ACCURACY,
    LOSS_KEYS,
    OSCILLATION_REL_AMPLITUDE,
    OSCILLATION_STD_RATIO,
    OVERPOWER_ACCURACY,
    PL_DOMINATES_FACTOR,
    PL_GROWTH_FACTOR,
    VANISH_FRACTION,
    labels_ignored_threshold,
)

#: A rule: what it sees, what it knows of the recipe -> a finding, or None while healthy.
Rule = Callable[[History, RuleContext], Finding | None]


def _acc(rec: Mapping[str, Any]) -> float | None:
    r, f = num(rec, "acc_real"), num(rec, "acc_fake")
    if r is None or f is None or not (math.isfinite(r) and math.isfinite(f)):
        return None
    return 0.5 * (r + f)


def check_overpowering(h: History, ctx: RuleContext) -> Finding | None:
    """D accuracy >= 0.95 on every record of a full window, D loss near 0, G loss rising."""
    win = h.current
    prof = ctx.profile
    if len(win) < h.window or prof.family == "critic":
        return None
    accs = [_acc(r) for r in win]
    d, g = series(win, "d_loss"), series(win, "g_loss")
    if any(a is None for a in accs) or d is None or g is None:
        return None
    acc_min = min(accs)  # type: ignore[type-var]
    if acc_min < OVERPOWER_ACCURACY:
        return None
    d_med = median(d)
    if prof.d_near_zero is not None and d_med > prof.d_near_zero:
        return None
    g_slope = slope(steps(win), g)
    saturated = prof.g_saturated is not None and g[-1] >= prof.g_saturated
    if not (g_slope > 0 or saturated):
        return None
    ev = {
        "d_accuracy_min": acc_min,
        "d_accuracy_mean": sum(accs) / len(accs),  # type: ignore[arg-type]
        "d_loss": d_med,
        "g_loss_first": g[0],
        "g_loss_last": g[-1],
    }
    for key in ("d_real", "d_fake"):
        s = series(win, key)
        if s is not None:
            ev[key] = s[-1]
    ev["window_steps"] = float(win[-1].get("step", 0)) - float(win[0].get("step", 0))
    symptom = (
        f"discriminator overpowering: D accuracy {ev['d_accuracy_mean']:.2f} (healthy {HEALTHY_D_ACCURACY[0]}-{HEALTHY_D_ACCURACY[1]}), "
        f"D loss {d_med:.3g} near 0, G loss {'rising' if g_slope > 0 else 'saturated'} {g[0]:.3g} -> {g[-1]:.3g}"
    )
    return Finding("overpowering", symptom, ev, remedies_overpowering(ctx), int(win[-1].get("step", 0)))


def check_vanishing(h: History, ctx: RuleContext) -> Finding | None:
    """G's gradient norm (window median) below 5 % of its peak this run while D is confident."""
    win = h.current
    if len(win) < h.window:
        return None
    gn = series(win, "grad_norm_g")
    peak = h.peaks.get("grad_norm_g")
    if gn is None or not peak or peak <= 0:
        return None
    g_med = median(gn)
    if g_med >= VANISH_FRACTION * peak:
        return None
    ev = {"grad_norm_g": g_med, "grad_norm_g_peak": peak, "fraction_of_peak": g_med / peak}
    if ctx.profile.family != "critic":
        fake_p, acc_f = series(win, "d_fake"), series(win, "acc_fake")
        confident = False
        if fake_p is not None and ctx.profile.family in ("sigmoid", "hinge", "least_squares"):
            ev["d_fake"] = median(fake_p)
            confident = ev["d_fake"] <= CONFIDENT_D_FAKE
        if acc_f is not None:
            ev["acc_fake"] = sum(acc_f) / len(acc_f)
            confident = confident or ev["acc_fake"] >= OVERPOWER_ACCURACY
        if not confident:
            return None
    symptom = f"vanishing generator gradients: G gradient norm {g_med:.3g} is {100 * g_med / peak:.1f}% of its peak {peak:.3g}" + (
        " while D confidently rejects the fakes" if ctx.profile.family != "critic" else ""
    )
    return Finding("vanishing_gradients", symptom, ev, remedies_vanishing(ctx), int(win[-1].get("step", 0)))


def check_mode_collapse(h: History, ctx: RuleContext) -> Finding | None:
    """At ``COLLAPSE_EVALS`` consecutive evaluations: diversity ratio below 0.5 (after the warmup)
    or below half of its own peak; the class histogram's KL to uniform 0.7 nats above the real
    data's (after the warmup); a 2D mixture with fewer than half of its modes covered."""
    evs = list(h.evals)[-COLLAPSE_EVALS:]
    if len(evs) < COLLAPSE_EVALS:
        return None
    warm = all(int(e.get("step", 0)) >= h.collapse_warmup for e in evs)
    reasons: list[str] = []
    ev: dict[str, float] = {}

    ratios = [finite(e, "diversity_ratio") for e in evs]
    if all(r is not None for r in ratios):
        last = ratios[-1]
        peak = h.peaks.get("diversity_ratio")
        low = warm and all(r < COLLAPSE_DIVERSITY_RATIO for r in ratios)  # type: ignore[operator]
        drop = peak is not None and peak >= COLLAPSE_DIVERSITY_RATIO and all(r < COLLAPSE_DROP * peak for r in ratios)  # type: ignore[operator]
        if low or drop:
            ev["diversity_ratio"] = last  # type: ignore[assignment]
            if peak is not None:
                ev["diversity_ratio_peak"] = peak
            reasons.append(
                f"sample diversity {last:.2f} of the real data's"
                + (f" (down from {peak:.2f})" if drop else f" (below {COLLAPSE_DIVERSITY_RATIO})")
            )
    kls = [finite(e, "class_kl") for e in evs]
    if warm and all(k is not None for k in kls):
        base = finite(evs[-1], "class_kl_real") or 0.0
        if all(k - base > COLLAPSE_CLASS_KL for k in kls):  # type: ignore[operator]
            ev["class_kl"] = kls[-1]  # type: ignore[assignment]
            ev["class_kl_real"] = base
            reasons.append(f"class histogram concentrating: KL to uniform {kls[-1]:.2f} nats vs {base:.2f} for real data")
    covered = [finite(e, "modes_covered") for e in evs]
    n_modes = ctx.n_modes if warm and all(c is not None for c in covered) else None  # 2D mixtures only
    if n_modes and all(c < COLLAPSE_MODES_FRACTION * n_modes for c in covered):  # type: ignore[operator]
        ev["modes_covered"] = covered[-1]  # type: ignore[assignment]
        ev["modes_total"] = float(n_modes)
        reasons.append(f"only {covered[-1]:.0f} of {n_modes} modes covered")
    if not reasons:
        return None
    ev["evaluations"] = float(len(evs))
    symptom = "mode collapse: " + "; ".join(reasons) + f" at the last {len(evs)} evaluations"
    return Finding("mode_collapse", symptom, ev, remedies_collapse(ctx), int(evs[-1].get("step", 0)))


def check_labels_ignored(h: History, ctx: RuleContext) -> Finding | None:
    """At ``COLLAPSE_EVALS`` consecutive evaluations after the warmup, class consistency below
    :func:`~gankit.diagnostics.thresholds.labels_ignored_threshold` of the chance level the monitor
    logged with it (``class_consistency_chance``, 1/K). A fresh G ignores its label as it ignores its
    noise, hence the same warmup as the absolute mode-collapse criteria."""
    evs = list(h.evals)[-COLLAPSE_EVALS:]
    if len(evs) < COLLAPSE_EVALS or not all(int(e.get("step", 0)) >= h.collapse_warmup for e in evs):
        return None
    found = [finite(e, "class_consistency") for e in evs]
    chance = finite(evs[-1], "class_consistency_chance")
    values = [v for v in found if v is not None]
    if chance is None or not 0 < chance < 1 or len(values) < len(found):
        return None
    threshold = labels_ignored_threshold(chance)
    if not all(v < threshold for v in values):
        return None
    last = values[-1]
    ev = {"class_consistency": last, "chance": chance, "threshold": threshold, "ceiling": FMNIST_CLASSIFIER_ACCURACY,
          "evaluations": float(len(evs))}  # fmt: skip
    symptom = (
        f"class labels ignored: the classifier finds the requested class in {100 * last:.0f}% of the samples "
        f"(chance {100 * chance:.0f}%, below {100 * threshold:.0f}%; a faithful G reaches about {100 * FMNIST_CLASSIFIER_ACCURACY:.0f}%) "
        f"at the last {len(evs)} evaluations: G ignores the class it is asked for"
    )
    return Finding("labels_ignored", symptom, ev, remedies_labels_ignored(ctx), int(evs[-1].get("step", 0)))


def check_oscillation(h: History, ctx: RuleContext) -> Finding | None:
    """Against the previous window: loss std around its trend x4 (variance x16) and swinging by
    half the loss's own scale; or median |loss| x10; or median D gradient norm x100."""
    cur, prev = h.current, h.previous
    if len(cur) < h.window or len(prev) < h.window:
        return None
    prof = ctx.profile
    reasons: list[str] = []
    ev: dict[str, float] = {}
    # A critic's scores have an arbitrary offset, so its G loss drifts freely: only its D loss counts.
    keys = (("d_loss", prof.d_scale),) if prof.family == "critic" else (("d_loss", prof.d_scale), ("g_loss", prof.g_scale))
    for key, floor in keys:
        c, p = series(cur, key), series(prev, key)
        if c is None or p is None:
            continue
        sc, sp = detrended_std(steps(cur), c), detrended_std(steps(prev), p)
        mc, mp = abs(median(c)), abs(median(p))
        scale = max(mc, mp, floor)
        if sc > OSCILLATION_STD_RATIO * sp and sc > OSCILLATION_REL_AMPLITUDE * scale:
            ev[f"{key}_std"], ev[f"{key}_std_before"] = sc, sp
            reasons.append(f"{key} std {sc:.3g} vs {sp:.3g} in the previous window")
        elif mc > DIVERGENCE_FACTOR * max(mp, floor):
            ev[f"{key}_abs"], ev[f"{key}_abs_before"] = mc, mp
            reasons.append(f"|{key}| {mc:.3g} vs {mp:.3g} in the previous window")
    c, p = series(cur, "grad_norm_d"), series(prev, "grad_norm_d")
    if c is not None and p is not None and median(p) > 0 and median(c) > GRAD_EXPLOSION_FACTOR * median(p):
        ev["grad_norm_d"], ev["grad_norm_d_before"] = median(c), median(p)
        reasons.append(f"D gradient norm {median(c):.3g} vs {median(p):.3g}")
    if not reasons:
        return None
    symptom = "oscillation / divergence: " + "; ".join(reasons)
    return Finding("oscillation", symptom, ev, remedies_oscillation(ctx), int(cur[-1].get("step", 0)))


def check_nan(h: History, ctx: RuleContext) -> Finding | None:
    """The newest record has a NaN/Inf (or null) loss or gradient norm, or is an error record."""
    if not h.train:
        return None
    rec = h.train[-1]
    bad: dict[str, float] = {}
    if rec.get("kind") == "error":
        bad = {k: v for k in (*LOSS_KEYS, *GRAD_KEYS) if (v := num(rec, k)) is not None}
        bad = bad or {"error": float("nan")}
    else:
        for k in (*LOSS_KEYS, *GRAD_KEYS):
            if k in rec and (num(rec, k) is None or not math.isfinite(num(rec, k))):  # type: ignore[arg-type]
                bad[k] = num(rec, k) if num(rec, k) is not None else float("nan")  # type: ignore[assignment]
    if not bad:
        return None
    symptom = "NaN/Inf: training diverged (" + ", ".join(f"{k}={fmt(v)}" for k, v in bad.items()) + ")"
    return Finding("nan", symptom, bad, remedies_nan(ctx), int(rec.get("step", 0)))


def check_augmentation_saturated(h: History, ctx: RuleContext) -> Finding | None:
    """Every record of the window logs ADA's p (``d_ada_p``) at or above ``ADA_SATURATED_P``."""
    cur = h.current
    ps = [finite(r, "d_ada_p") for r in cur]
    if len(cur) < h.window or any(p is None for p in ps) or min(ps) < ADA_SATURATED_P:  # type: ignore[type-var]
        return None
    last = float(ps[-1])  # type: ignore[arg-type]
    symptom = (f"augmentation saturated: ADA's p has stayed at {min(ps):.2f}-{max(ps):.2f} (>= {ADA_SATURATED_P}) for the "  # type: ignore[type-var, str-format]
               f"whole window: D still overfits the real images although most of what it sees is augmented")  # fmt: skip
    ev = {"ada_p": last, "ada_p_min": float(min(ps)), "threshold": ADA_SATURATED_P}  # type: ignore[type-var, arg-type]
    return Finding("augmentation_saturated", symptom, ev, remedies_augmentation_saturated(ctx), int(cur[-1].get("step", 0)))


def check_path_length(h: History, ctx: RuleContext) -> Finding | None:
    """The ``g_pl`` term above ``PL_DOMINATES_FACTOR`` x ``g_loss`` (medians of the window), or the median
    ``g_pl_length`` ``PL_GROWTH_FACTOR`` x that of the previous window."""
    cur, prev = h.current, h.previous
    if len(cur) < h.window:
        return None
    pl, gl = series(cur, "g_pl"), series(cur, "g_loss")
    lengths, before = series(cur, "g_pl_length"), series(prev, "g_pl_length")
    ev: dict[str, float] = {}
    dominates = pl is not None and gl is not None and median(pl) > PL_DOMINATES_FACTOR * abs(median(gl))
    if dominates:
        ev |= {"g_pl": median(pl), "g_loss": median(gl)}  # type: ignore[arg-type]
    grew = lengths is not None and before is not None and median(before) > 0 and median(lengths) > PL_GROWTH_FACTOR * median(before)
    if grew:
        ev |= {"pl_length": median(lengths), "pl_length_before": median(before)}  # type: ignore[arg-type]
    if not (dominates or grew):
        return None
    reasons = []
    if dominates:
        reasons.append(f"the path-length term ({fmt(ev['g_pl'])}) outweighs G's adversarial loss ({fmt(ev['g_loss'])}) over the whole window")
    if grew:
        reasons.append(f"the mean path length grew {ev['pl_length'] / ev['pl_length_before']:.1f}x in one window "
                       f"({fmt(ev['pl_length_before'])} -> {fmt(ev['pl_length'])})")  # fmt: skip
    return Finding("path_length_unstable", "path length unstable: " + "; ".join(reasons), ev,
                   remedies_path_length(ctx, dominates), int(cur[-1].get("step", 0)))  # fmt: skip


TRAIN_RULES: dict[str, Rule] = {
    **RESTORATION_RULES,
    "augmentation_saturated": check_augmentation_saturated,
    "nan": check_nan,
    "path_length_unstable": check_path_length,
    "overpowering": check_overpowering,
    "vanishing_gradients": check_vanishing,
    "oscillation": check_oscillation,
}
EVAL_RULES: dict[str, Rule] = {"mode_collapse": check_mode_collapse, "labels_ignored": check_labels_ignored}


__all__ = [
    "EVAL_RULES",
    "check_augmentation_saturated",
    "check_path_length",
    "TRAIN_RULES",
    "Rule",
    "check_labels_ignored",
    "check_mode_collapse",
    "check_nan",
    "check_oscillation",
    "check_overpowering",
    "check_vanishing",
]
