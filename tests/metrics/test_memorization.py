import numpy as np
import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.memorization import memorization_ratios, nearest_neighbours, pixel_vectors, plot_closest_pairs


def smooth_images(n, seed):
    """Random low-frequency 1 x 16 x 16 images (a continuous distribution, unlike iid pixel noise)."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 1, 4, 4, generator=g)
    return (torch.nn.functional.interpolate(low, size=(16, 16), mode="bilinear") * 255).round().to(torch.uint8)


def test_nearest_neighbours_match_brute_force():
    rng = np.random.default_rng(0)
    q, r = rng.normal(size=(70, 9)).astype(np.float32), rng.normal(size=(300, 9)).astype(np.float32)
    d, i = nearest_neighbours(torch.from_numpy(q), torch.from_numpy(r), max_block_elems=1000)  # many chunks
    full = np.sqrt(((q[:, None].astype(np.float64) - r[None].astype(np.float64)) ** 2).sum(-1))
    np.testing.assert_array_equal(i, full.argmin(1))
    np.testing.assert_allclose(d, full.min(1), rtol=1e-6)


def test_nearest_neighbours_exclude_self():
    r = torch.from_numpy(np.random.default_rng(1).normal(size=(50, 4)).astype(np.float32))
    d, i = nearest_neighbours(r, r, exclude=torch.arange(50))
    assert (i != np.arange(50)).all() and (d > 0).all()


def test_copies_of_training_images_give_ratio_zero():
    train, held = smooth_images(600, 0), smooth_images(600, 1)
    gen = train[torch.randperm(600, generator=torch.Generator().manual_seed(2))[:200]]
    res = memorization_ratios(pixel_vectors(gen), pixel_vectors(train), pixel_vectors(held))
    assert res.ratio_mean < 1e-5 and res.ratio_median < 1e-5
    assert (res.d_train == 0).all()


def test_independent_samples_give_ratio_about_one():
    train, held, gen = smooth_images(600, 0), smooth_images(600, 1), smooth_images(300, 2)
    res = memorization_ratios(pixel_vectors(gen), pixel_vectors(train), pixel_vectors(held))
    assert 0.9 < res.ratio_median < 1.1 and 0.9 < res.ratio_mean < 1.15
    assert 0.9 < res.baseline_median < 1.1  # real held-out images: the no-memorisation value


def test_larger_training_set_lowers_the_baseline_too():
    train, held, gen = smooth_images(3000, 0), smooth_images(500, 1), smooth_images(300, 2)
    res = memorization_ratios(pixel_vectors(gen), pixel_vectors(train), pixel_vectors(held), baseline_n=300)
    assert res.ratio_median < 1.0 and res.baseline_median < 1.0
    assert abs(res.ratio_median - res.baseline_median) < 0.1  # same distribution: compare with the baseline


def test_copy_of_held_out_image_is_finite(random_images):
    train, held = random_images(50, (1, 8, 8), 0), random_images(50, (1, 8, 8), 1)
    res = memorization_ratios(pixel_vectors(held[:5]), pixel_vectors(train), pixel_vectors(held))
    assert np.isfinite(res.ratio_mean) and res.ratio_median > 1e3


def test_closest_pairs_png(tmp_path, random_images):
    train = random_images(40, (1, 28, 28), 0)
    gen = torch.cat([train[:5], random_images(20, (1, 28, 28), 1)])
    res = memorization_ratios(pixel_vectors(gen), pixel_vectors(train), pixel_vectors(random_images(40, (1, 28, 28), 2)))
    path = plot_closest_pairs(gen, train, res.d_train, res.train_index, tmp_path / "pairs.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
    rgb = random_images(20, (3, 16, 16), 3)
    path = plot_closest_pairs(rgb, rgb, np.zeros(20), np.arange(20), tmp_path / "rgb.png", k=16)
    assert path.stat().st_size > 0


def test_errors():
    with pytest.raises(GankitError):
        memorization_ratios(torch.zeros(3, 4), torch.zeros(0, 4), torch.zeros(3, 4))
    with pytest.raises(GankitError):
        nearest_neighbours(torch.zeros(3, 4), torch.zeros(3, 5))
