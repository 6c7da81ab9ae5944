"""The classic non-learned baselines restoration models are compared with.

* :func:`bicubic_baseline` -- super-resolution by PIL's bicubic resize (``Image.BICUBIC``, Keys' cubic
  convolution with a = -0.5), the baseline of every SR paper since SRCNN;
* :func:`mean_fill` -- inpainting by the mean of the image's known pixels, per channel;
* :func:`telea` -- inpainting by OpenCV's fast marching method (Telea 2004, ``cv2.INPAINT_TELEA``):
  an existing library, not a re-implementation.

All read and return uint8 N x C x H x W tensors (C = 1 or 3); masks are N x 1 x H x W, 1 marking the hole.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from gankit.errors import ConfigError, GankitError
from gankit.metrics.restoration import as_hole_mask

#: The fill value of hole pixels in an inpainting input (uint8; ~0.0 on the [-1, 1] scale).
FILL_VALUE = 128


def _check(x: torch.Tensor, what: str) -> torch.Tensor:
    if not torch.is_tensor(x) or x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
        got = f"{x.dtype} {tuple(x.shape)}" if torch.is_tensor(x) else type(x).__name__
        raise GankitError(f"{what} needs uint8 images N x C x H x W with C = 1 or 3; got {got}.")
    return x.detach().cpu()


def _hwc(im: torch.Tensor) -> np.ndarray:
    """One C x H x W uint8 image as the contiguous H x W (gray) or H x W x 3 array PIL and OpenCV read."""
    a = im.numpy()
    return np.ascontiguousarray(a[0] if a.shape[0] == 1 else a.transpose(1, 2, 0))


def _chw(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.array(a[None] if a.ndim == 2 else a.transpose(2, 0, 1), dtype=np.uint8, order="C"))  # a writable copy


def bicubic_baseline(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """Upscale uint8 low-resolution images by ``scale`` with PIL's bicubic resize: N x C x sH x sW uint8."""
    from PIL import Image

    lr = _check(lr, "bicubic_baseline")
    if int(scale) != scale or scale < 1:
        raise ConfigError(f"scale must be a positive integer; got {scale!r}.")
    s = int(scale)
    h, w = lr.shape[-2:]
    out = [_chw(np.asarray(Image.fromarray(_hwc(im)).resize((w * s, h * s), Image.BICUBIC))) for im in lr]
    return torch.stack(out) if out else torch.empty(0, lr.shape[1], h * s, w * s, dtype=torch.uint8)


def mean_fill(x: torch.Tensor, mask: Any) -> torch.Tensor:
    """Fill each image's hole with the mean of its known pixels, per channel, rounded to the nearest integer.

    An image that is all hole gets :data:`FILL_VALUE`. Known pixels are returned unchanged.
    """
    x = _check(x, "mean_fill")
    m = as_hole_mask(mask, len(x), tuple(x.shape[-2:]))
    known = (~m).double()
    n_known = known.sum(dim=(2, 3))  # (N, 1)
    mean = (x.double() * known).sum(dim=(2, 3)) / n_known.clamp_min(1)  # (N, C)
    mean = torch.where(n_known > 0, mean, torch.full_like(mean, float(FILL_VALUE)))
    fill = mean.round().clamp(0, 255).to(torch.uint8)[:, :, None, None].expand_as(x)
    return torch.where(m.expand_as(x), fill, x)


def telea(x: torch.Tensor, mask: Any, radius: int = 3) -> torch.Tensor:
    """Inpaint each image's hole with ``cv2.inpaint(image, mask, radius, cv2.INPAINT_TELEA)``.

    ``radius``: the neighbourhood (pixels) each hole pixel is estimated from (OpenCV's
    ``inpaintRadius``; 3 is the value of OpenCV's examples). Gray and RGB images alike (OpenCV treats
    the channels alike, so RGB order needs no conversion to BGR). Known pixels are returned unchanged.
    """
    import cv2

    x = _check(x, "telea")
    if int(radius) != radius or radius < 1:
        raise ConfigError(f"telea radius must be a positive integer number of pixels; got {radius!r}.")
    m = as_hole_mask(mask, len(x), tuple(x.shape[-2:]))
    out = []
    for im, hole in zip(x, m):
        filled = cv2.inpaint(_hwc(im), np.ascontiguousarray(hole[0].numpy().astype(np.uint8)), int(radius), cv2.INPAINT_TELEA)
        out.append(_chw(np.asarray(filled, dtype=np.uint8).reshape(_hwc(im).shape)))
    return torch.stack(out) if out else x.clone()


#: Inpainting baselines by the name their rows carry in a report.
INPAINT_BASELINES = {"mean_fill": mean_fill, "telea": telea}

__all__ = ["FILL_VALUE", "INPAINT_BASELINES", "bicubic_baseline", "mean_fill", "telea"]
