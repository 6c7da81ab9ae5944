"""Metrics of restoration (super-resolution, inpainting): outputs against their own targets, row by row.

* ``psnr_y`` / ``ssim_y`` -- the super-resolution literature's protocol (SRCNN, SRGAN, ESRGAN, and
  BasicSR's ``calculate_psnr(..., test_y_channel=True)``): RGB images are converted to the luma of
  ITU-R BT.601 as MATLAB's ``rgb2ycbcr`` does, ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` with R, G, B
  in [0, 1] (so Y in [16, 235]), then divided by 255 and **not rounded** (BasicSR's convention; MATLAB
  rounds uint8 inputs, which moves PSNR by a few hundredths of a dB), and ``crop_border`` pixels are
  cut from every side before measuring (``evaluate(crop_border=...)``; SR papers crop ``scale``
  pixels because the border is where the upsampler has the least context). Grayscale images are
  measured as they are (with ``crop_border=0``, ``psnr_y`` equals ``psnr``). SSIM is averaged over
  the window positions inside the image (MATLAB ``ssim_index``, BasicSR, scikit-image), which
  ``ssim`` (torchmetrics' mean over a reflect-padded map) is not. Data range 1 (255 on the uint8
  scale, also for Y), torchmetrics, the mean over images.
* ``hole_l1`` / ``hole_psnr`` -- inpainting: only the pixels inside the hole (``evaluate(masks=...)``,
  N x 1 x H x W, 1 = hole) count, every channel (RGB stays RGB). Per image, the mean absolute error /
  the MSE over its hole pixels ([0, 1] scale), PSNR ``10 log10(1 / MSE)`` from that image's MSE; the
  reported number is the mean over images (each image weighs the same, whatever its hole size).
  Images without a hole are left out (counted in the details); an exact hole (infinite PSNR) too,
  as ``psnr`` does.

The functions below work on uint8 tensors and return per-image values, so baselines and tests
use exactly what the registered metrics report.
"""

from __future__ import annotations

from typing import Any

import torch

from gankit.errors import ConfigError, GankitError

#: BT.601 luma weights of R, G, B in [0, 1] giving Y on the 0..255 scale (plus 16), as MATLAB's rgb2ycbcr.
Y_WEIGHTS = (65.481, 128.553, 24.966)
Y_OFFSET = 16.0


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """Float RGB N x 3 x H x W in [0, 1] -> N x 1 x H x W luma Y / 255 (in [16/255, 235/255])."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise GankitError(f"rgb_to_y needs RGB images N x 3 x H x W; got shape {tuple(x.shape)}.")
    w = torch.tensor(Y_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return ((x * w).sum(1, keepdim=True) + Y_OFFSET) / 255.0


def _check_images(x: torch.Tensor, t: torch.Tensor) -> None:
    if x.dim() != 4 or x.shape != t.shape:
        raise GankitError(f"outputs and targets must be N x C x H x W of one shape; got {tuple(x.shape)} and {tuple(t.shape)}.")
    if x.dtype != torch.uint8 or t.dtype != torch.uint8:
        raise GankitError(f"restoration metrics read uint8 images (the pixels FID reads); got {x.dtype} and {t.dtype}.")


def prepare(x: torch.Tensor, t: torch.Tensor, *, y_channel: bool = True, crop_border: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 outputs and targets -> float64 in [0, 1]: Y of RGB when ``y_channel``, ``crop_border`` cut per side."""
    _check_images(x, t)
    c = int(crop_border)
    h, w = x.shape[-2:]
    if c < 0 or 2 * c >= min(h, w):
        raise ConfigError(f"crop_border must be in 0..{(min(h, w) - 1) // 2} for {h} x {w} images; got {crop_border}.")
    xf, tf = x.double() / 255, t.double() / 255
    if y_channel and x.shape[1] == 3:
        xf, tf = rgb_to_y(xf), rgb_to_y(tf)
    if c:
        xf, tf = xf[..., c : h - c, c : w - c], tf[..., c : h - c, c : w - c]
    return xf, tf


def psnr_per_image(x: torch.Tensor, t: torch.Tensor, *, y_channel: bool = True, crop_border: int = 0) -> torch.Tensor:
    """PSNR in dB of each output against its target (N,), data range 1; ``inf`` for an exact copy."""
    from torchmetrics.functional.image import peak_signal_noise_ratio

    xf, tf = prepare(x, t, y_channel=y_channel, crop_border=crop_border)
    return peak_signal_noise_ratio(xf, tf, data_range=1.0, reduction="none", dim=(1, 2, 3))


#: Half the Gaussian window of SSIM (11 x 11, sigma 1.5): the map is averaged where the window fits.
SSIM_PAD = 5


def ssim_per_image(x: torch.Tensor, t: torch.Tensor, *, y_channel: bool = True, crop_border: int = 0) -> torch.Tensor:
    """SSIM of each output against its target (N,), the SR literature's: Gaussian window 11 / sigma 1.5, k1 0.01,
    k2 0.03, the SSIM map averaged over the positions where the window lies inside the image ("valid", as
    Wang et al.'s MATLAB ``ssim_index``, BasicSR and scikit-image). The map is torchmetrics'
    (``return_full_image``) with its reflect-padded border of :data:`SSIM_PAD` pixels left out; torchmetrics'
    own mean (``ssim``) includes that border.
    """
    from torchmetrics.functional.image import structural_similarity_index_measure

    xf, tf = prepare(x, t, y_channel=y_channel, crop_border=crop_border)
    h, w = xf.shape[-2:]
    if min(h, w) <= 2 * SSIM_PAD:
        raise ConfigError(f"SSIM's 11 x 11 window needs images larger than {2 * SSIM_PAD} px per side after the border crop; got {h} x {w}.")
    p = SSIM_PAD
    parts = []
    for xa, ta in zip(xf.split(500), tf.split(500)):
        _, full = structural_similarity_index_measure(xa, ta, data_range=1.0, reduction="none", return_full_image=True)
        parts.append(full[..., p : h - p, p : w - p].flatten(1).mean(1))
    return torch.cat(parts) if parts else torch.empty(0, dtype=torch.float64)


def as_hole_mask(mask: Any, n: int | None = None, hw: tuple[int, int] | None = None) -> torch.Tensor:
    """A hole mask (tensor or array, N x 1 x H x W, 1 = hole, values 0/1 of any dtype) -> bool, checked."""
    import numpy as np

    m = mask if torch.is_tensor(mask) else torch.as_tensor(np.asarray(mask))
    m = m.detach().cpu()
    want = f"N x 1 x {hw[0]} x {hw[1]}" if hw else "N x 1 x H x W"
    if m.dim() != 4 or m.shape[1] != 1 or (hw is not None and tuple(m.shape[-2:]) != tuple(hw)) or (n is not None and len(m) < n):
        rows = f" with at least {n} rows (one per image)" if n is not None else ""
        raise GankitError(f"masks must be {want}{rows}, 1 marking the hole; got shape {tuple(m.shape)}.")
    if m.dtype != torch.bool:
        bad = ~((m == 0) | (m == 1))
        if bool(bad.any()):
            raise GankitError(f"masks must hold 0 (known pixel) or 1 (hole) only; got values such as {m[bad][:4].tolist()}.")
        m = m == 1
    return m[:n] if n is not None else m


def _hole_sums(x: torch.Tensor, t: torch.Tensor, mask: Any, power: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(sum over each image's hole pixels and channels of |x - t|^power on [0, 1], number of those values)."""
    _check_images(x, t)
    m = as_hole_mask(mask, len(x), tuple(x.shape[-2:])).double()
    err = (x.double() - t.double()).abs() / 255
    total = (err.pow(power) * m).sum(dim=(1, 2, 3))
    count = m.sum(dim=(1, 2, 3)) * x.shape[1]
    return total, count


def hole_l1_per_image(x: torch.Tensor, t: torch.Tensor, mask: Any) -> torch.Tensor:
    """Mean absolute error over each image's hole pixels, [0, 1] scale (N,); NaN for an image without a hole."""
    total, count = _hole_sums(x, t, mask, 1)
    return torch.where(count > 0, total / count.clamp_min(1), torch.full_like(total, float("nan")))


def hole_psnr_per_image(x: torch.Tensor, t: torch.Tensor, mask: Any) -> torch.Tensor:
    """PSNR in dB from each image's hole-pixel MSE, data range 1 (N,); NaN without a hole, inf for an exact hole."""
    total, count = _hole_sums(x, t, mask, 2)
    mse = total / count.clamp_min(1)
    return torch.where(count > 0, 10 * torch.log10(1.0 / mse), torch.full_like(mse, float("nan")))


def mean_of(per: torch.Tensor) -> tuple[float | None, int, int]:
    """(mean over the finite values or None, how many were NaN (no hole), how many infinite (exact))."""
    nan, inf = int(torch.isnan(per).sum()), int(torch.isinf(per).sum())
    finite = per[torch.isfinite(per)]
    if len(finite):
        return float(finite.mean()), nan, inf
    return (float("inf") if inf else None), nan, inf


# -- the registered metrics -----------------------------------------------------------------------


def _need(ctx: Any, metric: str, masks: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    if ctx.targets is None:
        raise GankitError(f"{metric} compares each output with its own target: pass targets= (uint8, aligned with the samples; "
                          "`gankit eval RUN` of a restoration run does).")  # fmt: skip
    if masks and getattr(ctx, "masks", None) is None:
        raise GankitError(f"{metric} measures the hole only: pass masks= (N x 1 x H x W, 1 marking the hole, aligned with "
                          "the samples; `gankit eval RUN` of an inpainting run does).")  # fmt: skip
    return ctx.x, ctx.targets


def _add(ctx: Any, name: str, value: float | None, details: dict) -> None:
    from gankit.metrics.protocol import MetricResult

    proto = ctx.proto(None, n_ref=len(ctx.targets), reference_spec="targets (row by row)")
    ctx.report.add(MetricResult(name, value, proto, details=details))


def channel_protocol(channels: int, crop_border: int) -> str:
    """How ``psnr_y`` / ``ssim_y`` read images of ``channels`` channels, in words (for reports and tables)."""
    where = "Y channel (ITU-R BT.601, MATLAB rgb2ycbcr, not rounded)" if channels == 3 else "gray (no conversion)"
    return f"{where}, border crop {crop_border} px"


def report_psnr_y(ctx: Any) -> None:
    x, t = _need(ctx, "psnr_y")
    crop = int(getattr(ctx, "crop_border", 0))
    with ctx.timed("psnr_y"):
        value, _, inf = mean_of(psnr_per_image(x, t, y_channel=True, crop_border=crop))
    _add(ctx, "psnr_y", value, {"on": channel_protocol(x.shape[1], crop), "crop_border": crop, "data_range": 1.0, "unit": "dB",
                                "identical_images": inf, "library": "torchmetrics"})  # fmt: skip


def report_ssim_y(ctx: Any) -> None:
    x, t = _need(ctx, "ssim_y")
    crop = int(getattr(ctx, "crop_border", 0))
    with ctx.timed("ssim_y"):
        value = float(ssim_per_image(x, t, y_channel=True, crop_border=crop).mean())
    _add(ctx, "ssim_y", value, {"on": channel_protocol(x.shape[1], crop), "crop_border": crop, "data_range": 1.0,
                                "kernel": "gaussian 11, sigma 1.5", "window": "valid (MATLAB ssim_index, BasicSR, scikit-image)",
                                "library": "torchmetrics"})  # fmt: skip


def report_hole_l1(ctx: Any) -> None:
    x, t = _need(ctx, "hole_l1", masks=True)
    with ctx.timed("hole_l1"):
        value, empty, _ = mean_of(hole_l1_per_image(x, t, ctx.masks))
    _add(ctx, "hole_l1", value, {"scale": "[0, 1]", "reduction": "per image over its hole pixels and channels, then mean over images",
                                 "images_without_hole": empty})  # fmt: skip


def report_hole_psnr(ctx: Any) -> None:
    x, t = _need(ctx, "hole_psnr", masks=True)
    with ctx.timed("hole_psnr"):
        value, empty, inf = mean_of(hole_psnr_per_image(x, t, ctx.masks))
    _add(ctx, "hole_psnr", value, {"data_range": 1.0, "unit": "dB", "reduction": "per image from its hole MSE, then mean over images",
                                   "images_without_hole": empty, "exact_holes": inf})  # fmt: skip


__all__ = [
    "SSIM_PAD", "Y_OFFSET", "Y_WEIGHTS", "as_hole_mask", "channel_protocol", "hole_l1_per_image", "hole_psnr_per_image", "mean_of",
    "prepare", "psnr_per_image", "report_hole_l1", "report_hole_psnr", "report_psnr_y", "report_ssim_y", "rgb_to_y",
    "ssim_per_image",
]  # fmt: skip
