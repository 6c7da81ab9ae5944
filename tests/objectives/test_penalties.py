"""Gradient penalties against hand computation on a linear D, per pack under PacGAN."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.objectives import build_loss
from gankit.objectives.penalties import gradient_penalty
from gankit.tricks.wrappers.pacgan import Packed


class Linear(nn.Module):
    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.flatten(1) @ self.w


def test_wgan_gp_norm_is_per_pack():
    """A packed linear D has grad = w for each pack, so the penalty is (||w|| - 1)^2 whatever pac is."""
    torch.manual_seed(0)
    pac, d = 2, 3
    w = torch.tensor([0.3, -0.4, 0.0, 0.5, 0.1, 0.2])  # acts on a pack of 2 samples of 3 features
    D = Packed(Linear(w), pac)
    real, fake = torch.randn(8, d), torch.randn(8, d)
    want = (w.norm() - 1) ** 2
    assert gradient_penalty(D, real, fake).item() == pytest.approx(want.item(), rel=1e-6)
    # the per-sample norm (the old behaviour) would have been (||w_half|| - 1)^2 averaged over halves
    per_sample = 0.5 * ((w[:3].norm() - 1) ** 2 + (w[3:].norm() - 1) ** 2)
    assert abs(want.item() - per_sample.item()) > 1e-2


def test_hinge_logs_raw_scores_not_sigmoid():
    s = torch.tensor([2.0, -3.0])
    assert torch.equal(build_loss("hinge", {}).prob(s), s)
    assert torch.allclose(build_loss("nonsaturating", {}).prob(s), torch.sigmoid(s))
    assert torch.equal(build_loss("wgan", {}).prob(s), s) and torch.equal(build_loss("lsgan", {}).prob(s), s)
