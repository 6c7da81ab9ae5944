"""BigGAN's orthogonal regularisation equals its formula on small matrices."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gankit.tricks import TRICKS, TrickEnv
from gankit.tricks.penalties.orthogonal import orthogonal_penalty


def test_orthogonal_penalty_equals_the_formula_without_the_diagonal():
    lin = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0, 0.0], [0.5, -1.0, 3.0]]))
    # W W^T = [[5, -1.5], [-1.5, 10.25]]: off-diagonal entries -1.5 twice -> 2 * 2.25
    assert orthogonal_penalty(lin).item() == pytest.approx(4.5)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 0.0, 0.0], [0.0, 0.0, -7.0]]))  # orthogonal rows, any norms
    assert orthogonal_penalty(lin).item() == 0.0


def test_conv_kernels_are_flattened_per_output_filter_and_embeddings_are_left_out():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Embedding(10, 4), nn.Conv2d(2, 3, 3), nn.ConvTranspose2d(3, 2, 4))
    w1 = net[1].weight.reshape(3, -1)
    w2 = net[2].weight.transpose(0, 1).reshape(2, -1)
    want = sum(((w @ w.t()) * (1 - torch.eye(w.shape[0]))).pow(2).sum() for w in (w1, w2))
    assert orthogonal_penalty(net).item() == pytest.approx(want.item(), rel=1e-6)


def test_trick_adds_beta_times_the_penalty_to_g_only():
    G, D = nn.Linear(3, 2), nn.Linear(2, 1)
    t = TRICKS.build("orthogonal", {"beta": 1e-4})
    t.bind(TrickEnv(raw={"G": G, "D": D}, optimizer_of={}, optim_cfg_of={}))
    assert t.g_term(None).item() == pytest.approx(1e-4 * orthogonal_penalty(G).item())
    assert t.d_term(None) is None
