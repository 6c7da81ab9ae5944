"""MH-GAN where the answer is known: with the optimal D, the chains' last states follow p_d."""

from __future__ import annotations

import pytest
import torch
from scipy import stats

from gankit.errors import GankitError
from gankit.sampling.mh import MH

N = 4000


def _start(known, seed: int = 3):  # noqa: ANN001, ANN202 - chains start from real samples (draws of p_d)
    g = torch.Generator().manual_seed(seed)

    def start(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = known.draw_target(len(idx), seed=int(torch.randint(2**31, (), generator=g)))
        return x[:, None], known.ideal_logit(x)

    return start


def test_chains_end_on_the_target(known):
    mh = MH(chain_length=40)
    x = mh.run(known.IdealProposer(0), _start(known), N, torch.Generator().manual_seed(1)).reshape(-1).numpy()
    target = known.draw_target(20_000, seed=7).numpy()
    assert stats.ks_2samp(x, target).pvalue > 0.01
    assert stats.kstest(x, known.target_cdf).pvalue > 0.01
    assert mh.proposed == 40 * N and 0.2 < mh.acceptance_rate < 0.9 and mh.restarts == 0


def test_an_inverted_ratio_fails_the_same_test(known):
    """Accepting by p_g / p_d instead of p_d / p_g must be caught by the same test."""
    mh = MH(chain_length=40)
    prop = known.IdealProposer(0, logit=lambda x: -known.ideal_logit(x))

    def start(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = known.draw_target(len(idx), seed=3)
        return x[:, None], -known.ideal_logit(x)

    x = mh.run(prop, start, N, torch.Generator().manual_seed(1)).reshape(-1).numpy()
    assert stats.ks_2samp(x, known.draw_target(20_000, seed=7).numpy()).pvalue < 1e-4


def test_one_step_chains_are_nearer_the_proposal_than_long_ones(known):
    # Started on the target, any K keeps the target, but restarts condition on having moved: K = 1
    # keeps mostly proposals of low weight; K = 40 forgets the start. The KS distance says which is closer.
    target = known.draw_target(20_000, seed=7).numpy()
    ks = []
    for k in (1, 40):
        x = MH(chain_length=k).run(known.IdealProposer(0), _start(known), 2000, torch.Generator().manual_seed(1))
        ks.append(stats.ks_2samp(x.reshape(-1).numpy(), target).statistic)
    assert ks[1] < ks[0]


def test_a_chain_that_never_moves_is_restarted_then_refused(known):
    never = known.IdealProposer(0, logit=lambda x: torch.full_like(x, -1e9))  # D rejects every proposal
    mh = MH(chain_length=3, max_restarts=2)
    with pytest.raises(GankitError, match="accepted none"):
        mh.run(never, _start(known), 5, torch.Generator().manual_seed(0))
    assert mh.restarts == 10  # 5 chains, restarted twice each
