"""Small pieces shared by the regularizer tests: a linear D with known input gradient, a context."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.core.clock import Clock
from gankit.tricks import StepContext


class LinearD(nn.Module):
    """D(x) = w . flatten(x) + b, so grad_x D = w for every sample."""

    def __init__(self, w: torch.Tensor, b: float = 0.3) -> None:
        super().__init__()
        self.lin = nn.Linear(w.numel(), 1)
        with torch.no_grad():
            self.lin.weight.copy_(w.view(1, -1))
            self.lin.bias.fill_(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin(x.flatten(1)).view(-1)


@pytest.fixture()
def linear_d():
    def make(shape=(1, 4, 4), seed=0):
        g = torch.Generator().manual_seed(seed)
        w = torch.randn(torch.Size(shape).numel(), generator=g)
        return LinearD(w), w

    return make


def clock_at(step=0, max_steps=100):
    """The clock of the old (step, max_steps) pair: progress = step / max_steps."""
    return Clock(step, step / max_steps if max_steps else 0.0, max_steps or None)


def _ctx_for(D, real=None, fake=None, step=0, max_steps=100, G=None, loss=None):
    return StepContext(clock_at(step, max_steps), D, G if G is not None else nn.Identity(), real, fake, loss=loss)


@pytest.fixture()
def ctx_for():
    """ctx_for(D, real=..., fake=..., step=...) -> a StepContext."""
    return _ctx_for

