"""Inpainting masks: a pure function of the seed, 1 = hole, within the stated size bounds."""

from __future__ import annotations

import hashlib
import math
from unittest import mock

import numpy as np
import pytest
import torch

from gankit.data import masks as M
from gankit.errors import ConfigError, DataError


def test_same_seed_same_bytes() -> None:
    for kind in M.MASK_KINDS:
        one, two = M.make_masks(kind, [3, 17, 2**61], 28, 28), M.make_masks(kind, [3, 17, 2**61], 28, 28)
        assert one.dtype == torch.uint8 and one.shape == (3, 1, 28, 28) and torch.equal(one, two)
        assert set(one.unique().tolist()) == {0, 1}
        assert not torch.equal(one[0], one[1])  # seeds differ, masks differ
    # Pinned bytes: a change in the drawing (or in NumPy's PCG64 / OpenCV's lines) changes every fixed
    # evaluation hole, so it must be deliberate.
    digest = hashlib.sha256(M.make_masks("mixed", range(8), 28, 28).numpy().tobytes()).hexdigest()
    assert digest == "55c6b8ec4059c2683d9af0ce169a532e151d45a9dabb3c684b0077ee5263aa48"


@pytest.mark.parametrize("h,w", [(28, 28), (64, 48), (9, 13)])
def test_box_sides(h: int, w: int) -> None:
    for seed in range(200):
        m = M.box_mask(seed, h, w)
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        bh, bw = rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1
        assert m.sum() == bh * bw  # one filled rectangle
        assert math.ceil(0.3 * h) <= bh <= math.floor(0.5 * h) and math.ceil(0.3 * w) <= bw <= math.floor(0.5 * w)


@pytest.mark.parametrize("side", [28, 64])
def test_stroke_area_and_thickness(side: int) -> None:
    areas = [M.stroke_mask(seed, side, side).mean() for seed in range(300)]
    assert min(areas) >= 0.10 and max(areas) <= 0.40
    with mock.patch("cv2.line", wraps=__import__("cv2").line) as line:
        M.stroke_mask(5, side, side)
    thick = {c.args[4] for c in line.call_args_list}
    assert line.called and thick <= set(range(round(2 * side / 28), round(3 * side / 28) + 1))


def test_mixed_alternates_and_errors() -> None:
    for seed in range(6):
        want = M.box_mask(seed, 28, 28) if seed % 2 == 0 else M.stroke_mask(seed, 28, 28)
        assert np.array_equal(M.mask_for("mixed", seed, 28, 28), want)
    with pytest.raises(ConfigError, match="data.mask 'circle'"):
        M.make_masks("circle", [0], 28, 28)
    with pytest.raises(DataError, match="too small"):
        M.box_mask(0, 3, 28)
