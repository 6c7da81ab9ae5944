import numpy as np
import pytest

from gankit.errors import GankitError
from gankit.metrics.kid import kid_from_features


def unbiased_mmd2_poly(x, y):
    """Independent implementation: unbiased MMD^2, k(a, b) = (a.b / d + 1)^3."""
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1.0) ** 3  # noqa: E731
    m, n = len(x), len(y)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return (kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * kxy.mean()


def test_point_masses_known_answer():
    a = np.tile([[1.0, 0.0]], (50, 1))
    b = np.tile([[0.0, 1.0]], (50, 1))
    out = kid_from_features(a, b, subsets=5, subset_size=20)
    # k(a,a) = k(b,b) = (1/2 + 1)^3 = 3.375, k(a,b) = 1  ->  3.375 + 3.375 - 2
    assert out["mean"] == pytest.approx(4.75, rel=1e-12)
    assert out["std"] == pytest.approx(0.0, abs=1e-12)


def test_full_subset_equals_independent_formula():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(200, 16)), rng.normal(0.3, 1.0, size=(200, 16))
    out = kid_from_features(x, y, subsets=3, subset_size=200)  # subsets are permutations: MMD is invariant
    assert out["mean"] == pytest.approx(unbiased_mmd2_poly(x, y), rel=1e-5)  # float32 kernels


def test_same_distribution_is_near_zero_and_shift_is_positive():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(1500, 16)), rng.normal(size=(1500, 16))
    same = kid_from_features(x, y, subsets=20, subset_size=500, seed=3)
    shifted = kid_from_features(x, y + 0.5, subsets=20, subset_size=500, seed=3)
    assert abs(same["mean"]) < 3 * same["std"] + 1e-3
    assert shifted["mean"] > 10 * abs(same["mean"]) and shifted["mean"] > 0.05


def test_subset_size_shrinks_to_smallest_set_and_is_seeded():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(50, 4)), rng.normal(size=(80, 4))
    a = kid_from_features(x, y, seed=7)
    b = kid_from_features(x, y, seed=7)
    assert a["subset_size"] == 50 and a == b


def test_errors():
    with pytest.raises(GankitError):
        kid_from_features(np.zeros((10, 3)), np.zeros((10, 4)))
    with pytest.raises(GankitError):
        kid_from_features(np.zeros((1, 3)), np.zeros((10, 3)))
