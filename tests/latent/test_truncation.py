"""Truncation resamples exactly the entries that are out of range, and nothing else."""

from __future__ import annotations

import pytest
import torch

from gankit.errors import ConfigError
from gankit.latent import truncate, truncated_noise


def test_truncation_resamples_exactly_the_out_of_range_entries():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(200, 16, generator=g)
    t = truncate(z, 0.5, torch.Generator().manual_seed(1))
    inside = z.abs() <= 0.5
    assert torch.equal(t[inside], z[inside])  # untouched
    assert (t.abs() <= 0.5).all()  # every entry now inside
    assert not torch.equal(t[~inside], z[~inside]) and (~inside).sum() > 0
    # the redrawn entries are fresh normal draws, not clamps to +-0.5
    assert (t[~inside].abs() < 0.5).float().mean() > 0.9


def test_truncated_noise_is_seeded_and_optional():
    a, b = truncated_noise(8, 4, 1.0, seed=3), truncated_noise(8, 4, 1.0, seed=3)
    assert torch.equal(a, b) and (a.abs() <= 1.0).all()
    assert torch.equal(truncated_noise(8, 4, None, seed=3), torch.randn(8, 4, generator=torch.Generator().manual_seed(3)))
    with pytest.raises(ConfigError, match="threshold"):
        truncate(a, 0.0)
