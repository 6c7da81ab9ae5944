"""Pixel, hole, composite, domain-classification and reconstruction terms against hand computations."""

import math

import pytest
import torch

from gankit.core.errors import ConfigError
from gankit.objectives.restoration import composite, domain_classification_loss, hole_l1, pixel_loss, reconstruction_l1

OUT = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
TARGET = torch.tensor([[[[1.0, 1.0], [2.0, 5.0]]]])  # diff 1, 0, 0, 2


def test_pixel_loss():
    assert pixel_loss(OUT, TARGET, "l1").item() == pytest.approx(0.75)
    assert pixel_loss(OUT, TARGET, "mse").item() == pytest.approx((1 + 4) / 4)
    with pytest.raises(ConfigError, match="l1, mse"):
        pixel_loss(OUT, TARGET, "l2")


def test_hole_l1_by_hand():
    mask = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]])  # hole: diffs 1 and 2
    assert hole_l1(OUT, TARGET, mask).item() == pytest.approx(1.5)
    # two channels, one mask: sum |d| * m / (sum(m) * C)
    out2 = torch.cat([OUT, OUT + 4], dim=1)  # second channel: diffs 3, 4, 4, 2 vs TARGET
    tgt2 = torch.cat([TARGET, TARGET], dim=1)
    assert hole_l1(out2, tgt2, mask).item() == pytest.approx((1 + 2 + 3 + 2) / 4)
    # pooled over the batch: image 2 has a 1-pixel hole with diff 4
    out_b, tgt_b = torch.cat([OUT, torch.full_like(OUT, 4.0)]), torch.cat([TARGET, torch.zeros_like(TARGET)])
    mask_b = torch.cat([mask, torch.tensor([[[[0.0, 0.0], [1.0, 0.0]]]])])
    assert hole_l1(out_b, tgt_b, mask_b).item() == pytest.approx((1 + 2 + 4) / 3)
    # uint8 masks work too
    assert hole_l1(OUT, TARGET, mask.to(torch.uint8)).item() == pytest.approx(1.5)


def test_hole_l1_without_hole_is_zero_not_nan():
    out = OUT.clone().requires_grad_(True)
    v = hole_l1(out, TARGET, torch.zeros_like(OUT))
    assert v.item() == 0.0
    v.backward()
    assert torch.isfinite(out.grad).all() and not out.grad.any()


def test_hole_l1_rejects_a_wrong_mask():
    with pytest.raises(ConfigError, match="1 marking the hole"):
        hole_l1(OUT, TARGET, torch.zeros(1, 1, 3, 3))


def test_composite_keeps_known_pixels_exactly_and_grads_only_the_hole():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(2, 3, 5, 5, generator=g) * 2 - 1
    out = (torch.rand(2, 3, 5, 5, generator=g) * 2 - 1).requires_grad_(True)
    mask = (torch.rand(2, 1, 5, 5, generator=g) > 0.6).float()
    y = composite(x, out, mask)
    known, hole = mask.expand_as(x) == 0, mask.expand_as(x) == 1
    assert torch.equal(y[known], x[known]) and torch.equal(y[hole], out.detach()[hole])
    y.sum().backward()
    assert torch.equal(out.grad, mask.expand_as(x))


def test_domain_classification_loss_is_the_hand_cross_entropy():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    labels = torch.tensor([0, 2])
    hand = 0.0
    for row, y in zip(logits.tolist(), labels.tolist()):
        log_z = math.log(sum(math.exp(v) for v in row))
        hand += -(row[y] - log_z)  # -log softmax(row)[y]
    assert domain_classification_loss(logits, labels).item() == pytest.approx(hand / 2, rel=1e-6)
    with pytest.raises(ConfigError, match="logits"):
        domain_classification_loss(logits, labels[:1])


def test_reconstruction_l1():
    assert reconstruction_l1(TARGET, OUT).item() == pytest.approx(0.75)
    assert reconstruction_l1(OUT, OUT).item() == 0.0
