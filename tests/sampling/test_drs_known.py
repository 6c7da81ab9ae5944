"""DRS where the answer is known: with the optimal D on a 1D mixture, the accepted samples follow p_d."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from gankit.errors import GankitError
from gankit.sampling.drs import DRS, acceptance_probability, f_value, running_max

N = 4000  # accepted samples per test: enough that the naive rule (accept with probability D) fails


def _drs(known, gamma: float | None = 0.0, seed: int = 0, n: int = N, logit=None) -> tuple[torch.Tensor, DRS]:  # noqa: ANN001
    prop = known.IdealProposer(seed, logit or known.ideal_logit)
    _, burn = prop(10_000)
    drs = DRS.from_burn_in(burn, gamma)
    units = drs.fill(prop, n, 512, torch.Generator().manual_seed(seed + 100), max_proposals=100 * n)
    return units.reshape(-1), drs


def test_f_at_gamma_zero_is_the_exact_acceptance_probability():
    # sigmoid(F) = 1 / (1 + e^-d - e^-eps) with d = D~ - D~*_M: e^d up to eps, worked out by hand at d = log(1/2):
    # F = log(1/2) - log(1 - 1/2) = 0 at eps = 0, so the probability is 1/2.
    assert float(f_value(torch.tensor([math.log(0.5)], dtype=torch.float64), 0.0, eps=0.0)) == pytest.approx(0.0, abs=1e-12)
    d = torch.tensor([-5.0, -2.0, -0.7, -0.1], dtype=torch.float64)
    assert torch.allclose(acceptance_probability(d, 0.0), d.exp(), rtol=1e-5)
    assert float(acceptance_probability(torch.tensor([0.0]), 0.0)) > 0.999  # the maximum itself: accepted
    # gamma shifts F: sigmoid(F - gamma)
    p = acceptance_probability(d, 0.0, gamma=1.0)
    assert torch.allclose(p, torch.sigmoid(f_value(d, 0.0) - 1.0))


def test_running_max_includes_each_sample_before_it_is_judged():
    m = running_max(torch.tensor([0.5, 2.0, 1.0, 3.0], dtype=torch.float64), 1.0)
    assert m.tolist() == [1.0, 2.0, 2.0, 3.0]


def test_burn_in_finds_the_bound(known):
    _, drs = _drs(known, n=10)
    assert drs.log_m_burn_in == pytest.approx(known.true_log_m(), abs=0.05)


def test_accepted_samples_follow_the_target(known):
    x, drs = _drs(known)
    target = known.draw_target(20_000, seed=7).numpy()
    assert stats.ks_2samp(x.numpy(), target).pvalue > 0.01
    assert stats.kstest(x.numpy(), known.target_cdf).pvalue > 0.01
    # exact rejection sampling accepts 1/M of the proposals
    assert drs.acceptance_rate == pytest.approx(math.exp(-known.true_log_m()), rel=0.06)
    # ... and the proposals themselves are far from the target: the test has something to detect
    raw = known.G_SIGMA * np.random.default_rng(0).standard_normal(N)
    assert stats.ks_2samp(raw, target).pvalue < 1e-6


def test_a_wrong_acceptance_rule_fails_the_same_test(known):
    """The naive rule -- keep x with probability D(x) -- targets p_g D / Z, not p_d: the test must see it."""
    prop = known.IdealProposer(0)
    g = torch.Generator().manual_seed(100)
    kept = []
    while sum(len(k) for k in kept) < N:
        x, logit = prop(512)
        kept.append(x[torch.rand(512, generator=g, dtype=torch.float64) <= torch.sigmoid(logit)].reshape(-1))
    x = torch.cat(kept)[:N].numpy()
    target = known.draw_target(20_000, seed=7).numpy()
    assert stats.ks_2samp(x, target).pvalue < 1e-4


def test_gamma_moves_the_acceptance_rate_monotonically(known):
    rates = [_drs(known, gamma, n=1500)[1].acceptance_rate for gamma in (-4.0, -2.0, 0.0, 1.0, 3.0)]
    assert all(a > b for a, b in zip(rates, rates[1:])), rates
    assert rates[0] > 0.5 and rates[-1] < 0.1


def test_default_gamma_is_the_percentile_of_f(known):
    prop = known.IdealProposer(0)
    _, burn = prop(10_000)
    drs = DRS.from_burn_in(burn, None, percentile=95.0)
    want = np.percentile(f_value(burn, float(burn.max())).numpy(), 95.0)
    assert drs.gamma == pytest.approx(want) and "95th percentile" in drs.gamma_source
    assert DRS.from_burn_in(burn, None, percentile=50.0).gamma < drs.gamma


def test_counts_stop_at_the_last_needed_acceptance(known):
    x, drs = _drs(known, n=37)
    assert len(x) == 37 and drs.accepted == 37 and drs.proposed >= 37


def test_a_budget_too_small_says_what_to_do(known):
    prop = known.IdealProposer(0)
    drs = DRS.from_burn_in(prop(1000)[1], gamma=8.0)
    with pytest.raises(GankitError, match="lower gamma"):
        drs.fill(prop, 500, 256, torch.Generator().manual_seed(0), max_proposals=1000)
