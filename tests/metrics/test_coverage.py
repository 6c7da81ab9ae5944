import math

import numpy as np
import pytest
import torch

from gankit.data.toy2d import mixture_params, sample_mixture
from gankit.errors import GankitError
from gankit.metrics.coverage import N_SAMPLES, load_mixture, mixture_coverage, mode_coverage, plot_coverage


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_true_mixture_covers_all_modes(name, k):
    x = sample_mixture(name, 5000, torch.Generator().manual_seed(0))
    res = mixture_coverage(x, name)
    assert res.n_samples == N_SAMPLES == 2500  # the protocol's sample count
    assert res.modes_covered == k and res.n_modes == k
    assert 0.975 <= res.hq_fraction <= 0.998  # expected 1 - exp(-4.5) = 0.989
    assert res.reverse_kl is not None and 0 <= res.reverse_kl < 0.05


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_single_mode_gives_one_mode(name, k):
    means, sigma = mixture_params(name)
    x = means[3] + sigma * torch.randn(2500, 2, generator=torch.Generator().manual_seed(1))
    res = mixture_coverage(x, name)
    assert res.modes_covered == 1 and res.mode_counts[3] == sum(res.mode_counts)
    assert res.reverse_kl == pytest.approx(math.log(k), rel=1e-12)


def test_known_counts_and_hq_fraction():
    means = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    pts = np.array([[0.1, 0.0], [0.0, 0.2], [10.0, 0.1], [5.0, 5.0]])  # last one is low quality
    res = mode_coverage(pts, means, sigma=0.1)
    assert res.mode_counts == [2, 1, 0, 0] and res.modes_covered == 2
    assert res.hq_fraction == pytest.approx(0.75)
    p = np.array([2 / 3, 1 / 3])
    assert res.reverse_kl == pytest.approx(float(np.sum(p * np.log(p * 4))), rel=1e-12)


def test_no_high_quality_sample_gives_none_not_inf():
    means, sigma = load_mixture("ring8")
    res = mode_coverage(np.full((100, 2), 50.0), means, sigma)
    assert res.modes_covered == 0 and res.hq_fraction == 0.0 and res.reverse_kl is None


def test_scatter_plot_png(tmp_path):
    x = sample_mixture("grid25", 2500, torch.Generator().manual_seed(0))
    means, sigma = load_mixture("grid25")
    path = plot_coverage(x, means, sigma, tmp_path / "cov.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_errors():
    means, sigma = load_mixture("ring8")
    with pytest.raises(GankitError, match="N, 2"):
        mode_coverage(np.zeros((10, 3)), means, sigma)
    with pytest.raises(GankitError, match="mixture"):
        mixture_coverage(np.zeros((10, 2)), "ring9")
