"""Training-health rules over a sliding window of logged records.

The rules read the records the trainer writes to ``metrics.jsonl`` (plain dicts: ``kind``,
``step`` and numbers) and return :class:`Finding` objects that name the symptom, the evidence
(numbers) and concrete remedies with the config keys to set. They are pure functions of the
records they are given; :class:`RuleEngine` keeps the sliding window, the few running statistics
the rules need (peak gradient norm, peak diversity) and which rules have fired, so that each rule
reports at most once per run. The in-training :class:`~gankit.diagnostics.monitor.Monitor` and
the offline ``gankit doctor`` feed the same engine, so both reach the same verdicts.

Rules (names as in :data:`RULES`):

* ``overpowering`` -- D accuracy above 0.95 over the whole window, D loss near 0 and G loss rising;
* ``vanishing_gradients`` -- G's gradient norm collapsed to a small fraction of its peak while D is
  confident about the fakes;
* ``mode_collapse`` -- sample diversity below a fraction of the real data's, a drop from its own
  peak, the class histogram concentrating, or too few 2D modes covered, at consecutive evaluations;
* ``oscillation`` -- loss variance exploding against the previous window, or the losses' or D's
  gradient norm's magnitude blowing up;
* ``nan`` -- a loss or gradient norm that is NaN/Inf (the trainer stops on non-finite losses, so
  this mostly reports ``kind: error`` records and non-finite gradient norms).

Thresholds are named constants below, each with where it comes from.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from statistics import median, pstdev
from typing import Any

# --------------------------------------------------------------------------- thresholds

#: Log records per sliding window. With the default ``log.log_every: 50`` this is 500 steps:
#: long enough that one noisy batch cannot trigger a rule.
DEFAULT_WINDOW = 10

#: Healthy D accuracy (mean of real and fake accuracy) in practice: D is better than chance but
#: not perfect (Chintala et al., "How to train a GAN" / ganhacks; Goodfellow's NIPS 2016 tutorial).
HEALTHY_D_ACCURACY = (0.6, 0.8)
#: D accuracy at or above this on *every* record of the window: D separates real from fake almost
#: perfectly and G learns little (the "D wins" failure of ganhacks tip 14).
OVERPOWER_ACCURACY = 0.95
#: D's mean probability on fakes below this: D is confident (sigmoid losses: its gradient for G
#: through log(1 - D) vanishes, Arjovsky & Bottou 2017).
CONFIDENT_D_FAKE = 0.05
#: G gradient norm (window median) below this fraction of its peak this run: a 20x collapse.
VANISH_FRACTION = 0.05
#: Evaluations in a row that must show the collapse (one evaluation is one noisy batch).
COLLAPSE_EVALS = 2
#: Mean pairwise feature distance of generated samples below this fraction of the real batch's:
#: collapsed GANs measure 0.1-0.3, healthy ones 0.7-1.0 on Fashion-MNIST features.
COLLAPSE_DIVERSITY_RATIO = 0.5
#: Diversity fell below this fraction of its own best value this run (collapse after progress).
COLLAPSE_DROP = 0.5
#: Class-histogram KL to uniform in excess of the real data's, in nats: log 2 = 0.69 is as
#: concentrated as losing half of the classes (all mass on one of 10 classes gives log 10 = 2.3).
COLLAPSE_CLASS_KL = 0.7
#: 2D mixtures: fewer than this fraction of the modes covered (Metz et al. 2017 report 1-3 of 8).
COLLAPSE_MODES_FRACTION = 0.5
#: A fresh generator ignores its noise (diversity ~0), so absolute collapse criteria wait this many
#: generator steps; by then a working DCGAN on Fashion-MNIST draws recognisable, varied items.
COLLAPSE_WARMUP_STEPS = 1000
#: Loss standard deviation over the window this many times that of the previous window (a
#: variance ratio of 16) ...
OSCILLATION_STD_RATIO = 4.0
#: ... and swinging by at least this fraction of the loss's own scale: a jump, not noise.
OSCILLATION_REL_AMPLITUDE = 0.5
#: Median |loss| this many times that of the previous window: divergence.
DIVERGENCE_FACTOR = 10.0
#: Median D gradient norm this many times that of the previous window: exploding gradients.
GRAD_EXPLOSION_FACTOR = 100.0

RULES = ("overpowering", "vanishing_gradients", "mode_collapse", "oscillation", "nan")
LOSS_KEYS = ("d_loss", "g_loss", "d_total", "g_total")
GRAD_KEYS = ("grad_norm_d", "grad_norm_g")
MIXTURE_MODES = {"ring8": 8, "grid25": 25}


@dataclass(frozen=True)
class LossProfile:
    """What the numbers of one loss mean. Losses are in the trainer's sign convention."""

    family: str  # "sigmoid" | "least_squares" | "hinge" | "critic"
    d_scale: float  # typical |D loss| (its value when D cannot tell real from fake, or 1)
    g_scale: float
    d_near_zero: float | None  # D loss below this: D separates almost perfectly
    g_saturated: float | None  # G loss above this: D rejects the fakes with >= 95 % confidence


_LN2 = math.log(2.0)
PROFILES: dict[str, LossProfile] = {
    # -log D(x) - log(1 - D(G(z))): 2 ln 2 = 1.39 at D = 1/2; G: -log D(G(z)) = ln 2, 3.0 at D = 0.05
    "nonsaturating": LossProfile("sigmoid", 2 * _LN2, _LN2, 0.1, -math.log(CONFIDENT_D_FAKE)),
    # G: log(1 - D(G(z))) rises towards 0 as D gets confident: -0.05 at D(G(z)) = 0.05
    "minimax": LossProfile("sigmoid", 2 * _LN2, _LN2, 0.1, math.log(1 - CONFIDENT_D_FAKE)),
    # 0.5 * ((D(x)-1)^2 + D(G(z))^2): 0.25 at D = 1/2, 0.02 with errors of 0.14 on both sides; G: 0.5 * (D(G(z))-1)^2 = 0.45 at D(G(z)) = 0.05
    "lsgan": LossProfile("least_squares", 0.25, 0.125, 0.02, 0.5 * (1 - CONFIDENT_D_FAKE) ** 2),
    # relu(1 - D(x)) + relu(1 + D(G(z))): 2 at scores 0, 0 once every margin holds; G: -D(G(z)) > 1
    "hinge": LossProfile("hinge", 2.0, 1.0, 0.1, 1.0),
    # Critic losses: D "accuracy" uses the batch midpoint, so a separating critic is normal.
    "wgan": LossProfile("critic", 1.0, 1.0, None, None),
    "wgan_gp": LossProfile("critic", 1.0, 1.0, None, None),
}


def loss_profile(name: str) -> LossProfile:
    """The profile of loss ``name``; an unknown loss gets a neutral one (loss-level criteria off)."""
    if name in PROFILES:
        return PROFILES[name]
    family = "critic" if "wgan" in name or "critic" in name else "sigmoid"
    return LossProfile(family, 1.0, 1.0, None, None)


# --------------------------------------------------------------------------- context


@dataclass(frozen=True)
class RuleContext:
    """What the remedies and loss-aware thresholds need to know about the recipe."""

    loss: str = "nonsaturating"
    regularizers: tuple[str, ...] = ()
    d_options: Mapping[str, Any] = field(default_factory=dict)
    lr_g: float | None = None
    lr_d: float | None = None
    n_critic: int | None = None
    data: str = "fashion-mnist"
    data_limit: int | None = None
    max_steps: int | None = None
    grad_clip: float | None = None
    precision: str = "32"

    @classmethod
    def from_config(cls, cfg: Any) -> RuleContext:
        """From a :class:`gankit.config.Config` or its JSON dict (a run's ``config.yaml``)."""
        raw = cfg.model_dump(mode="json") if hasattr(cfg, "model_dump") else dict(cfg or {})

        def get(*path: str, default: Any = None) -> Any:
            node: Any = raw
            for p in path:
                if not isinstance(node, Mapping) or p not in node:
                    return default
                node = node[p]
            return node

        regs = tuple(str(r.get("name")) for r in (get("regularizers", default=[]) or []) if isinstance(r, Mapping))
        d_opts = {k: v for k, v in (get("model", "discriminator", default={}) or {}).items() if k != "name"}
        return cls(
            loss=str(get("loss", "name", default="nonsaturating")),
            regularizers=regs,
            d_options=d_opts,
            lr_g=get("optim", "g", "lr"),
            lr_d=get("optim", "d", "lr"),
            n_critic=get("train", "n_critic"),
            data=str(get("data", "name", default="fashion-mnist")),
            data_limit=get("data", "limit"),
            max_steps=get("train", "max_steps"),
            grad_clip=get("train", "grad_clip"),
            precision=str(get("train", "precision", default="32")),
        )

    @property
    def profile(self) -> LossProfile:
        return loss_profile(self.loss)

    def has(self, regularizer: str) -> bool:
        return regularizer in self.regularizers


# --------------------------------------------------------------------------- findings


@dataclass
class Finding:
    """One diagnosis: ``rule`` fired at ``step`` because of ``evidence``; try ``remedies``."""

    rule: str
    symptom: str
    evidence: dict[str, float]
    remedies: list[str]
    step: int

    def message(self) -> str:
        """Multi-line text for a warning: symptom [rule], the evidence numbers, numbered remedies."""
        ev = ", ".join(f"{k}={_fmt(v)}" for k, v in self.evidence.items())
        lines = [f"{self.symptom} [{self.rule}]", f"  evidence: {ev}", "  try:"]
        lines += [f"    {i}. {r}" for i, r in enumerate(self.remedies, 1)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(v: float) -> str:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (math.isfinite(v) and float(v).is_integer() and abs(v) < 1e9):
        return str(int(v))
    if not math.isfinite(v):
        return str(v)
    return f"{v:.3g}"


@dataclass
class History:
    """What one rule evaluation sees: the last ``2 * window`` train records, the recent eval
    records and running peaks. ``train[-window:]`` is the current window."""

    train: Sequence[Mapping[str, Any]]
    evals: Sequence[Mapping[str, Any]]
    window: int
    peaks: Mapping[str, float] = field(default_factory=dict)
    warmup_steps: int = 0
    collapse_warmup: int = COLLAPSE_WARMUP_STEPS

    @property
    def current(self) -> Sequence[Mapping[str, Any]]:
        return self.train[-self.window :]

    @property
    def previous(self) -> Sequence[Mapping[str, Any]]:
        return self.train[-2 * self.window : -self.window]


def num(rec: Mapping[str, Any], key: str) -> float | None:
    """A record's number: None where missing or null; NaN/Inf kept (the ``nan`` rule needs them)."""
    v = rec.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def _series(records: Sequence[Mapping[str, Any]], key: str) -> list[float] | None:
    """The finite values of ``key``; None unless every record has one."""
    vals = [num(r, key) for r in records]
    if not vals or any(v is None or not math.isfinite(v) for v in vals):
        return None
    return vals  # type: ignore[return-value]


def _slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (0 for a single point)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return 0.0 if sxx == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def _detrended_std(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Standard deviation of ys around their least-squares line: swings, not a steady trend."""
    b = _slope(xs, ys)
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return pstdev([y - (my + b * (x - mx)) for x, y in zip(xs, ys)])


def _steps(records: Sequence[Mapping[str, Any]]) -> list[float]:
    return [float(r.get("step", i)) for i, r in enumerate(records)]


# --------------------------------------------------------------------------- remedies


def _lower_d_lr(ctx: RuleContext) -> str:
    cur = f" (now optim.d.lr={_fmt(ctx.lr_d)}, optim.g.lr={_fmt(ctx.lr_g)})" if ctx.lr_d and ctx.lr_g else ""
    return f"lower D's learning rate, e.g. halve optim.d.lr; TTUR keeps optim.d.lr <= optim.g.lr{cur}"


def _reg(ctx: RuleContext, name: str, text: str) -> list[str]:
    return [] if ctx.has(name) else [text]


def _loss_switch(ctx: RuleContext, names: Sequence[str], why: str) -> list[str]:
    other = [n for n in names if n != ctx.loss]
    return [f"switch loss.name to {' or '.join(other)} ({why})"] if other else []


def remedies_overpowering(ctx: RuleContext) -> list[str]:
    out = [_lower_d_lr(ctx)]
    out += _reg(ctx, "spectral_norm", "constrain D: add `regularizers: [{name: spectral_norm}]` (or `{name: r1, gamma: 10}`)")
    noisy = [n for n in ("instance_noise", "one_sided_label_smoothing") if not ctx.has(n)]
    if noisy:
        out.append("make D's task harder: add " + " / ".join(f"`{{name: {n}}}`" for n in noisy) + " to `regularizers`")
    if (ctx.data_limit is not None and ctx.data_limit < 10_000) or ctx.data == "folder":
        out += _reg(ctx, "diffaugment", "small dataset: add `{name: diffaugment}` to `regularizers` so D cannot memorise the real images")
    if ctx.n_critic and ctx.n_critic > 1 and ctx.profile.family != "critic":
        out.append(f"train D less often: train.n_critic: 1 (now {ctx.n_critic})")
    if not ctx.d_options.get("dropout"):
        out.append("weaken D: model.discriminator.dropout: 0.3, or a smaller model.discriminator.base_channels")
    out += _loss_switch(ctx, ("wgan_gp", "hinge"), "their G gradients do not saturate when D wins")
    return out


def remedies_vanishing(ctx: RuleContext) -> list[str]:
    out: list[str] = []
    if ctx.loss == "minimax":
        out.append("use loss.name: nonsaturating (the minimax G loss log(1 - D(G(z))) saturates exactly here)")
    if ctx.loss == "wgan":
        out.append("weight clipping makes critic gradients vanish: switch loss.name to wgan_gp, or raise loss.clip")
    else:
        out += _loss_switch(ctx, ("wgan_gp", "hinge"), "gradients for G stay informative when D is confident")
    out += _reg(ctx, "spectral_norm", "smooth D: add `regularizers: [{name: spectral_norm}]`")
    out += _reg(ctx, "instance_noise", "overlap the distributions: add `{name: instance_noise}` to `regularizers`")
    out.append(_lower_d_lr(ctx))
    return out


def remedies_collapse(ctx: RuleContext) -> list[str]:
    out: list[str] = []
    if not ctx.d_options.get("minibatch_std") and not ctx.d_options.get("minibatch_discrimination"):
        out.append("let D see batch statistics: model.discriminator.minibatch_std: true "
                   "(or model.discriminator.minibatch_discrimination: 100)")  # fmt: skip
    for name, text in (
        ("pacgan", "pack samples for D: add `{name: pacgan}` to `regularizers`"),
        ("unrolled", "unroll D for G's update: add `{name: unrolled}` to `regularizers` (slower)"),
        ("feature_matching", "add `{name: feature_matching}` to `regularizers` (G matches D's feature statistics)"),
    ):
        out += _reg(ctx, name, text)
    out += _loss_switch(ctx, ("wgan_gp",), "the Wasserstein critic penalises missing modes")
    out.append("lower optim.g.lr, or raise train.batch_size")
    return out


def remedies_oscillation(ctx: RuleContext) -> list[str]:
    out = ["halve both learning rates (optim.g.lr, optim.d.lr); with Adam use optim.g.betas / optim.d.betas [0.5, 0.999] or [0.0, 0.9]"]
    if not ctx.grad_clip:
        out.append("clip gradients: train.grad_clip: 10")
    out += _reg(ctx, "spectral_norm", "stabilise D: add `regularizers: [{name: spectral_norm}]` or `{name: r1, gamma: 10}`")
    out += _reg(ctx, "historical_averaging", "damp the cycling: add `{name: historical_averaging}` to `regularizers`")
    out += _reg(ctx, "ema", "sample from an averaged G: add `{name: ema}` to `regularizers`")
    out += _loss_switch(ctx, ("wgan_gp", "hinge"), "better-behaved losses")
    return out


def remedies_nan(ctx: RuleContext) -> list[str]:
    out = ["resume from the last good checkpoint (`gankit train RECIPE --out RUN --resume auto`) with lower optim.g.lr / optim.d.lr"]
    if not ctx.grad_clip:
        out.append("clip gradients: train.grad_clip: 10")
    if ctx.precision != "32":
        out.append(f"train in full precision: train.precision: '32' (now {ctx.precision!r})")
    if ctx.loss == "lsgan":
        out.append("LSGAN scores are unbounded: add `regularizers: [{name: spectral_norm}]` or switch loss.name to nonsaturating")
    else:
        out += _reg(ctx, "spectral_norm", "bound D: add `regularizers: [{name: spectral_norm}]`")
    return out


# --------------------------------------------------------------------------- rules


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
    d, g = _series(win, "d_loss"), _series(win, "g_loss")
    if any(a is None for a in accs) or d is None or g is None:
        return None
    acc_min = min(accs)  # type: ignore[type-var]
    if acc_min < OVERPOWER_ACCURACY:
        return None
    d_med = median(d)
    if prof.d_near_zero is not None and d_med > prof.d_near_zero:
        return None
    slope = _slope(_steps(win), g)
    saturated = prof.g_saturated is not None and g[-1] >= prof.g_saturated
    if not (slope > 0 or saturated):
        return None
    ev = {
        "d_accuracy_min": acc_min,
        "d_accuracy_mean": sum(accs) / len(accs),  # type: ignore[arg-type]
        "d_loss": d_med,
        "g_loss_first": g[0],
        "g_loss_last": g[-1],
    }
    for key in ("d_real", "d_fake"):
        s = _series(win, key)
        if s is not None:
            ev[key] = s[-1]
    ev["window_steps"] = float(win[-1].get("step", 0)) - float(win[0].get("step", 0))
    symptom = (
        f"discriminator overpowering: D accuracy {ev['d_accuracy_mean']:.2f} (healthy {HEALTHY_D_ACCURACY[0]}-{HEALTHY_D_ACCURACY[1]}), "
        f"D loss {d_med:.3g} near 0, G loss {'rising' if slope > 0 else 'saturated'} {g[0]:.3g} -> {g[-1]:.3g}"
    )
    return Finding("overpowering", symptom, ev, remedies_overpowering(ctx), int(win[-1].get("step", 0)))


def check_vanishing(h: History, ctx: RuleContext) -> Finding | None:
    """G's gradient norm (window median) below 5 % of its peak this run while D is confident."""
    win = h.current
    if len(win) < h.window:
        return None
    gn = _series(win, "grad_norm_g")
    peak = h.peaks.get("grad_norm_g")
    if gn is None or not peak or peak <= 0:
        return None
    g_med = median(gn)
    if g_med >= VANISH_FRACTION * peak:
        return None
    ev = {"grad_norm_g": g_med, "grad_norm_g_peak": peak, "fraction_of_peak": g_med / peak}
    if ctx.profile.family != "critic":
        fake_p, acc_f = _series(win, "d_fake"), _series(win, "acc_fake")
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


def _eval_value(rec: Mapping[str, Any], key: str) -> float | None:
    v = num(rec, key)
    return v if v is not None and math.isfinite(v) else None


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

    ratios = [_eval_value(e, "diversity_ratio") for e in evs]
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
    kls = [_eval_value(e, "class_kl") for e in evs]
    if warm and all(k is not None for k in kls):
        base = _eval_value(evs[-1], "class_kl_real") or 0.0
        if all(k - base > COLLAPSE_CLASS_KL for k in kls):  # type: ignore[operator]
            ev["class_kl"] = kls[-1]  # type: ignore[assignment]
            ev["class_kl_real"] = base
            reasons.append(f"class histogram concentrating: KL to uniform {kls[-1]:.2f} nats vs {base:.2f} for real data")
    n_modes = MIXTURE_MODES.get(ctx.data)
    covered = [_eval_value(e, "modes_covered") for e in evs]
    known = warm and n_modes and all(c is not None for c in covered)
    if known and all(c < COLLAPSE_MODES_FRACTION * n_modes for c in covered):  # type: ignore[operator]
        ev["modes_covered"] = covered[-1]  # type: ignore[assignment]
        ev["modes_total"] = float(n_modes)
        reasons.append(f"only {covered[-1]:.0f} of {n_modes} modes covered")
    if not reasons:
        return None
    ev["evaluations"] = float(len(evs))
    symptom = "mode collapse: " + "; ".join(reasons) + f" at the last {len(evs)} evaluations"
    return Finding("mode_collapse", symptom, ev, remedies_collapse(ctx), int(evs[-1].get("step", 0)))


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
        c, p = _series(cur, key), _series(prev, key)
        if c is None or p is None:
            continue
        sc, sp = _detrended_std(_steps(cur), c), _detrended_std(_steps(prev), p)
        mc, mp = abs(median(c)), abs(median(p))
        scale = max(mc, mp, floor)
        if sc > OSCILLATION_STD_RATIO * sp and sc > OSCILLATION_REL_AMPLITUDE * scale:
            ev[f"{key}_std"], ev[f"{key}_std_before"] = sc, sp
            reasons.append(f"{key} std {sc:.3g} vs {sp:.3g} in the previous window")
        elif mc > DIVERGENCE_FACTOR * max(mp, floor):
            ev[f"{key}_abs"], ev[f"{key}_abs_before"] = mc, mp
            reasons.append(f"|{key}| {mc:.3g} vs {mp:.3g} in the previous window")
    c, p = _series(cur, "grad_norm_d"), _series(prev, "grad_norm_d")
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
    symptom = "NaN/Inf: training diverged (" + ", ".join(f"{k}={_fmt(v)}" for k, v in bad.items()) + ")"
    return Finding("nan", symptom, bad, remedies_nan(ctx), int(rec.get("step", 0)))


TRAIN_RULES: dict[str, Callable[[History, RuleContext], Finding | None]] = {
    "nan": check_nan,
    "overpowering": check_overpowering,
    "vanishing_gradients": check_vanishing,
    "oscillation": check_oscillation,
}
EVAL_RULES: dict[str, Callable[[History, RuleContext], Finding | None]] = {"mode_collapse": check_mode_collapse}


# --------------------------------------------------------------------------- engine


class RuleEngine:
    """Feeds records through the rules; each rule fires at most once (``fired``: rule -> step).

    ``feed(record)`` takes any ``metrics.jsonl`` record: ``kind: train`` (or a record without
    ``kind``) goes to the loss/gradient rules, ``kind: eval`` to the mode-collapse rule,
    ``kind: error`` to the NaN rule; other kinds are ignored. No rule except ``nan`` fires before
    ``warmup_steps``.
    """

    def __init__(
        self,
        ctx: RuleContext | None = None,
        window: int = DEFAULT_WINDOW,
        warmup_steps: int = 0,
        collapse_warmup: int = COLLAPSE_WARMUP_STEPS,
        rules: Sequence[str] | None = None,
    ) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2 records, got {window}")
        self.ctx = ctx or RuleContext()
        self.window = window
        self.warmup_steps = warmup_steps
        self.collapse_warmup = collapse_warmup
        self.rules = tuple(rules) if rules is not None else RULES
        unknown = set(self.rules) - set(RULES)
        if unknown:
            raise ValueError(f"unknown rules {sorted(unknown)}; known: {', '.join(RULES)}")
        self.train: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.peaks: dict[str, float] = {}
        self.fired: dict[str, int] = {}

    def _history(self) -> History:
        return History(self.train, self.evals, self.window, self.peaks, self.warmup_steps, self.collapse_warmup)

    def _peak(self, key: str, value: float | None) -> None:
        if value is not None and math.isfinite(value) and value > self.peaks.get(key, -math.inf):
            self.peaks[key] = value

    def _run(self, table: Mapping[str, Callable[[History, RuleContext], Finding | None]], step: int) -> list[Finding]:
        out = []
        hist = self._history()
        for name, fn in table.items():
            if name not in self.rules or name in self.fired:
                continue
            if name != "nan" and step < self.warmup_steps:
                continue
            f = fn(hist, self.ctx)
            if f is not None:
                self.fired[name] = f.step
                out.append(f)
        return out

    def feed(self, record: Mapping[str, Any]) -> list[Finding]:
        """Add one record; return the findings that fire for the first time."""
        kind = record.get("kind", "train")
        rec = dict(record)
        step = int(rec.get("step", 0))
        if kind in ("train", "error"):
            self.train.append(rec)
            del self.train[: -2 * self.window]
            findings = self._run(TRAIN_RULES if kind == "train" else {"nan": check_nan}, step)
            if kind == "train":  # the peak includes the current record only after the check
                self._peak("grad_norm_g", num(rec, "grad_norm_g"))
            return findings
        if kind == "eval":
            if not any(k in rec for k in ("diversity_ratio", "class_kl", "modes_covered")):
                return []
            self.evals.append(rec)
            del self.evals[:-COLLAPSE_EVALS]
            findings = self._run(EVAL_RULES, step)
            self._peak("diversity_ratio", _eval_value(rec, "diversity_ratio"))
            return findings
        return []

    def state_dict(self) -> dict[str, Any]:
        """Plain JSON (checkpoints store hook state as ``state.json``): numbers, non-finite as null."""
        return {
            "train": [_json_record(r) for r in self.train],
            "evals": [_json_record(r) for r in self.evals],
            "peaks": dict(self.peaks),
            "fired": dict(self.fired),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.train = [dict(r) for r in state.get("train", [])][-2 * self.window :]
        self.evals = [dict(r) for r in state.get("evals", [])][-COLLAPSE_EVALS:]
        self.peaks = {str(k): float(v) for k, v in state.get("peaks", {}).items()}
        self.fired = {str(k): int(v) for k, v in state.get("fired", {}).items()}


def _json_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if k == "kind" and isinstance(v, str):
            out[k] = v
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, (int, float)):
            out[k] = v if math.isfinite(v) else None
    return out


def evaluate_records(
    records: Sequence[Mapping[str, Any]], ctx: RuleContext | None = None, window: int = DEFAULT_WINDOW, **engine_kw: Any
) -> list[Finding]:
    """Replay a whole run's records (in order) through a fresh engine; the first firing of each rule."""
    engine = RuleEngine(ctx, window, **engine_kw)
    out: list[Finding] = []
    for rec in records:
        out += engine.feed(rec)
    return out


__all__ = [
    "COLLAPSE_WARMUP_STEPS",
    "DEFAULT_WINDOW",
    "HEALTHY_D_ACCURACY",
    "PROFILES",
    "RULES",
    "Finding",
    "History",
    "LossProfile",
    "RuleContext",
    "RuleEngine",
    "evaluate_records",
    "loss_profile",
]
