"""``gankit eval RUN`` of a restoration run, and the benchmark's numbers: the model against classic baselines.

Each function takes a :func:`gankit.load` result, restores the held-out inputs of its data with the
model *and* with the non-learned baselines (:mod:`gankit.metrics.baselines`), and measures every method
with the registered metrics on the same targets, so each number carries its protocol. The model's rows
have the plain names; a baseline's rows carry its name as a prefix, and every row says its ``method``
in its details:

* :func:`evaluate_super_resolution` -- ``psnr``, ``ssim``, ``fid`` (model) and ``bicubic_psnr``,
  ``bicubic_ssim``, ``bicubic_fid``. PSNR and SSIM are the registered ``psnr_y`` / ``ssim_y``: for RGB on
  the BT.601 Y channel with ``scale`` pixels cropped at each border (the SR literature's protocol), for
  grayscale on the image itself, uncropped (the numbers of ``psnr`` / ``ssim``); ``crop_border=`` overrides.
  FID is of the outputs against the high-resolution targets. Low PSNR with low FID is the
  perception-distortion trade-off SRGAN makes against SRResNet.
* :func:`evaluate_inpainting` -- ``hole_psnr``, ``hole_l1``, ``fid`` for the model, ``mean_fill_*`` and
  ``telea_*`` for the baselines: the metrics of the hole only, FID of the composited images against the
  full targets.
* :func:`evaluate_domains` -- StarGAN: every held-out image whose class is not ``k`` is translated to
  every target domain ``k``; ``target_class`` (the Fashion-MNIST classifier's rate of class ``k``),
  ``domain_fid`` (FID of the translations to ``k`` against the real held-out images of class ``k``) and
  ``reconstruction_l1`` (L1 of x -> k -> its own class against x), each the mean over the domains with
  the per-domain numbers in ``details["per_domain"]``.

Targets become reference folders cached by content (:func:`~gankit.metrics.translation_eval.target_folder`),
so the reference statistics of FID are shared between methods and runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from gankit.core.registry import did_you_mean
from gankit.errors import GankitError
from gankit.metrics.protocol import EvalReport, MetricResult

SR_METRICS = ("psnr", "ssim", "fid")
INPAINT_METRICS = ("hole_psnr", "hole_l1", "fid")
DOMAIN_METRICS = ("target_class", "domain_fid", "reconstruction_l1")

_SR_REGISTERED = {"psnr": "psnr_y", "ssim": "ssim_y", "fid": "fid"}  # reported name -> registered metric


def _wanted(metrics: Sequence[str] | str | None, allowed: Sequence[str], what: str) -> list[str]:
    names = [m.strip() for m in (metrics.split(",") if isinstance(metrics, str) else metrics or allowed) if m.strip()]
    for m in names:
        if m not in allowed:
            raise GankitError(f"{what} evaluation measures {', '.join(allowed)}; not {m!r}.{did_you_mean(m, list(allowed))}")
    return [m for m in allowed if m in names]  # report order


def _check_outputs(out: Any, want: torch.Tensor, method: str) -> torch.Tensor:
    if not torch.is_tensor(out) or out.dtype != torch.uint8 or tuple(out.shape) != tuple(want.shape):
        got = f"{out.dtype} {tuple(out.shape)}" if torch.is_tensor(out) else type(out).__name__
        raise GankitError(f"{method} must return uint8 images of the targets' shape {tuple(want.shape)}; got {got}.")
    return out


def _timed(rep: EvalReport, name: str, fn: Callable[[], torch.Tensor]) -> torch.Tensor:
    t = time.perf_counter()
    with torch.no_grad():
        out = fn()
    rep.timings[name] = rep.timings.get(name, 0.0) + time.perf_counter() - t
    return out


def _merge(rep: EvalReport, sub: EvalReport, method: str) -> None:
    for k, v in sub.timings.items():
        rep.timings[f"{method}.{k}"] = rep.timings.get(f"{method}.{k}", 0.0) + v
    if "reference_cache" in sub.info:
        rep.info.setdefault("reference_cache", {})[method] = sub.info["reference_cache"]


def _rows(rep: EvalReport, method: str, outputs: torch.Tensor, names: dict[str, str], **ev: Any) -> None:
    """Measure ``outputs`` with the registered metrics ``names`` (registered -> reported name); add the rows to ``rep``."""
    from gankit.metrics import evaluate

    if not names:
        return
    sub = evaluate(outputs, list(names), **ev)
    for reg, name in names.items():  # the caller's order, not the registry's
        r = sub.get(reg)
        rep.add(MetricResult(name, r.value, r.protocol, r.std, {**r.details, "method": method, "metric": reg}))
    _merge(rep, sub, method)


def _prefix(method: str) -> str:
    return "" if method == "model" else f"{method}_"


def _finish(rep: EvalReport, out_dir: str | Path | None) -> EvalReport:
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        rep.artifacts["report"] = str(out / "report.json")
        rep.to_json(out / "report.json")
    return rep


# -- super-resolution -----------------------------------------------------------------------------


def sr_scale(lr: torch.Tensor, hr: torch.Tensor) -> int:
    """The integer upscaling factor from ``lr`` (N x C x h x w) to ``hr`` (N x C x sh x sw), checked."""
    (h, w), (hh, hw) = lr.shape[-2:], hr.shape[-2:]
    if lr.shape[:2] != hr.shape[:2] or hh % h or hw % w or hh // h != hw // w or hh // h < 2:
        raise GankitError(f"super-resolution pairs must be low-res N x C x h x w and high-res N x C x sh x sw (s >= 2); "
                          f"got {tuple(lr.shape)} and {tuple(hr.shape)}.")  # fmt: skip
    return hh // h


def _sr_inputs(lr: torch.Tensor, hr: torch.Tensor, scale: int, override: Any, data: Any) -> tuple[torch.Tensor, str]:
    """The low-resolution inputs to measure on, and how they were made (for the report)."""
    if override is None:
        return lr, f"the data's ({getattr(data, 'degradation', 'its own')})"
    if isinstance(override, str):
        from gankit.data.degrade import downsample

        return downsample(hr, scale, override), f"{override} bicubic x{scale} of the targets (lr_override)"
    x = override if torch.is_tensor(override) else torch.as_tensor(override)
    if x.dtype != torch.uint8 or tuple(x.shape) != tuple(lr.shape):
        raise GankitError(f"lr_override must be a kernel name or uint8 inputs of shape {tuple(lr.shape)}; got {x.dtype} {tuple(x.shape)}.")
    return x, "given inputs (lr_override)"


def evaluate_super_resolution(gen: Any, n: int = 10000, split: str = "test", extractor: str = "auto", seed: int = 0,
                              device: str = "cpu", out_dir: str | Path | None = None, lr_override: Any = None, *,
                              metrics: Sequence[str] | str | None = None, crop_border: int | None = None,
                              **kw: Any) -> EvalReport:  # fmt: skip
    """PSNR, SSIM and FID of ``gen.upscale`` and of bicubic upsampling on ``n`` held-out pairs of ``gen``'s data.

    Args:
        gen: a :func:`gankit.load` result of a super-resolution run (``gen.upscale(lr, device=) -> uint8``, ``gen.cfg``).
        lr_override: None (the data's own low-resolution inputs), a kernel name of
            :mod:`gankit.data.degrade` (``"pil"``, ``"opencv"``, ``"torch"``: the targets downsampled
            with it, to check robustness to how the input was made) or uint8 inputs of the same shape.
        metrics: a subset of :data:`SR_METRICS` (default all).
        crop_border: pixels cut per side before PSNR/SSIM; None: ``scale`` for RGB, 0 for grayscale.
        kw: passed to :func:`gankit.metrics.evaluate` (``inception_weights``, ``batch_size``, ``cache``, ...).
    """
    from gankit.data import load_translation_pairs
    from gankit.metrics.baselines import bicubic_baseline
    from gankit.metrics.translation_eval import target_folder

    wanted = _wanted(metrics, SR_METRICS, "super-resolution")
    lr, hr = load_translation_pairs(gen.cfg.data, split, limit=n)
    if hr is None or len(hr) == 0:
        raise GankitError(f"{gen.cfg.data.name}: the {split} split has no high-resolution targets to compare with.")
    scale = sr_scale(lr, hr)
    lr, made = _sr_inputs(lr, hr, scale, lr_override, gen.cfg.data)
    crop = (scale if hr.shape[1] == 3 else 0) if crop_border is None else int(crop_border)
    skipped = None
    if metrics is None and extractor == "auto" and tuple(hr.shape[1:]) != (1, 28, 28) and not kw.get("inception_weights"):
        wanted = [m for m in wanted if m != "fid"]  # FID of RGB photos needs Inception's weights: asked for, not assumed
        skipped = "fid: not measured by default for these images (pass --metrics psnr,ssim,fid with --inception-weights PATH)"
    ev: dict[str, Any] = dict(extractor=extractor, n=len(hr), seed=seed, device=device, targets=hr, crop_border=crop) | kw
    if "fid" in wanted:
        ev["ref"] = str(target_folder(hr))
    names = {_SR_REGISTERED[m]: m for m in wanted}
    rep = EvalReport()
    methods = {"model": lambda: gen.upscale(lr, device=device), "bicubic": lambda: bicubic_baseline(lr, scale)}
    for method, run in methods.items():
        out = _check_outputs(_timed(rep, f"{method}.run", run), hr, f"{method} upscaling")
        _rows(rep, method, out, {k: _prefix(method) + v for k, v in names.items()}, **ev)
    from gankit.metrics.restoration import channel_protocol

    rep.info["super_resolution"] = {
        "split": split, "pairs": len(hr), "scale": scale, "inputs": made, "psnr_ssim_on": channel_protocol(hr.shape[1], crop),
        "methods": {"model": getattr(gen, "weights", "model"), "bicubic": "PIL Image.resize BICUBIC"},
    } | ({"skipped": skipped} if skipped else {})  # fmt: skip
    return _finish(rep, out_dir)


# -- inpainting -----------------------------------------------------------------------------------


def evaluate_inpainting(gen: Any, n: int = 10000, split: str = "test", extractor: str = "auto", seed: int = 0,
                        device: str = "cpu", out_dir: str | Path | None = None, *,
                        metrics: Sequence[str] | str | None = None, radius: int = 3, **kw: Any) -> EvalReport:  # fmt: skip
    """Hole PSNR, hole L1 and FID of ``gen.inpaint``, mean fill and OpenCV Telea on ``n`` held-out masked images.

    Args:
        gen: a :func:`gankit.load` result of an inpainting run (``gen.inpaint(a, mask, device=) -> uint8``, ``gen.cfg``);
            its data gives ``gankit.data.load_inpaint_triples(cfg.data, split, limit=n)`` -> (masked a, full b, mask).
        metrics: a subset of :data:`INPAINT_METRICS` (default all).
        radius: Telea's ``inpaintRadius`` (pixels).
        kw: passed to :func:`gankit.metrics.evaluate`.
    """
    from gankit.data import load_inpaint_triples
    from gankit.metrics.baselines import mean_fill, telea
    from gankit.metrics.restoration import as_hole_mask
    from gankit.metrics.translation_eval import target_folder

    wanted = _wanted(metrics, INPAINT_METRICS, "inpainting")
    a, b, mask = load_inpaint_triples(gen.cfg.data, split, limit=n)
    if len(b) == 0 or a.shape != b.shape:
        raise GankitError(f"{gen.cfg.data.name}: inpainting needs masked inputs and full targets of one shape; "
                          f"got {tuple(a.shape)} and {tuple(b.shape)}.")  # fmt: skip
    m = as_hole_mask(mask, len(b), tuple(b.shape[-2:])).to(torch.uint8)
    ev: dict[str, Any] = dict(extractor=extractor, n=len(b), seed=seed, device=device, targets=b, masks=m) | kw
    if "fid" in wanted:
        ev["ref"] = str(target_folder(b))
    rep = EvalReport()
    methods = {"model": lambda: gen.inpaint(a, m, device=device), "mean_fill": lambda: mean_fill(a, m),
               "telea": lambda: telea(a, m, radius)}  # fmt: skip
    for method, run in methods.items():
        out = _check_outputs(_timed(rep, f"{method}.run", run), b, f"{method} inpainting")
        _rows(rep, method, out, {k: _prefix(method) + k for k in wanted}, **ev)
    hole = m.double().mean(dim=(1, 2, 3))
    rep.info["inpainting"] = {
        "split": split, "images": len(b), "hole_fraction_mean": float(hole.mean()), "no_hole": int((hole == 0).sum()),
        "methods": {"model": getattr(gen, "weights", "model"), "mean_fill": "mean of the known pixels per channel",
                    "telea": f"cv2.inpaint INPAINT_TELEA, radius {radius}"},
    }  # fmt: skip
    return _finish(rep, out_dir)


# -- multi-domain translation (StarGAN) -----------------------------------------------------------


def domain_names(gen: Any, k: int) -> list[str]:
    """Domain index -> name: the run's class names, else Fashion-MNIST's for ten domains, else the index."""
    from gankit.metrics.extractors.fmnist import CLASS_NAMES

    names = getattr(gen, "class_names", None)
    if names and len(names) == k:
        return [str(s) for s in names]
    return list(CLASS_NAMES) if k == len(CLASS_NAMES) else [str(i) for i in range(k)]


def _num_domains(gen: Any, labels: torch.Tensor) -> int:
    k = (getattr(gen, "signature", None) or {}).get("num_classes") or (int(labels.max()) + 1 if len(labels) else 0)
    if k < 2:
        raise GankitError(f"multi-domain evaluation needs a model with at least 2 domains; got {k}.")
    return int(k)


def _fmnist_class(name: str, k: int) -> int:
    from gankit.metrics.extractors.fmnist import CLASS_NAMES

    if name in CLASS_NAMES:
        return CLASS_NAMES.index(name)
    if k < len(CLASS_NAMES):
        return k
    raise GankitError(f"target_class scores with the Fashion-MNIST classifier; domain {k} ({name}) is not one of its classes.")


def _mean_row(name: str, per: dict[str, float | None], protos: list, details: dict, **proto: Any) -> MetricResult:
    vals = [v for v in per.values() if v is not None]
    value = sum(vals) / len(vals) if vals else None
    return MetricResult(name, value, protos[0].replace(**proto), details={"per_domain": per, "domains_measured": len(vals), **details})


def evaluate_domains(gen: Any, n: int = 10000, split: str = "test", extractor: str = "auto", seed: int = 0,
                     device: str = "cpu", out_dir: str | Path | None = None, *,
                     metrics: Sequence[str] | str | None = None, **kw: Any) -> EvalReport:  # fmt: skip
    """Target-class rate, FID per target domain and reconstruction L1 of a StarGAN run, the mean over domains.

    The inputs are the first ``n`` labelled images of ``split`` (``gankit.data.load_real_labeled``); for
    each domain ``k`` those of another class are translated with ``gen.translate(x, target_class=k, device=)``
    and back with ``target_class=`` their own labels (an int64 tensor, one per image).
    """
    from gankit.data import load_real_labeled
    from gankit.metrics import evaluate
    from gankit.metrics.translation_eval import target_folder

    wanted = _wanted(metrics, DOMAIN_METRICS, "multi-domain")
    x, y = load_real_labeled(gen.cfg.data, split, limit=n)
    y = torch.as_tensor(y, dtype=torch.long)
    k_all = _num_domains(gen, y)
    names = domain_names(gen, k_all)
    per: dict[str, dict[str, float | None]] = {m: {} for m in wanted}
    protos: dict[str, list] = {m: [] for m in wanted}
    n_gen, n_ref = [0] * k_all, [0] * k_all
    rep = EvalReport()
    for k in range(k_all):
        src = y != k
        xs, ys, real = x[src], y[src], x[y == k]
        n_gen[k], n_ref[k] = len(xs), len(real)
        if len(xs) == 0:
            continue
        out = _check_outputs(_timed(rep, "model.translate", lambda: gen.translate(xs, target_class=k, device=device)), xs, "translate")
        fid_ok = min(len(real), len(out)) >= 2  # FID needs at least 2 images on each side
        sub = [m for m in ("target_class", "domain_fid") if m in wanted and (m != "domain_fid" or fid_ok)]
        if "domain_fid" in wanted and not fid_ok:
            per["domain_fid"][names[k]] = None
        if sub:
            ev = dict(extractor=extractor, n=len(out), seed=seed, device=device) | kw
            if "domain_fid" in sub:
                ev["ref"] = str(target_folder(real))
            if "target_class" in sub:
                ev["target_class"] = _fmnist_class(names[k], k)
            r = evaluate(out, ["fid" if m == "domain_fid" else m for m in sub], **ev)
            _merge(rep, r, f"domain{k}")
            for m in sub:
                res = r.get("fid" if m == "domain_fid" else m)
                per[m][names[k]] = res.value
                protos[m].append(res.protocol)
        if "reconstruction_l1" in wanted:
            rec = _check_outputs(_timed(rep, "model.translate", lambda: gen.translate(out, target_class=ys, device=device)), xs, "translate")
            res = evaluate(rec, "l1", targets=xs, n=len(rec), seed=seed, device=device).get("l1")
            per["reconstruction_l1"][names[k]] = res.value
            protos["reconstruction_l1"].append(res.protocol)
    if not any(protos.values()):
        raise GankitError(f"{gen.cfg.data.name}: no {split} image to translate (got {len(x)}).")
    counts = dict(n_generated=sum(n_gen), n_generated_per_class=tuple(n_gen))
    inputs = f"the first {len(x)} {split} images whose class is not the target, translated to each of {k_all} domains"
    extra = {  # details and protocol fields of each row
        "target_class": ({"classifier": "shipped Fashion-MNIST classifier (argmax)"}, {}),
        "domain_fid": ({"reference": f"the real {split} images of the target domain, per domain"},
                       dict(n_reference=sum(n_ref), n_reference_per_class=tuple(n_ref), reference=f"{split} images of each target domain")),
        "reconstruction_l1": ({"path": "x -> G(x, k) -> G(., label of x)", "scale": "[0, 1]"},
                              dict(n_reference=sum(n_gen), reference="inputs (x -> k -> own domain)")),
    }  # fmt: skip
    for m in wanted:
        if protos[m]:
            details, proto = extra[m]
            rep.add(_mean_row(m, per[m], protos[m], {"inputs": inputs, **details}, **counts, **proto))
    rep.info["domains"] = {"split": split, "images": len(x), "domains": names, "inputs_per_domain": dict(zip(names, n_gen)),
                           "real_per_domain": dict(zip(names, n_ref)), "model": getattr(gen, "weights", "model")}  # fmt: skip
    return _finish(rep, out_dir)


__all__ = [
    "DOMAIN_METRICS", "INPAINT_METRICS", "SR_METRICS", "domain_names", "evaluate_domains", "evaluate_inpainting",
    "evaluate_super_resolution", "sr_scale",
]  # fmt: skip
