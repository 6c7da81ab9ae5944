import math

import numpy as np
import pytest

from gankit.errors import GankitError
from gankit.metrics.classes import class_statistics, kl_to_uniform


def test_kl_known_answers():
    assert kl_to_uniform(np.full(10, 0.1)) == pytest.approx(0.0, abs=1e-12)
    assert kl_to_uniform(np.eye(10)[3]) == pytest.approx(math.log(10), rel=1e-12)
    assert kl_to_uniform(np.array([0.5, 0.5] + [0.0] * 8)) == pytest.approx(math.log(5), rel=1e-12)
    assert kl_to_uniform(np.array([3, 1, 0, 0])) == pytest.approx(0.75 * math.log(3) + 0.25 * math.log(1), rel=1e-12)


def test_class_statistics_histogram_kl_and_confidence():
    n = 1000
    logits = np.zeros((n, 10))
    logits[: n // 2, 0] = 20.0  # 500 confident class-0 predictions
    logits[n // 2 :, 1] = 1.0  # 500 class-1 predictions with p = e / (e + 9) = 0.23
    out = class_statistics(logits)
    assert out["histogram"][:2] == [0.5, 0.5] and sum(out["histogram"][2:]) == 0
    assert out["counts"][:2] == [500, 500]
    assert out["kl_uniform"] == pytest.approx(math.log(5), rel=1e-12)
    assert out["confident_fraction"] == pytest.approx(0.5)


def test_errors():
    with pytest.raises(GankitError):
        class_statistics(np.zeros((0, 10)))
    with pytest.raises(GankitError):
        kl_to_uniform(np.zeros(10))
