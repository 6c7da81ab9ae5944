"""Remedies for each rule: concrete changes, with the config keys to set, that the recipe does not
already have (a recipe with spectral norm is not told to add it)."""

from __future__ import annotations

from collections.abc import Sequence

from gankit.diagnostics.context import RuleContext
from gankit.diagnostics.records import fmt


def _lower_d_lr(ctx: RuleContext) -> str:
    cur = f" (now optim.d.lr={fmt(ctx.lr_d)}, optim.g.lr={fmt(ctx.lr_g)})" if ctx.lr_d and ctx.lr_g else ""
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


#: The ``cond`` values each generator family offers (gankit.models), best first.
G_CONDS = {"dcgan": ("cbn", "concat"), "resnet": ("cbn", "biggan"), "mlp": ("concat",)}


def _g_cond(ctx: RuleContext) -> list[str]:
    cond = str(ctx.g_options.get("cond", "none"))
    offered = G_CONDS.get(ctx.g_name or "", ("cbn", "concat"))
    if cond == "none":
        return [f"G never sees the label (model.generator.cond is none): set model.generator.cond: {' or '.join(offered)}"]
    if cond == "concat" and "cbn" in offered:
        return ["condition every layer of G: model.generator.cond: cbn (conditional BN; concat feeds the label in at the input only)"]
    return []


def _d_cond(ctx: RuleContext) -> list[str]:
    cond = str(ctx.d_options.get("cond", "none"))
    head = bool(ctx.d_options.get("aux_classifier") or ctx.d_options.get("tac"))
    weight = f" (now {fmt(ctx.aux_weight)})" if ctx.aux_weight is not None else ""
    ac = "model.discriminator.aux_classifier: true (an AC-GAN class head, weighted by task.aux_weight, default 1)"
    if head:
        out = [f"weigh D's class head more: raise task.aux_weight{weight}"]
        return out + (["let D's score see the label too: model.discriminator.cond: projection"] if cond != "projection" else [])
    if cond == "none":
        return [f"D never sees the label, so nothing rewards G for drawing the asked class: model.discriminator.cond: projection, or {ac}"]
    if cond == "projection":
        return [f"add a class head to the projection D: {ac}"]
    return [f"condition D more strongly: model.discriminator.cond: projection (Miyato & Koyama 2018), or {ac}"]


def remedies_labels_ignored(ctx: RuleContext) -> list[str]:
    out = _g_cond(ctx) + _d_cond(ctx)
    budget = (("train.max_steps", ctx.max_steps), ("train.max_minutes", ctx.max_minutes))
    now = ", ".join(f"{k}={fmt(v)}" for k, v in budget if v)
    out.append("train longer if the networks already condition (raise train.max_steps or train.max_minutes" + (f"; now {now})" if now else ")"))
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


__all__ = [
    "G_CONDS",
    "remedies_collapse",
    "remedies_labels_ignored",
    "remedies_nan",
    "remedies_oscillation",
    "remedies_overpowering",
    "remedies_vanishing",
]


def remedies_augmentation_saturated(ctx: RuleContext) -> list[str]:
    out = ["use more training images if you have them: at this p D has learned the augmented set too"]
    out.append("regularise D harder: raise the r1 penalty's gamma (x10), or add `{name: r1, gamma: 1, every: 16}`"
               if "r1" in ctx.regularizers else "add `{name: r1, gamma: 1, every: 16}` to `regularizers`")
    out.append("shrink D (model.discriminator.base_channels / max_channels) or lower optim.d.lr" + (f" (now {fmt(ctx.lr_d)})" if ctx.lr_d else ""))
    return out


def remedies_path_length(ctx: RuleContext, dominates: bool) -> list[str]:
    weight = ctx.task_options.get("pl_weight", 2.0)
    out = []
    if dominates:
        out.append(f"lower the path-length weight: --set task.pl_weight={fmt(float(weight) / 4)} (now {fmt(float(weight))}); "
                   "0 turns the regulariser off")  # fmt: skip
        out.append("run it less often: raise task.pl_every (now " + f"{ctx.task_options.get('pl_every', 4)})")
    else:
        out.append("lower G's learning rate (optim.g.lr" + (f", now {fmt(ctx.lr_g)}" if ctx.lr_g else "") + "): the lengths grow when G's steps are too large")
        out.append("raise task.pl_decay (now " + f"{ctx.task_options.get('pl_decay', 0.01)}) so the target length follows the lengths sooner")
        out.append("raise the r1 penalty's gamma (x10): a sharper D pushes G's mapping to extremes" if "r1" in ctx.regularizers
                   else "add `{name: r1, gamma: 1, every: 16}` to `regularizers`")  # fmt: skip
    return out
