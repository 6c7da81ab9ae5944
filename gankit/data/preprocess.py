"""The CycleGAN/pix2pix repo's preprocessing, with seeded draws so a resumed run sees the same crops.

``data.preprocess`` (``L`` = ``data.load_size``, default ``data.image_size``; ``S`` = ``data.image_size``,
the repo's ``crop_size``):

- ``resize_and_crop``: resize to L x L, then crop S x S;
- ``crop``: crop S x S from the image as it is;
- ``scale_width``: width to L, height keeping the aspect ratio (at least S); no crop, so sizes follow the images;
- ``scale_width_and_crop``: ``scale_width``, then crop S x S;
- ``none``: only round each side to the nearest multiple of 4 (what strided networks need);

then a horizontal flip with probability 1/2 unless ``data.no_flip``. Resampling is bicubic, as in the repo.
Training draws the crop offset and the flip from a per-item seed (a pure function of (seed, epoch)):
A and B of a pair share one draw, so they get the same crop and flip. Evaluation (``seed=None``) takes
the center crop without a flip, so held-out images are the same every time (the repo crops randomly at
test time too; a metric should not depend on that).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps

from gankit.data.folder import _BAD_IMAGE, _SKIP_HINT, _check_size, _to_8bit
from gankit.errors import ConfigError, DataError

MODES = ("resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none")
_CROPS = ("resize_and_crop", "crop", "scale_width_and_crop")
#: EXIF orientations that rotate by 90 degrees: the decoded image's width and height are swapped.
_SWAPS_SIDES = (5, 6, 7, 8)


@dataclass(frozen=True)
class Draw:
    """Where to crop (offset into the resized image) and whether to flip."""

    left: int
    top: int
    flip: bool


@dataclass(frozen=True)
class Preprocess:
    """One preprocessing setting; methods take an image's (width, height)."""

    mode: str
    load_size: int
    crop_size: int
    flip: bool

    @classmethod
    def from_config(cls, cfg: Any) -> "Preprocess":
        if cfg.preprocess not in MODES:
            raise ConfigError(f"data.preprocess {cfg.preprocess!r}: expected one of {', '.join(MODES)}.")
        load = cfg.load_size or cfg.image_size
        if cfg.preprocess in ("resize_and_crop", "scale_width_and_crop") and load < cfg.image_size:
            raise ConfigError(
                f"data.load_size {load} is smaller than data.image_size {cfg.image_size}: {cfg.preprocess} "
                f"resizes to load_size and then crops image_size from it; set load_size >= image_size."
            )
        return cls(cfg.preprocess, load, cfg.image_size, not cfg.no_flip)

    @property
    def crops(self) -> bool:
        """Whether every output is ``crop_size`` square (else its size follows the image)."""
        return self.mode in _CROPS

    def resized(self, w: int, h: int) -> tuple[int, int]:
        """The size after the resize step (before any crop)."""
        L, S = self.load_size, self.crop_size
        if self.mode == "resize_and_crop":
            return L, L
        if self.mode in ("scale_width", "scale_width_and_crop"):
            return (w, h) if w == L and h >= S else (L, max(int(L * h / w), S))
        if self.mode == "none":
            return max(4, int(round(w / 4) * 4)), max(4, int(round(h / 4) * 4))
        return w, h

    def output_size(self, w: int, h: int) -> tuple[int, int]:
        return (self.crop_size, self.crop_size) if self.crops else self.resized(w, h)

    def check(self, w: int, h: int, path: Path | str) -> None:
        """A DataError when the crop does not fit an image of this size."""
        rw, rh = self.resized(w, h)
        if self.crops and (rw < self.crop_size or rh < self.crop_size):
            raise DataError(
                f"{path}: {w} x {h} pixels ({rw} x {rh} after {self.mode}) is smaller than the "
                f"{self.crop_size} x {self.crop_size} crop (data.image_size); lower data.image_size, "
                f"or use preprocess resize_and_crop."
            )

    def draw(self, w: int, h: int, seed: int | None) -> Draw:
        """The crop offset and flip for an image of (w, h); ``seed=None``: center crop, no flip."""
        rw, rh = self.resized(w, h)
        free_w, free_h = (rw - self.crop_size, rh - self.crop_size) if self.crops else (0, 0)
        if seed is None:
            return Draw(free_w // 2, free_h // 2, False)
        rng = random.Random(seed)
        left, top = rng.randint(0, max(0, free_w)), rng.randint(0, max(0, free_h))
        return Draw(left, top, self.flip and rng.random() < 0.5)

    def apply(self, img: Image.Image, d: Draw) -> Image.Image:
        """Resize, crop and flip ``img`` as ``d`` says."""
        size = self.resized(*img.size)
        if size != img.size:
            img = img.resize(size, Image.Resampling.BICUBIC)
        if self.crops:
            img = img.crop((d.left, d.top, d.left + self.crop_size, d.top + self.crop_size))
        return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if d.flip else img


def header_size(path: Path, max_pixels: int) -> tuple[int, int]:
    """(width, height) as decoded (EXIF rotation applied), from the header alone; DataError naming a bad file."""
    try:
        if path.stat().st_size == 0:
            raise OSError("the file is empty (0 bytes)")
        with Image.open(path) as im:
            _check_size(im, max_pixels)
            w, h = im.size
            orientation = im.getexif().get(0x0112)
    except _BAD_IMAGE as e:
        raise DataError(f"{path}: not a readable image ({type(e).__name__}: {e}). {_SKIP_HINT}") from None
    return (h, w) if orientation in _SWAPS_SIDES else (w, h)


def open_image(path: Path, max_pixels: int, mode: str = "RGB") -> Image.Image:
    """Decode ``path`` to 8-bit ``mode`` (``L`` or ``RGB``), EXIF rotation applied; DataError naming a bad file."""
    try:
        with Image.open(path) as im:
            _check_size(im, max_pixels)
            if im.mode == "P" and "transparency" in im.info:
                im = im.convert("RGBA")
            img = _to_8bit(im).convert(mode)
    except _BAD_IMAGE as e:
        raise DataError(f"{path}: cannot read image ({type(e).__name__}: {e}). {_SKIP_HINT}") from None
    ImageOps.exif_transpose(img, in_place=True)
    return img


def to_uint8(img: Image.Image, channels: int) -> torch.Tensor:
    """uint8 (C, H, W) with ``channels`` 1 (luma) or 3 (gray repeated when the image is gray)."""
    t = torch.from_numpy(np.array(img.convert("L" if channels == 1 else "RGB")))
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()
