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


def test_hand_computed_k3_vs_k1_and_self_exclusion():
    """1-D points; every radius and membership below is worked out by hand (no tie sits on a ball's edge).

    real R = 0 1 2 3 4, generated G = 4.5 5.5 6.5 7.5. The radius of a point is the distance to its
    k-th nearest neighbour among the *other* points of its set; a point is in a set's manifold if it
    lies within some ball of that set (distance <= radius).

    k = 3, self excluded (the definition):
      R radii: 0 -> {1,2,3,4}: 3 | 1 -> {1,1,2,3}: 2 | 2 -> {1,1,2,2}: 2 | 3 -> 2 | 4 -> 3
        balls [-3,3] [-1,3] [0,4] [1,5] [1,7] -> union [-3, 7]: G 4.5 5.5 6.5 in, 7.5 out -> P = 3/4
      G radii: 4.5 -> {1,2,3}: 3 | 5.5 -> {1,1,2}: 2 | 6.5 -> 2 | 7.5 -> 3
        balls [1.5,7.5] [3.5,7.5] [4.5,8.5] [4.5,10.5] -> union [1.5, 10.5]: R 2 3 4 in -> R = 3/5
    k = 1: every radius is 1; R manifold [-1, 5] holds G 4.5 only -> P = 1/4;
      G manifold [3.5, 8.5] holds R 4 only -> R = 1/5.
    k = 3 counting each point as its own nearest neighbour (the bug this guards against): radii
      are the 2nd-nearest others: R 2 1 1 1 2 -> union [-2, 6] -> P = 2/4; G 2 1 1 2 -> [2.5, 9.5] -> R = 2/5.
    """
    real = np.array([0.0, 1.0, 2.0, 3.0, 4.0])[:, None]
    gen = np.array([4.5, 5.5, 6.5, 7.5])[:, None]
    k3 = precision_recall(gen, real, k=3)
    assert (k3["precision"], k3["recall"], k3["k"]) == (pytest.approx(3 / 4), pytest.approx(3 / 5), 3)
    assert k3["precision"] != pytest.approx(2 / 4) and k3["recall"] != pytest.approx(2 / 5)  # not the self-included answer
    assert precision_recall(gen, real) == k3  # k = 3 is the default
    k1 = precision_recall(gen, real, k=1)
    assert (k1["precision"], k1["recall"]) == (pytest.approx(1 / 4), pytest.approx(1 / 5))
    assert k3["f_score"] == pytest.approx(2 * (3 / 4) * (3 / 5) / (3 / 4 + 3 / 5))
    # Swapping the roles swaps the answers (precision is about generated samples, recall about real ones).
    swapped = precision_recall(real, gen, k=3)
    assert (swapped["precision"], swapped["recall"]) == (pytest.approx(3 / 5), pytest.approx(3 / 4))
