import numpy as np
import pytest
import scipy.linalg

from gankit.errors import GankitError
from gankit.metrics.fid import feature_statistics, fid_from_features, frechet_distance


def scipy_fid(mu1, s1, mu2, s2):
    """The textbook formula with scipy's matrix square root (independent of torch-fidelity)."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    covmean = np.real(covmean)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


@pytest.mark.parametrize("d,seed", [(2, 0), (16, 1), (64, 2), (128, 3)])
def test_frechet_matches_scipy_sqrtm(d, seed):
    rng = np.random.default_rng(seed)
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = random_spd(rng, d), random_spd(rng, d)
    ours = frechet_distance(mu1, s1, mu2, s2)
    ref = scipy_fid(mu1, s1, mu2, s2)
    assert ours == pytest.approx(ref, rel=1e-6)
    assert frechet_distance(mu2, s2, mu1, s1) == pytest.approx(ref, rel=1e-6)  # symmetric


def test_frechet_known_answer_diagonal():
    # 1D-separable: sum_i (m1-m2)^2 + (sqrt(a) - sqrt(b))^2
    mu1, mu2 = np.array([0.0, 1.0]), np.array([3.0, 1.0])
    s1, s2 = np.diag([4.0, 1.0]), np.diag([1.0, 9.0])
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(9.0 + (2 - 1) ** 2 + (1 - 3) ** 2, rel=1e-12)


def test_fid_of_identical_sets_is_zero():
    f = np.random.default_rng(0).normal(size=(500, 32))
    assert abs(fid_from_features(f, f.copy())) < 1e-8


def test_fid_grows_with_shift():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(2000, 8)), rng.normal(size=(2000, 8))
    small, large = fid_from_features(a, b), fid_from_features(a, b + 1.0)
    assert small < 0.1 and large == pytest.approx(8.0, rel=0.1)


def test_statistics_are_float64_and_match_numpy():
    f = np.random.default_rng(0).normal(size=(300, 5)).astype(np.float32)
    mu, sigma = feature_statistics(f)
    assert mu.dtype == np.float64 and sigma.dtype == np.float64
    np.testing.assert_allclose(mu, f.astype(np.float64).mean(0), rtol=1e-12)
    np.testing.assert_allclose(sigma, np.cov(f.astype(np.float64), rowvar=False), rtol=1e-12)


def test_mismatched_statistics_are_a_clear_error():
    with pytest.raises(GankitError, match="do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))
    with pytest.raises(GankitError, match="at least 2"):
        feature_statistics(np.zeros((1, 3)))
