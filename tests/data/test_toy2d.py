from __future__ import annotations

import math

import pytest
import torch

from gankit.data.toy2d import MIXTURES, mixture_params, sample_mixture
from gankit.errors import DataError


def test_mode_layouts() -> None:
    ring, s_ring = MIXTURES["ring8"]
    assert ring.shape == (8, 2) and ring.dtype == torch.float32 and s_ring == 0.01
    angles = torch.tensor([2 * math.pi * i / 8 for i in range(8)])
    torch.testing.assert_close(ring, torch.stack([angles.cos(), angles.sin()], 1))
    grid, s_grid = MIXTURES["grid25"]
    assert grid.shape == (25, 2) and s_grid == 0.05
    assert {tuple(p) for p in grid.tolist()} == {(x, y) for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)}


@pytest.mark.parametrize("name", ["ring8", "grid25"])
def test_sample_statistics(name: str) -> None:
    means, sigma = mixture_params(name)
    n = 20_000
    x = sample_mixture(name, n, torch.Generator().manual_seed(1))
    assert x.shape == (n, 2) and x.dtype == torch.float32
    mode = torch.cdist(x, means).argmin(1)
    counts = torch.bincount(mode, minlength=len(means)).float()
    expected = n / len(means)
    assert (counts - expected).abs().max() < 5 * math.sqrt(expected)  # uniform mode choice
    for k in range(len(means)):
        pts = x[mode == k]
        assert (pts.mean(0) - means[k]).abs().max() < 5 * sigma / math.sqrt(len(pts))
        assert pts.std(0).sub(sigma).abs().max() < 0.1 * sigma
    assert torch.cdist(x, means).min(1).values.max() < 6 * sigma  # every point near its mode


def test_ring_radius_is_one() -> None:
    r = sample_mixture("ring8", 20_000, torch.Generator().manual_seed(0)).norm(dim=1)
    assert abs(r.mean().item() - 1.0) < 1e-3 and abs(r.std().item() - 0.01) < 1e-3


def test_generator_makes_it_reproducible() -> None:
    a = sample_mixture("grid25", 100, torch.Generator().manual_seed(3))
    b = sample_mixture("grid25", 100, torch.Generator().manual_seed(3))
    c = sample_mixture("grid25", 100, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_params_are_a_copy_and_unknown_names_listed() -> None:
    means, _ = mixture_params("ring8")
    means.zero_()
    assert MIXTURES["ring8"][0].abs().sum() > 0
    with pytest.raises(DataError, match="'ring9'.*valid: grid25, ring8"):
        mixture_params("ring9")
