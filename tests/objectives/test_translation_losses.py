"""L1, cycle and identity terms against values worked out by hand."""

import pytest
import torch

from gankit.objectives.translation import condition_pair, cycle_loss, identity_loss, l1_loss

REAL_A = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
REC_A = torch.tensor([[[[1.0, 1.0], [2.0, 5.0]]]])  # |diff| = 1, 0, 0, 2 -> mean 0.75
REAL_B = torch.zeros(1, 2, 1, 1)
REC_B = torch.tensor([[[[-1.0]], [[3.0]]]])  # |diff| = 1, 3 -> mean 2


def test_l1_is_the_mean_absolute_error():
    assert l1_loss(REC_A, REAL_A).item() == pytest.approx(0.75)
    assert l1_loss(REAL_A, REAL_A).item() == 0.0


def test_cycle_loss():
    assert cycle_loss(REAL_A, REC_A, REAL_B, REC_B).item() == pytest.approx(10 * (0.75 + 2))  # lambda = 10
    assert cycle_loss(REAL_A, REC_A, REAL_B, REC_B, weight=2.0).item() == pytest.approx(5.5)
    rec = REC_A.clone().requires_grad_(True)
    cycle_loss(REAL_A, rec, REAL_B, REC_B, weight=1.0).backward()
    assert rec.grad.flatten().tolist() == pytest.approx([0.25, 0.0, 0.0, 0.25])  # sign(diff) / 4 (0 at equality)


def test_identity_loss_is_half_lambda_by_default():
    same_a, same_b = REC_A, REC_B  # F(a) and G(b)
    assert identity_loss(REAL_A, same_a, REAL_B, same_b).item() == pytest.approx(0.5 * 10 * 2.75)
    assert identity_loss(REAL_A, same_a, REAL_B, same_b, weight=4.0, identity_weight=0.25).item() == pytest.approx(2.75)
    assert identity_loss(REAL_A, same_a, REAL_B, same_b, identity_weight=0.0).item() == 0.0


def test_condition_pair_concatenates_channels():
    a, b = torch.zeros(2, 1, 4, 4), torch.ones(2, 3, 4, 4)
    ab = condition_pair(a, b)
    assert ab.shape == (2, 4, 4, 4) and torch.equal(ab[:, :1], a) and torch.equal(ab[:, 1:], b)
