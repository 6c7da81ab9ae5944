import numpy as np
import pytest

from gankit.errors import GankitError
from gankit.metrics.inception_score import inception_score


def confident_logits(labels, k=10, scale=50.0):
    z = np.zeros((len(labels), k))
    z[np.arange(len(labels)), labels] = scale
    return z


def test_uniform_confident_over_10_classes_is_10():
    logits = confident_logits(np.arange(1000) % 10)
    assert inception_score(logits, splits=1)["mean"] == pytest.approx(10.0, rel=1e-6)
    # 10 shuffled splits of 1000: class counts per split are multinomial, exp(H) is ~10 * exp(-9 / 2000)
    out = inception_score(confident_logits(np.arange(10000) % 10))
    assert 9.9 < out["mean"] <= 10.0 + 1e-9 and out["std"] < 0.05


def test_all_one_class_is_1():
    out = inception_score(confident_logits(np.zeros(500, dtype=int)))
    assert out["mean"] == pytest.approx(1.0, abs=1e-9)


def test_uninformative_predictions_are_1():
    assert inception_score(np.zeros((200, 10)))["mean"] == pytest.approx(1.0, abs=1e-12)


def test_two_balanced_classes_is_2():
    assert inception_score(confident_logits(np.arange(400) % 2), splits=1)["mean"] == pytest.approx(2.0, rel=1e-6)


def test_errors():
    with pytest.raises(GankitError):
        inception_score(np.zeros((5, 10)))  # fewer samples than splits
    with pytest.raises(GankitError):
        inception_score(np.zeros(10))
