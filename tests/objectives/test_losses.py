"""Loss values against numbers computed by hand from the formulas in the papers."""

import math

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.objectives import LOSSES, build_loss

REAL = torch.tensor([2.0, -1.0])
FAKE = torch.tensor([0.5, -3.0])


def sig(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_registry_has_the_six_classic_losses():
    assert set(LOSSES.names()) >= {"minimax", "nonsaturating", "lsgan", "wgan", "wgan_gp", "hinge"}


def test_bce_discriminator_loss_matches_hand_computation():
    expected = -0.5 * (math.log(sig(2.0)) + math.log(sig(-1.0))) - 0.5 * (math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0)))
    for name in ("minimax", "nonsaturating"):
        assert build_loss(name, {}).d_loss(REAL, FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_minimax_generator_minimises_log_one_minus_d():
    expected = 0.5 * (math.log(1 - sig(0.5)) + math.log(1 - sig(-3.0)))
    assert build_loss("minimax", {}).g_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_nonsaturating_generator_minimises_minus_log_d():
    expected = -0.5 * (math.log(sig(0.5)) + math.log(sig(-3.0)))
    assert build_loss("nonsaturating", {}).g_loss(FAKE).item() == pytest.approx(expected, rel=1e-6)


def test_bce_is_stable_for_huge_logits():
    loss = build_loss("nonsaturating", {})
    big = torch.tensor([1e4, -1e4])
    assert torch.isfinite(loss.d_loss(big, -big)) and torch.isfinite(loss.g_loss(-big))
    assert loss.d_loss(torch.tensor([1e4]), torch.tensor([-1e4])).item() == pytest.approx(0.0, abs=1e-6)


def test_lsgan_values():
    loss = build_loss("lsgan", {})
    d = 0.5 * (((2 - 1) ** 2 + (-1 - 1) ** 2) / 2 + (0.5**2 + 3.0**2) / 2)
    g = 0.5 * (((0.5 - 1) ** 2 + (-3 - 1) ** 2) / 2)
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(d)
    assert loss.g_loss(FAKE).item() == pytest.approx(g)


def test_hinge_values():
    loss = build_loss("hinge", {})
    d = (max(0, 1 - 2) + max(0, 1 + 1)) / 2 + (max(0, 1 + 0.5) + max(0, 1 - 3)) / 2
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(d)
    assert loss.g_loss(FAKE).item() == pytest.approx(1.25)


def test_wgan_values_and_clipping():
    loss = build_loss("wgan", {"clip": 0.01})
    assert loss.d_loss(REAL, FAKE).item() == pytest.approx(-1.25 - 0.5)
    assert loss.g_loss(FAKE).item() == pytest.approx(1.25)
    assert loss.n_critic == 5
    lin = nn.Linear(3, 1)
    nn.init.constant_(lin.weight, 0.5)
    loss.after_d_step(lin)
    assert lin.weight.abs().max().item() == pytest.approx(0.01)


def test_wgan_gp_penalty_on_a_linear_critic():
    # D(x) = w.x has gradient w everywhere: penalty = lambda * (|w| - 1)^2 exactly.
    loss = build_loss("wgan_gp", {"gp_weight": 10.0})
    lin = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[3.0, 4.0]]))
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    pen = loss.penalty(lin, real, fake)
    assert pen.item() == pytest.approx(10.0 * (5.0 - 1.0) ** 2, rel=1e-5)
    pen.backward()  # differentiable w.r.t. the critic's weights (create_graph)
    assert lin.weight.grad is not None and torch.isfinite(lin.weight.grad).all()


def test_accuracy_thresholds():
    acc_r, acc_f = build_loss("nonsaturating", {}).accuracy(REAL, FAKE)
    assert (acc_r.item(), acc_f.item()) == (0.5, 0.5)
    acc_r, acc_f = build_loss("wgan", {}).accuracy(torch.tensor([5.0, 6.0]), torch.tensor([1.0, 2.0]))
    assert (acc_r.item(), acc_f.item()) == (1.0, 1.0)


def test_bad_loss_name_and_option_are_named():
    with pytest.raises(ConfigError, match="hinge"):
        build_loss("hinj", {})
    with pytest.raises(ConfigError, match="gp_weight"):
        build_loss("wgan_gp", {"gp_wieght": 5})
