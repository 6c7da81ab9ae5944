"""The downstream classifier's metrics against hand computations, and its fixed recipe on tiny data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gankit.augment.baselines import affine, classical_augment, random_oversample
from gankit.augment.classifier import confusion_matrix, evaluate_classifier, metrics_from_confusion, train_classifier
from gankit.errors import ConfigError

# rows: true class, columns: predicted. Class 2 is the rare one.
C = [[50, 3, 2],
     [4, 40, 6],
     [5, 1, 4]]  # fmt: skip


def test_metrics_from_a_small_confusion_matrix_match_hand_computation():
    m = metrics_from_confusion(C, rare_class=2)
    # by hand: recall = diag / row sums, precision = diag / column sums, F1 = 2PR / (P + R)
    recall = [50 / 55, 40 / 50, 4 / 10]
    precision = [50 / 59, 40 / 44, 4 / 12]
    f1 = [2 * p * r / (p + r) for p, r in zip(precision, recall)]
    assert m["rare_recall"] == pytest.approx(0.4)
    assert m["rare_precision"] == pytest.approx(1 / 3)
    assert m["rare_f1"] == pytest.approx(2 * (1 / 3) * 0.4 / (1 / 3 + 0.4))  # = 4/11
    assert m["rare_f1"] == pytest.approx(4 / 11)
    assert m["balanced_accuracy"] == pytest.approx(sum(recall) / 3)
    assert m["macro_f1"] == pytest.approx(sum(f1) / 3)
    assert m["accuracy"] == pytest.approx(94 / 115)
    assert m["per_class"]["support"] == [55, 50, 10] and m["n"] == 115
    assert m["per_class"]["precision"] == pytest.approx(precision)


def test_absent_and_never_predicted_classes_follow_sklearn_conventions():
    # class 1 never occurs and is never predicted; class 2 occurs but is never predicted
    c = [[8, 0, 0], [0, 0, 0], [2, 0, 0]]
    m = metrics_from_confusion(c, rare_class=2)
    assert m["rare_recall"] == 0.0 and m["rare_precision"] == 0.0 and m["rare_f1"] == 0.0
    assert m["per_class"]["recall"][1] is None and m["per_class"]["f1"][1] is None
    assert m["balanced_accuracy"] == pytest.approx((1.0 + 0.0) / 2)  # over the classes present in the labels
    assert m["macro_f1"] == pytest.approx((2 * 8 / (8 + 10) + 0.0) / 2)  # over classes in labels or predictions


def test_confusion_matrix_orientation_and_evaluate():
    y = torch.tensor([0, 0, 1, 2, 2, 2])
    pred = torch.tensor([0, 1, 1, 2, 0, 2])
    c = confusion_matrix(y, pred, 3)
    assert c.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]

    class Fixed:  # a hand-made "classifier" that predicts `pred`
        num_classes = 3

        def predict(self, x):
            return pred

    m = evaluate_classifier(Fixed(), torch.zeros(6, 1, 4, 4, dtype=torch.uint8), y, rare_class=2)  # type: ignore[arg-type]
    assert m["rare_recall"] == pytest.approx(2 / 3) and m["rare_precision"] == pytest.approx(1.0)
    assert m["balanced_accuracy"] == pytest.approx((0.5 + 1 + 2 / 3) / 3)


def test_bad_inputs_are_clear():
    with pytest.raises(ConfigError, match="K x K"):
        metrics_from_confusion([[1, 2, 3]], 0)
    with pytest.raises(ConfigError, match="rare_class 3"):
        metrics_from_confusion(C, 3)
    with pytest.raises(ConfigError, match="uint8"):
        train_classifier(torch.zeros(4, 1, 8, 8), torch.zeros(4, dtype=torch.long))


def _blobs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two classes: a bright square on the left (0) or the right (1) of a dark 12x12 image."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randint(0, 40, (n, 1, 12, 12), generator=g).to(torch.uint8)
    for i in range(n):
        c = 1 if y[i] == 0 else 7
        x[i, 0, 4:8, c : c + 4] = 230
    return x, y


def test_train_classifier_learns_is_seeded_and_takes_extra():
    x, y = _blobs(192, 0)
    xt, yt = _blobs(64, 1)
    a = train_classifier(x, y, seed=3, epochs=3)
    b = train_classifier(x, y, seed=3, epochs=3)
    assert torch.equal(a.predict_proba(xt), b.predict_proba(xt))  # the same seed, the same model
    m = evaluate_classifier(a, xt, yt, rare_class=1)
    assert m["accuracy"] > 0.9, m
    p = a.predict_proba(xt)
    assert p.shape == (64, 2) and torch.allclose(p.sum(1), torch.ones(64))
    extra = train_classifier(x, y, seed=3, epochs=1, extra=(xt, yt), num_classes=3)
    assert extra.n_train == 256 and extra.num_classes == 3
    with pytest.raises(ConfigError, match="trained on"):
        a.predict_proba(torch.zeros(2, 1, 8, 8, dtype=torch.uint8))


def test_oversampling_and_classical_augmentation_draw_only_the_class():
    x, y = _blobs(64, 0)
    xo, yo = random_oversample(x, y, 1, 20, seed=0)
    members = {bytes(im.numpy()) for im in x[y == 1]}
    assert len(xo) == 20 and (yo == 1).all() and all(bytes(im.numpy()) in members for im in xo)
    xa, ya = classical_augment(x, y, 1, 20, seed=0)
    assert xa.shape == (20, 1, 12, 12) and xa.dtype == torch.uint8 and (ya == 1).all()
    assert torch.equal(xa, classical_augment(x, y, 1, 20, seed=0)[0])
    assert not any(bytes(im.numpy()) in members for im in xa)  # every copy was moved
    with pytest.raises(ConfigError, match="class 5 has no images"):
        random_oversample(x, y, 5, 3)


def test_affine_keeps_the_picture():
    img = torch.zeros(1, 1, 28, 28, dtype=torch.uint8)
    img[0, 0, 8:20, 8:20] = 255  # a centred square: every small affine map keeps most of it in place
    out = affine(img.repeat(16, 1, 1, 1), seed=1).float()
    inside, outside = out[:, 0, 11:17, 11:17].mean(), out[:, 0, :4, :].mean()
    assert inside > 200 and outside < 5 and math.isfinite(float(out.sum()))
