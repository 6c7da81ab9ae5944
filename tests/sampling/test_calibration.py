"""The logistic recalibration of D's logit, against hand computations and a well-specified case."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.sampling.calibration import Calibration, fit_logistic


def test_two_score_values_give_the_class_frequencies_by_hand():
    # With scores 0 and 1 only, the logistic MLE reproduces each group's (balanced) frequency of "real":
    # s = 0: 3 real, 1 fake -> sigmoid(b) = 3/4, b = log 3; s = 1: 1 real, 3 fake -> sigmoid(a + b) = 1/4, a = -2 log 3.
    cal = fit_logistic(torch.tensor([0.0, 0.0, 0.0, 1.0]), torch.tensor([0.0, 1.0, 1.0, 1.0]))
    assert cal.b == pytest.approx(math.log(3), abs=1e-4)
    assert cal.a == pytest.approx(-2 * math.log(3), abs=1e-4)
    assert not cal.separable and cal.accuracy == pytest.approx(0.75)


def test_classes_are_weighted_equally_by_hand():
    # 4 real (3 at s=0, 1 at s=1), 8 fake (2 at s=0, 6 at s=1); each real weighs 1/8, each fake 1/16.
    # s = 0: (3/8) / (3/8 + 2/16) = 3/4; s = 1: (1/8) / (1/8 + 6/16) = 1/4 -> the same a, b as above,
    # where an unweighted fit would give sigmoid(b) = 3/5 and sigmoid(a + b) = 1/7.
    cal = fit_logistic(torch.tensor([0.0, 0.0, 0.0, 1.0]), torch.tensor([0.0, 0.0] + [1.0] * 6))
    assert cal.b == pytest.approx(math.log(3), abs=1e-4)
    assert cal.a + cal.b == pytest.approx(-math.log(3), abs=1e-4)
    assert (cal.n_real, cal.n_fake) == (4, 8)


def _held_out(known, n: int = 20_000) -> tuple[torch.Tensor, torch.Tensor]:  # noqa: ANN001
    real = known.draw_target(n, seed=1)
    fake = known.G_SIGMA * torch.randn(n, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    return real, fake


def test_an_ideal_logit_is_left_as_it_is(known):
    real, fake = _held_out(known)
    cal = fit_logistic(known.ideal_logit(real), known.ideal_logit(fake))
    assert cal.a == pytest.approx(1.0, abs=0.05) and cal.b == pytest.approx(0.0, abs=0.05)


def test_an_affinely_distorted_logit_is_undone(known):
    ideal_logit = known.ideal_logit
    # An overconfident, shifted D: s = 3 logit + 2. Calibration must map it back: a = 1/3, b = -2/3.
    real, fake = _held_out(known)
    cal = fit_logistic(3 * ideal_logit(real) + 2, 3 * ideal_logit(fake) + 2)
    assert cal.a == pytest.approx(1 / 3, abs=0.02) and cal.b == pytest.approx(-2 / 3, abs=0.05)
    assert cal.log_loss < cal.log_loss_raw
    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    assert torch.allclose(cal(3 * ideal_logit(x) + 2), ideal_logit(x), atol=0.15)


def test_separated_scores_stay_finite():
    cal = fit_logistic(torch.tensor([2.0, 3.0]), torch.tensor([-1.0, 0.0]))
    assert cal.separable and math.isfinite(cal.a) and cal.a > 0 and cal.accuracy == 1.0


def test_identity_calibration():
    assert torch.equal(Calibration()(torch.tensor([1.5, -2.0])), torch.tensor([1.5, -2.0], dtype=torch.float64))
