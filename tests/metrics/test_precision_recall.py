import numpy as np
import pytest

from gankit.errors import GankitError
from gankit.metrics.precision_recall import precision_recall


def blob(rng, center, n, d=2):
    return rng.normal(size=(n, d)) + np.asarray(center, dtype=float)


def test_identical_sets_give_one():
    f = np.random.default_rng(0).normal(size=(300, 8))
    out = precision_recall(f, f.copy())
    assert out["precision"] == 1.0 and out["recall"] == 1.0


def test_disjoint_far_apart_clusters_give_zero():
    rng = np.random.default_rng(1)
    out = precision_recall(blob(rng, [0, 0], 200), blob(rng, [100, 100], 200))
    assert out["precision"] == 0.0 and out["recall"] == 0.0


def test_half_overlap_exact():
    rng = np.random.default_rng(2)
    shared, only_gen, only_real = blob(rng, [0, 0], 150), blob(rng, [100, 0], 150), blob(rng, [0, 100], 150)
    out = precision_recall(np.concatenate([shared, only_gen]), np.concatenate([shared, only_real]))
    assert out["precision"] == pytest.approx(0.5) and out["recall"] == pytest.approx(0.5)


def test_half_overlap_fresh_samples_is_about_half():
    rng = np.random.default_rng(3)
    gen = np.concatenate([blob(rng, [0, 0], 500), blob(rng, [100, 0], 500)])
    real = np.concatenate([blob(rng, [0, 0], 500), blob(rng, [0, 100], 500)])
    out = precision_recall(gen, real)
    assert 0.4 <= out["precision"] <= 0.5 and 0.4 <= out["recall"] <= 0.5


def test_mode_dropping_lowers_recall_not_precision():
    rng = np.random.default_rng(4)
    real = np.concatenate([blob(rng, [0, 0], 400), blob(rng, [50, 0], 400)])
    gen = blob(rng, [0, 0], 800)  # covers one of two modes
    out = precision_recall(gen, real)
    assert out["precision"] > 0.9 and 0.4 < out["recall"] < 0.55


def test_errors():
    with pytest.raises(GankitError):
        precision_recall(np.zeros((3, 2)), np.zeros((10, 2)))
    with pytest.raises(GankitError):
        precision_recall(np.zeros((10, 2)), np.zeros((10, 3)))
