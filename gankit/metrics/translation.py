"""Metrics of image-to-image translation: outputs against their own targets, row by row (``aligned``
inputs), and the target-class rate of translated images.

* ``l1`` -- mean absolute error on the [0, 1] scale (also the cycle-reconstruction L1 when the
  "outputs" are reconstructions and the targets the inputs);
* ``psnr`` -- peak signal-to-noise ratio in dB, data range 1 (torchmetrics), the mean over images;
* ``ssim`` -- structural similarity (torchmetrics: Gaussian window 11, sigma 1.5, k1 0.01, k2 0.03),
  the mean over images;
* ``lpips`` -- LPIPS-VGG v0.1 when its weights are given (``lpips_weights`` / ``vgg_weights``);
* ``target_class`` -- the fraction of outputs the shipped Fashion-MNIST classifier assigns to the
  target domain's class (``target_class=K``; the built-in unpaired tasks know theirs).

Every number is computed on uint8 images converted to float, the same pixels FID reads.
"""

from __future__ import annotations

import torch

from gankit.errors import GankitError


def _pair(ctx) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    """(outputs, targets) as float in [0, 1]."""
    if ctx.targets is None:
        raise GankitError("l1, psnr, ssim and lpips compare each output with its own target: pass targets= (uint8, aligned "
                          "with the samples; `gankit eval RUN` of a paired translation run does).")  # fmt: skip
    return ctx.x.float() / 255, ctx.targets.float() / 255


def _add(ctx, name: str, value: float, details: dict) -> None:  # noqa: ANN001
    from gankit.metrics.protocol import MetricResult

    proto = ctx.proto(None, n_ref=len(ctx.targets), reference_spec="targets (row by row)")
    ctx.report.add(MetricResult(name, float(value), proto, details=details))


def report_l1(ctx) -> None:  # noqa: ANN001
    x, t = _pair(ctx)
    with ctx.timed("l1"):
        _add(ctx, "l1", (x - t).abs().mean().item(), {"scale": "[0, 1]", "reduction": "mean over pixels and images"})


def report_psnr(ctx) -> None:  # noqa: ANN001
    from torchmetrics.functional.image import peak_signal_noise_ratio

    x, t = _pair(ctx)
    with ctx.timed("psnr"):
        per = peak_signal_noise_ratio(x, t, data_range=1.0, reduction="none", dim=(1, 2, 3))
        finite = per[torch.isfinite(per)]  # an exact copy has infinite PSNR
        value = finite.mean().item() if len(finite) else float("inf")
    _add(ctx, "psnr", value, {"data_range": 1.0, "unit": "dB", "identical_images": int((~torch.isfinite(per)).sum()),
                              "library": "torchmetrics"})  # fmt: skip


def report_ssim(ctx) -> None:  # noqa: ANN001
    from torchmetrics.functional.image import structural_similarity_index_measure

    x, t = _pair(ctx)
    with ctx.timed("ssim"):
        per = torch.cat([structural_similarity_index_measure(xa, ta, data_range=1.0, reduction="none")
                         for xa, ta in zip(x.split(500), t.split(500))])  # fmt: skip
    _add(ctx, "ssim", per.mean().item(), {"data_range": 1.0, "kernel": "gaussian 11, sigma 1.5", "library": "torchmetrics"})


def report_lpips(ctx) -> None:  # noqa: ANN001
    from gankit.metrics.extractors.lpips_vgg import load_lpips_vgg

    x, t = _pair(ctx)
    net = load_lpips_vgg(ctx.lpips_weights, ctx.vgg_weights, ctx.device)
    dist = net.distance()
    with ctx.timed("lpips"):
        d = torch.cat([dist(xa.to(ctx.device) * 2 - 1, ta.to(ctx.device) * 2 - 1).cpu() for xa, ta in zip(x.split(200), t.split(200))])
    _add(ctx, "lpips", d.mean().item(), {"network": net.description})


def report_target_class(ctx) -> None:  # noqa: ANN001
    from gankit.metrics.extractors.fmnist import CLASS_NAMES
    from gankit.metrics.protocol import MetricResult

    k = getattr(ctx, "target_class", None)
    if k is None:
        raise GankitError("target_class needs the target domain's Fashion-MNIST class: pass target_class=K (the built-in "
                          "fmnist-sandal2sneaker / fmnist-tshirt2shirt runs give it).")  # fmt: skip
    ext, out = ctx.fmnist
    with ctx.timed("target_class"):
        pred = torch.as_tensor(out["logits"]).argmax(1)
        rate = (pred == int(k)).float().mean().item()
    counts = torch.bincount(pred, minlength=len(CLASS_NAMES)).tolist()
    ctx.report.add(MetricResult("target_class", rate, ctx.proto(ext), details={
        "target": f"{k} ({CLASS_NAMES[int(k)]})", "predicted_counts": dict(zip(CLASS_NAMES, counts))}))  # fmt: skip
