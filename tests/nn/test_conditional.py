import math

import pytest
import torch

from gankit.nn import ConditionalBatchNorm2d, LabelEmbedding, ProjectionHead, one_hot_maps


def _plain_bn(x: torch.Tensor, eps: float) -> torch.Tensor:
    """(x - mean) / sqrt(var + eps) per channel over (N, H, W), biased variance (training-mode BN)."""
    mean = x.mean(dim=(0, 2, 3), keepdim=True)
    var = ((x - mean) ** 2).mean(dim=(0, 2, 3), keepdim=True)
    return (x - mean) / torch.sqrt(var + eps)


def test_class_cbn_applies_that_class_gamma_and_beta():
    torch.manual_seed(0)
    cbn = ConditionalBatchNorm2d(3, num_classes=2).double()
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64) * 3 + 1
    y = torch.tensor([0, 1, 1, 0])
    # Initialised to gamma = 1, beta = 0: every class gets plain batch norm.
    torch.testing.assert_close(cbn(x, y), _plain_bn(x, 1e-5), rtol=0, atol=1e-12)
    gamma = [[2.0, 0.5, -1.0], [3.0, 1.0, 0.25]]
    beta = [[0.1, 0.2, 0.3], [-1.0, 0.0, 1.0]]
    with torch.no_grad():
        cbn.gamma.weight.copy_(torch.tensor(gamma, dtype=torch.float64))
        cbn.beta.weight.copy_(torch.tensor(beta, dtype=torch.float64))
    xhat = _plain_bn(x, 1e-5)
    expected = torch.empty_like(x)
    for i, cls in enumerate(y.tolist()):
        for ch in range(3):
            expected[i, ch] = xhat[i, ch] * gamma[cls][ch] + beta[cls][ch]
    torch.testing.assert_close(cbn(x, y), expected, rtol=0, atol=1e-12)
    assert cbn.bn.weight is None  # BN has no affine parameters of its own: gamma/beta come only from the class


def test_vector_cbn_uses_one_plus_linear_gamma():
    """BigGAN: gamma = 1 + W_g v, beta = W_b v (bias-free), v an arbitrary conditioning vector."""
    cbn = ConditionalBatchNorm2d(2, cond_dim=3).double()
    wg = [[1.0, 0.0, -1.0], [0.5, 0.5, 0.5]]
    wb = [[0.0, 2.0, 0.0], [-1.0, 0.0, 1.0]]
    with torch.no_grad():
        cbn.gamma.weight.copy_(torch.tensor(wg))
        cbn.beta.weight.copy_(torch.tensor(wb))
    v = torch.tensor([[1.0, 2.0, 3.0], [0.0, -1.0, 4.0]], dtype=torch.float64)
    # gamma_0 = 1 + (1 - 3, 0.5 + 1 + 1.5) = (-1, 4); beta_0 = (4, 2); gamma_1 = 1 + (-4, 1.5) = (-3, 2.5); beta_1 = (-2, 4)
    g, b = cbn.scale_shift(v)
    torch.testing.assert_close(g, torch.tensor([[-1.0, 4.0], [-3.0, 2.5]], dtype=torch.float64))
    torch.testing.assert_close(b, torch.tensor([[4.0, 2.0], [-2.0, 4.0]], dtype=torch.float64))
    x = torch.randn(2, 2, 3, 3, dtype=torch.float64)
    expected = _plain_bn(x, 1e-5) * g[:, :, None, None] + b[:, :, None, None]
    torch.testing.assert_close(cbn(x, v), expected, rtol=0, atol=1e-12)


def test_cbn_needs_exactly_one_kind_of_condition():
    with pytest.raises(ValueError):
        ConditionalBatchNorm2d(4)
    with pytest.raises(ValueError):
        ConditionalBatchNorm2d(4, num_classes=3, cond_dim=2)


def test_projection_head_is_the_inner_product_with_the_class_embedding():
    head = ProjectionHead(3, 2).double()
    with torch.no_grad():
        head.embed.weight.copy_(torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]]))
    phi = torch.tensor([[2.0, 1.0, 4.0], [2.0, 1.0, 4.0], [-1.0, 0.0, 2.0]], dtype=torch.float64)
    y = torch.tensor([0, 1, 1])
    # 2 - 2 + 2 = 2;  0 + 3 + 4 = 7;  0 + 0 + 2 = 2
    torch.testing.assert_close(head(phi, y), torch.tensor([2.0, 7.0, 2.0], dtype=torch.float64), rtol=0, atol=0)


def test_label_embedding_one_hot_and_learned():
    one_hot = LabelEmbedding(4)
    assert one_hot.out_dim == 4 and sum(p.numel() for p in one_hot.parameters()) == 0
    assert one_hot(torch.tensor([2, 0])).tolist() == [[0, 0, 1, 0], [1, 0, 0, 0]]
    learned = LabelEmbedding(4, 3)
    assert learned.out_dim == 3 and learned.embed.weight.shape == (4, 3)
    torch.testing.assert_close(learned(torch.tensor([1, 1, 3])), learned.embed.weight[[1, 1, 3]])


def test_one_hot_maps_are_constant_planes():
    like = torch.zeros(2, 1, 3, 5, dtype=torch.float64)
    maps = one_hot_maps(torch.tensor([2, 0]), 3, like)
    assert maps.shape == (2, 3, 3, 5) and maps.dtype == torch.float64
    assert maps[0, 2].eq(1).all() and maps[0, :2].eq(0).all() and maps[1, 0].eq(1).all() and maps[1, 1:].eq(0).all()
    assert math.isclose(float(maps.sum()), 2 * 15)
    flat = one_hot_maps(torch.tensor([1]), 3, torch.zeros(1, 7))
    assert flat.tolist() == [[0.0, 1.0, 0.0]]
