"""How super-resolution inputs are made: bicubic downsampling by three common implementations.

A model trained on one bicubic implementation learns that implementation's blur and aliasing, and does
worse on inputs a user made with another. The three differ enough to matter:

- ``pil``: ``PIL.Image.resize(..., Image.BICUBIC)``: antialiased (the kernel is widened by the scale
  factor, as MATLAB's ``imresize`` does), Keys' cubic with a = -0.5;
- ``opencv``: ``cv2.resize(..., interpolation=cv2.INTER_CUBIC)``: no antialiasing (the kernel keeps its
  width, so it samples 4 x 4 source pixels whatever the factor: aliased), a = -0.75;
- ``torch``: ``F.interpolate(mode="bicubic", antialias=True, align_corners=False)`` on float, then rounded
  and clamped to uint8: antialiased, and with ``antialias`` torch uses PIL's a = -0.5; it differs from
  ``pil`` by PIL's fixed-point rounding (about 0.1 grey level on average), from ``opencv`` by a lot.

``data.degradation: mixed`` (the default) trains on all three -- each training item's seed picks one, so
the choice is fresh every epoch and resumes exactly -- and evaluates on a fixed rotation (item ``i`` uses
``KERNELS[i % 3]``), so one number covers all three. A named kernel uses that one alone.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.errors import ConfigError, DataError

KERNELS = ("pil", "opencv", "torch")
DEGRADATIONS = ("mixed", *KERNELS)
#: Float memory bound for the torch kernel: images per interpolate call.
_CHUNK = 4096


def check_degradation(degradation: str) -> str:
    if degradation not in DEGRADATIONS:
        raise ConfigError(f"data.degradation {degradation!r}: expected one of {', '.join(DEGRADATIONS)}.")
    return degradation


def kernel_for(seed: int | None, index: int, degradation: str) -> str:
    """The bicubic implementation for one item: the named one, or under ``mixed`` the training key's
    ``seed`` picks (``seed % 3``), and evaluation (``seed`` None) rotates by item ``index``."""
    if check_degradation(degradation) != "mixed":
        return degradation
    return KERNELS[(index if seed is None else seed) % len(KERNELS)]


def _check(images: torch.Tensor, scale: int) -> None:
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise DataError(f"expected uint8 images (N, C, H, W), got {images.dtype} {tuple(images.shape)}.")
    if not isinstance(scale, int) or scale < 1:
        raise ConfigError(f"scale {scale!r}: expected an integer factor >= 1 (data.scale 2, 3 or 4).")
    h, w = images.shape[-2:]
    if h % scale or w % scale:
        raise DataError(
            f"{h} x {w} images do not divide by the scale factor {scale}; crop them to a multiple of {scale} "
            f"(data.image_size {scale * max(1, min(h, w) // scale)}, say) so the low-resolution image is exactly "
            f"1/{scale} of the high-resolution one."
        )


def _pil_resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """PIL bicubic of each image to (width, height); 3 channels as one RGB image, else channel by channel."""
    x = images.numpy()
    n, c = x.shape[:2]
    out = np.empty((n, c, size[1], size[0]), dtype=np.uint8)
    for i in range(n):
        if c == 3:
            out[i] = np.asarray(Image.fromarray(x[i].transpose(1, 2, 0)).resize(size, Image.Resampling.BICUBIC)).transpose(2, 0, 1)
        else:
            for j in range(c):
                out[i, j] = np.asarray(Image.fromarray(x[i, j]).resize(size, Image.Resampling.BICUBIC))
    return torch.from_numpy(out)


def _opencv_resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    import cv2

    x = images.numpy().transpose(0, 2, 3, 1)  # N, H, W, C: OpenCV's layout
    out = np.empty((len(x), size[1], size[0], x.shape[-1]), dtype=np.uint8)
    for i, im in enumerate(x):
        r = cv2.resize(np.ascontiguousarray(im), size, interpolation=cv2.INTER_CUBIC)
        out[i] = r.reshape(out.shape[1:])  # cv2 drops a single channel's axis
    return torch.from_numpy(out.transpose(0, 3, 1, 2).copy())


def _torch_resize(images: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    out = torch.empty((*images.shape[:2], size[1], size[0]), dtype=torch.uint8)
    for i in range(0, len(images), _CHUNK):
        y = F.interpolate(images[i : i + _CHUNK].float(), size=(size[1], size[0]), mode="bicubic", antialias=True,
                          align_corners=False)  # fmt: skip
        out[i : i + _CHUNK] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


_RESIZE = {"pil": _pil_resize, "opencv": _opencv_resize, "torch": _torch_resize}


def downsample(images: torch.Tensor, scale: int, kernel: str) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, C, H / scale, W / scale) on CPU with the bicubic ``kernel`` (module docstring)."""
    if kernel not in _RESIZE:
        raise ConfigError(f"kernel {kernel!r}: expected one of {', '.join(KERNELS)}.")
    _check(images, scale)
    h, w = images.shape[-2:]
    if len(images) == 0:
        return images.new_empty((0, images.shape[1], h // scale, w // scale))
    return _RESIZE[kernel](images.cpu().contiguous(), (w // scale, h // scale))


def downsample_mixed(images: torch.Tensor, scale: int, kernels: Sequence[str]) -> torch.Tensor:
    """Each image downsampled with its own kernel (``kernels[i]`` for image i), e.g. from :func:`kernel_for`."""
    if len(kernels) != len(images):
        raise DataError(f"{len(kernels)} kernels for {len(images)} images: one each.")
    _check(images, scale)
    h, w = images.shape[-2:]
    out = torch.empty((*images.shape[:2], h // scale, w // scale), dtype=torch.uint8)
    for k in sorted(set(kernels)):
        rows = torch.tensor([i for i, name in enumerate(kernels) if name == k])
        out[rows] = downsample(images[rows], scale, k)
    return out


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """uint8 (N, C, h, w) -> uint8 (N, C, h * scale, w * scale) by PIL bicubic: the classic SR baseline."""
    if lr.dtype != torch.uint8 or lr.ndim != 4:
        raise DataError(f"expected uint8 images (N, C, H, W), got {lr.dtype} {tuple(lr.shape)}.")
    if not isinstance(scale, int) or scale < 1:
        raise ConfigError(f"scale {scale!r}: expected an integer factor >= 1.")
    h, w = lr.shape[-2:]
    if len(lr) == 0:
        return lr.new_empty((0, lr.shape[1], h * scale, w * scale))
    return _pil_resize(lr.cpu().contiguous(), (w * scale, h * scale))
