"""The ``known`` fixture: a 1D case where everything is known.

G proposes from p_g, the data is p_d, D is the optimal D* = p_d / (p_d + p_g).

p_g = N(0, 2^2) has heavier tails than every component of p_d = 0.6 N(-1.5, 0.4^2) + 0.4 N(1.5, 0.6^2),
so M = max p_d / p_g is finite (about 4; the bound is found numerically on a fine grid).
"""

from __future__ import annotations

import math

import sys

import numpy as np
import pytest
import torch
from scipy import stats

G_SIGMA = 2.0
WEIGHTS, MEANS, SIGMAS = (0.6, 0.4), (-1.5, 1.5), (0.4, 0.6)


def log_pd(x: torch.Tensor) -> torch.Tensor:
    x = x.double()
    parts = [math.log(w) + torch.distributions.Normal(m, s).log_prob(x) for w, m, s in zip(WEIGHTS, MEANS, SIGMAS)]
    return torch.logsumexp(torch.stack(parts), dim=0)


def log_pg(x: torch.Tensor) -> torch.Tensor:
    return torch.distributions.Normal(0.0, G_SIGMA).log_prob(x.double())


def ideal_logit(x: torch.Tensor) -> torch.Tensor:
    """logit D*(x) = log p_d(x) - log p_g(x)."""
    return log_pd(x) - log_pg(x)


def target_cdf(x: np.ndarray) -> np.ndarray:
    return sum(w * stats.norm.cdf(x, m, s) for w, m, s in zip(WEIGHTS, MEANS, SIGMAS))


def draw_target(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    comp = (torch.rand(n, generator=g) >= WEIGHTS[0]).long()
    means, sigmas = torch.tensor(MEANS, dtype=torch.float64), torch.tensor(SIGMAS, dtype=torch.float64)
    return means[comp] + sigmas[comp] * torch.randn(n, generator=g, dtype=torch.float64)


def true_log_m() -> float:
    grid = torch.linspace(-8, 8, 200_001, dtype=torch.float64)
    return float(ideal_logit(grid).max())


class IdealProposer:
    """propose(n, labels) -> (n x 1 proposals from p_g, their ideal logits), seeded."""

    def __init__(self, seed: int, logit=ideal_logit) -> None:  # noqa: ANN001
        self.g = torch.Generator().manual_seed(seed)
        self.logit = logit

    def __call__(self, n: int, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        x = G_SIGMA * torch.randn(n, generator=self.g, dtype=torch.float64)
        return x[:, None], self.logit(x)


@pytest.fixture()
def known():  # noqa: ANN201 - this module: known.ideal_logit, known.IdealProposer, ...
    return sys.modules[__name__]
