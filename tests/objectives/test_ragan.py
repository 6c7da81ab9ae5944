"""The relativistic average loss against a hand computation in numpy (ESRGAN's averaged form)."""

import math

import numpy as np
import pytest
import torch

from gankit.core.errors import ConfigError
from gankit.core.objective import Targets
from gankit.objectives import build_loss

REAL = np.array([1.0, -0.5, 2.0, 0.25])
FAKE = np.array([0.3, -1.0, 0.8])


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.log1p(np.exp(x))


def _hand(real: np.ndarray, fake: np.ndarray) -> tuple[float, float]:
    """D_Ra(a, b) = sigmoid(a - mean b); -log sigmoid(l) = softplus(-l), -log(1 - sigmoid(l)) = softplus(l)."""
    rel_r, rel_f = real - fake.mean(), fake - real.mean()
    d = 0.5 * (_softplus(-rel_r).mean() + _softplus(rel_f).mean())
    g = 0.5 * (_softplus(rel_r).mean() + _softplus(-rel_f).mean())
    return float(d), float(g)


def test_d_and_g_losses_match_the_hand_computation():
    loss = build_loss("ragan", {})
    d, g = _hand(REAL, FAKE)
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    assert loss.d_loss(real, fake).item() == pytest.approx(d, rel=1e-6)
    assert loss.g_loss(fake, real=real).item() == pytest.approx(g, rel=1e-6)
    # patch scores (N, P): the batch means run over every score
    r2, f2 = torch.tensor(REAL).view(2, 2), torch.tensor(np.append(FAKE, 0.1)).view(2, 2)
    assert loss.d_loss(r2, f2).item() == pytest.approx(_hand(REAL, np.append(FAKE, 0.1))[0], rel=1e-6)


def test_values_at_equal_scores_and_shift_invariance():
    loss = build_loss("ragan", {})
    z = torch.zeros(5)
    assert loss.d_loss(z, z).item() == pytest.approx(math.log(2))
    assert loss.g_loss(z, real=z).item() == pytest.approx(math.log(2))
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    assert loss.d_loss(real + 7.0, fake + 7.0).item() == pytest.approx(loss.d_loss(real, fake).item(), rel=1e-6)


def test_g_loss_without_real_scores_names_the_supporting_tasks():
    loss = build_loss("ragan", {})
    assert loss.relativistic is True
    with pytest.raises(ConfigError, match="srgan"):
        loss.g_loss(torch.zeros(3))


def test_targets_default_equals_hard_targets():
    loss = build_loss("ragan", {})
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    hard = Targets(torch.ones_like(real), torch.zeros_like(fake))
    assert loss.d_loss(real, fake, hard).item() == pytest.approx(loss.d_loss(real, fake).item(), rel=1e-6)
    soft = Targets(torch.full_like(real, 0.9), torch.zeros_like(fake))
    rel_r = REAL - FAKE.mean()
    expected = 0.5 * ((0.9 * _softplus(-rel_r) + 0.1 * _softplus(rel_r)).mean() + _softplus(FAKE - REAL.mean()).mean())
    assert loss.d_loss(real, fake, soft).item() == pytest.approx(expected, rel=1e-6)


def test_logged_numbers_are_relativistic():
    loss = build_loss("ragan", {})
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    assert not loss.sigmoid_scores and torch.equal(loss.prob(real), real)  # raw C(x): no probability on its own
    p_r, p_f = loss.relative_probs(real, fake)
    assert p_r.numpy() == pytest.approx(1 / (1 + np.exp(-(REAL - FAKE.mean()))))
    assert p_f.numpy() == pytest.approx(1 / (1 + np.exp(-(FAKE - REAL.mean()))))
    acc_r, acc_f = loss.accuracy(real, fake)
    assert acc_r.item() == pytest.approx(np.mean(REAL > FAKE.mean()))  # 1.0, -0.5, 2.0, 0.25 vs mean 0.0333
    assert acc_f.item() == pytest.approx(np.mean(FAKE <= REAL.mean()))  # 0.3, -1.0, 0.8 vs mean 0.6875


def test_profile_is_seen_by_the_diagnostics():
    from gankit.diagnostics.context import loss_profile

    prof = loss_profile("ragan")
    assert prof.family == "sigmoid" and prof.d_scale == pytest.approx(math.log(2))
    # G loss when D_Ra is 0.95 on reals and 0.05 on fakes: 0.5 * (-log 0.05 - log 0.05)
    assert prof.g_saturated == pytest.approx(-math.log(0.05))
