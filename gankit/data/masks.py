"""Inpainting hole masks, a pure function of a seed: the same seed gives the same bytes on every machine.

A mask is uint8 (H, W) with **1 marking the hole** (the pixels the generator must fill) and 0 the known
pixels. Two kinds, as in the inpainting literature:

- ``box``: one axis-aligned rectangle, each side 30-50 % of the image's side (Pathak et al.'s context
  encoder masks a centred square; a random place and aspect keeps a model from learning one position).
  At 28 x 28: 9-14 px a side, 10-25 % of the pixels.
- ``stroke``: 1-4 free-form strokes (Iizuka et al.; Yu et al.'s free-form masks), each a polyline of 2-4
  segments drawn with ``cv2.line`` (8-connected), 2-3 px thick at 28 px and thicker in proportion to the
  image side. A draw whose hole is outside 10-40 % of the image is redrawn from the same generator (so
  still deterministic); after 64 draws (never seen in practice) the mask falls back to a box.

``mixed`` alternates by seed parity: even seeds give a box, odd seeds strokes. Draws use NumPy's
``default_rng(seed)`` (PCG64: stable across NumPy versions by NumPy's policy).
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch

from gankit.errors import ConfigError, DataError

MASK_KINDS = ("box", "stroke", "mixed")
#: Box sides as fractions of the image side.
BOX_SIDE = (0.3, 0.5)
#: Accepted hole area of a stroke mask, as a fraction of the image.
STROKE_AREA = (0.10, 0.40)
_STROKE_TRIES = 64


def _check_size(h: int, w: int) -> None:
    if h < 4 or w < 4:
        raise DataError(f"a {h} x {w} mask is too small for a hole: masks need at least 4 x 4 pixels.")


def _box(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    lo, hi = BOX_SIDE
    bh = int(rng.integers(max(1, math.ceil(lo * h)), max(1, math.floor(hi * h)) + 1))
    bw = int(rng.integers(max(1, math.ceil(lo * w)), max(1, math.floor(hi * w)) + 1))
    top, left = int(rng.integers(0, h - bh + 1)), int(rng.integers(0, w - bw + 1))
    m = np.zeros((h, w), dtype=np.uint8)
    m[top : top + bh, left : left + bw] = 1
    return m


def box_mask(seed: int, h: int, w: int) -> np.ndarray:
    """One axis-aligned box, sides 30-50 % of the image's; uint8 (h, w), 1 = hole."""
    _check_size(h, w)
    return _box(np.random.default_rng(seed), h, w)


def _strokes(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    import cv2

    side = min(h, w)
    m = np.zeros((h, w), dtype=np.uint8)
    for _ in range(int(rng.integers(1, 5))):
        thickness = max(1, round(int(rng.integers(2, 4)) * side / 28))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        for _ in range(int(rng.integers(2, 5))):
            angle = rng.uniform(0, 2 * math.pi)
            length = rng.uniform(0.2, 0.45) * side
            nx = int(np.clip(round(x + length * math.cos(angle)), 0, w - 1))
            ny = int(np.clip(round(y + length * math.sin(angle)), 0, h - 1))
            cv2.line(m, (x, y), (nx, ny), 1, thickness)
            x, y = nx, ny
    return m


def stroke_mask(seed: int, h: int, w: int) -> np.ndarray:
    """1-4 free-form strokes covering 10-40 % of the image; uint8 (h, w), 1 = hole (module docstring)."""
    _check_size(h, w)
    rng = np.random.default_rng(seed)
    lo, hi = STROKE_AREA
    for _ in range(_STROKE_TRIES):
        m = _strokes(rng, h, w)
        if lo <= m.mean() <= hi:
            return m
    return _box(rng, h, w)


def check_mask_kind(kind: str) -> str:
    if kind not in MASK_KINDS:
        raise ConfigError(f"data.mask {kind!r}: expected one of {', '.join(MASK_KINDS)}.")
    return kind


def mask_for(kind: str, seed: int, h: int, w: int) -> np.ndarray:
    """The mask of ``kind`` for ``seed``; ``mixed``: a box for even seeds, strokes for odd ones."""
    if check_mask_kind(kind) == "mixed":
        kind = "box" if seed % 2 == 0 else "stroke"
    return box_mask(seed, h, w) if kind == "box" else stroke_mask(seed, h, w)


def make_masks(kind: str, seeds: Sequence[int], h: int, w: int) -> torch.Tensor:
    """uint8 (N, 1, h, w) masks in {0, 1}, one per seed (the same seeds give the same bytes)."""
    check_mask_kind(kind)
    out = torch.zeros((len(seeds), 1, h, w), dtype=torch.uint8)
    for i, s in enumerate(seeds):
        out[i, 0] = torch.from_numpy(mask_for(kind, int(s), h, w))
    return out
