"""Health rules of the image-to-image tasks that have a ground truth or a domain label.

* ``reconstruction_drift`` -- the error to the ground truth G is logged against (super-resolution's
  ``g_pixel_mse``, inpainting's ``g_hole_l1_raw``, Pix2Pix's ``g_l1_raw``) rose to
  :data:`DRIFT_FACTOR` x its level in the previous window: the adversarial term is pulling G away
  from the content, i.e. it invents detail that is not in the input.
* ``domains_ignored`` -- StarGAN's G keeps failing D's own domain classifier (``g_target_acc``)
  while that classifier knows the real images' domains (``d_cls_acc``); or the classifier itself
  has not learned the domains, so G has nothing to follow.
"""

from __future__ import annotations

from statistics import median

from gankit.diagnostics.context import RuleContext
from gankit.diagnostics.records import Finding, History, fmt, series

#: Reconstruction errors, by the task that logs them (what the rule compares window to window).
ERROR_KEYS = {"g_pixel_mse": "pixel MSE to the high-res target", "g_hole_l1_raw": "L1 on the hole",
              "g_l1_raw": "L1 to the target"}  # fmt: skip
#: Median error this many times that of the previous window. For an MSE, 4x is 6 dB of PSNR: SRGAN
#: loses 2.6 dB against SRResNet on Set5 (Ledig et al. 2017, table 2), so 6 dB in one window is no
#: longer the perception-distortion trade-off but a G that has stopped reconstructing.
DRIFT_FACTOR = 4.0
#: StarGAN: fakes classified as their target domain by D's own head (chance is 1/K) ...
TARGET_ACC_LOW = 0.5
#: ... while that head classifies real images at least this well (it knows the domains).
D_CLS_ACC_KNOWS = 0.8
#: The head itself below this on real images after the warm-up: it has not learned the domains.
D_CLS_ACC_LOW = 0.5
#: Generator steps before ``domains_ignored`` judges (the classifier and G both need a start).
DOMAINS_WARMUP_STEPS = 2000


def check_reconstruction_drift(h: History, ctx: RuleContext) -> Finding | None:
    cur, prev = h.current, h.previous
    if len(cur) < h.window or len(prev) < h.window:
        return None
    for key, what in ERROR_KEYS.items():
        now, before = series(cur, key), series(prev, key)
        if now is None or before is None or median(before) <= 0:
            continue
        ratio = median(now) / median(before)
        if ratio >= DRIFT_FACTOR:
            ev = {key: median(now), f"{key}_before": median(before), "ratio": ratio, "threshold": DRIFT_FACTOR}
            symptom = (f"reconstruction drift: the {what} grew {ratio:.1f}x in one window ({fmt(median(before))} -> {fmt(median(now))}); "
                       "G is trading the content of its input for realism")  # fmt: skip
            return Finding("reconstruction_drift", symptom, ev, remedies_drift(ctx, key), int(cur[-1].get("step", 0)))
    return None


def remedies_drift(ctx: RuleContext, key: str) -> list[str]:
    o = ctx.task_options
    gan = float(o.get("gan_weight", 1e-3 if key != "g_l1_raw" else 1.0))
    out = [f"lower the adversarial weight: --set task.gan_weight={fmt(gan / 10)} (now {fmt(gan)})"]
    if key == "g_pixel_mse":
        out.append(f"pre-train longer on the pixel loss: task.pretrain_steps (now {o.get('pretrain_steps', '20%')}), e.g. '50%'")
        if not float(o.get("pixel_weight", 0) or 0):
            out.append("keep a pixel term in the adversarial stage: --set task.pixel_weight=0.01 (ESRGAN's L1 weight)")
    elif key == "g_hole_l1_raw":
        out.append(f"weigh the hole's reconstruction more: task.hole_weight (now {fmt(float(o.get('hole_weight', 1.0)))})")
    else:
        out.append(f"weigh the L1 term more: task.l1_weight (now {fmt(float(o.get('l1_weight', 100.0)))})")
    out.append("lower D's learning rate (optim.d.lr" + (f", now {fmt(ctx.lr_d)}" if ctx.lr_d else "") + ")")
    return out


def check_domains_ignored(h: History, ctx: RuleContext) -> Finding | None:
    cur = h.current
    if len(cur) < h.window or int(cur[0].get("step", 0)) < DOMAINS_WARMUP_STEPS:
        return None
    g_acc, d_acc = series(cur, "g_target_acc"), series(cur, "d_cls_acc")
    if g_acc is None or d_acc is None:
        return None
    g, d = median(g_acc), median(d_acc)
    step = int(cur[-1].get("step", 0))
    if d < D_CLS_ACC_LOW:
        symptom = (f"domains not learned: D's domain classifier gets {100 * d:.0f}% of the real images right after {step} steps, "
                   "so G has no domain signal to follow")  # fmt: skip
        return Finding("domains_ignored", symptom, {"d_cls_acc": d, "g_target_acc": g, "threshold": D_CLS_ACC_LOW},
                       remedies_domains(ctx, classifier=True), step)  # fmt: skip
    if g < TARGET_ACC_LOW and d >= D_CLS_ACC_KNOWS:
        symptom = (f"domains ignored: D's classifier knows the real images' domains ({100 * d:.0f}%) but assigns only "
                   f"{100 * g:.0f}% of G's translations to the domain they were asked for")  # fmt: skip
        return Finding("domains_ignored", symptom, {"g_target_acc": g, "d_cls_acc": d, "threshold": TARGET_ACC_LOW},
                       remedies_domains(ctx, classifier=False), step)  # fmt: skip
    return None


def remedies_domains(ctx: RuleContext, classifier: bool) -> list[str]:
    o = ctx.task_options
    cls, rec = float(o.get("cls_weight", 1.0)), float(o.get("rec_weight", 10.0))
    if classifier:
        return [f"weigh the classification term more: --set task.cls_weight={fmt(cls * 2)} (now {fmt(cls)})",
                "give D more capacity: raise model.discriminator.base_channels",
                "check the labels: each domain must be a class of the data (one subfolder per domain)"]  # fmt: skip
    out = [f"weigh the target-domain term more: --set task.cls_weight={fmt(cls * 2)} (now {fmt(cls)})",
           f"loosen the cycle back: --set task.rec_weight={fmt(rec / 2)} (now {fmt(rec)}); a strong reconstruction term keeps G close to the input"]  # fmt: skip
    if ctx.n_critic and ctx.n_critic > 1:
        out.append(f"more G steps per D step: train.n_critic: {max(1, ctx.n_critic // 2)} (now {ctx.n_critic})")
    out.append("train longer (train.max_minutes): the shape changes between domains come last")
    return out


RESTORATION_RULES = {"reconstruction_drift": check_reconstruction_drift, "domains_ignored": check_domains_ignored}

__all__ = ["RESTORATION_RULES", "check_domains_ignored", "check_reconstruction_drift"]
