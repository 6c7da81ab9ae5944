"""StyleGAN2's layers against independent computations."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gankit.nn.style import EqualConv2d, EqualLinear, MinibatchStd, ModulatedConv2d, NoiseInjection, pixel_norm


def test_modulated_conv_equals_a_per_sample_reference_convolution() -> None:
    """The activation-side form (one shared conv) equals StyleGAN2's per-sample weights w'_ijk = s_i w_ijk / sigma_j."""
    torch.manual_seed(0)
    conv = ModulatedConv2d(5, 7, 3, w_dim=6)
    x, w = torch.randn(4, 5, 9, 9), torch.randn(4, 6)
    out = conv(x, w)
    s = conv.affine(w)
    for n in range(4):
        wn = conv.weight * conv.scale * s[n][None, :, None, None]  # (out, in, k, k)
        wn = wn / wn.square().sum(dim=(1, 2, 3), keepdim=True).add(1e-8).sqrt()
        ref = F.conv2d(x[n : n + 1], wn, padding=1)
        assert torch.allclose(out[n : n + 1], ref, atol=1e-5)


def test_grouped_form_gives_the_same_result() -> None:
    """The grouped-convolution formulation of the original code, computed here independently."""
    torch.manual_seed(1)
    conv = ModulatedConv2d(3, 4, 3, w_dim=5)
    x, w = torch.randn(2, 3, 6, 6), torch.randn(2, 5)
    s = conv.affine(w)
    weight = conv.weight[None] * conv.scale * s[:, None, :, None, None]
    weight = weight * torch.rsqrt(weight.square().sum(dim=(2, 3, 4)) + 1e-8)[:, :, None, None, None]
    grouped = F.conv2d(x.reshape(1, 6, 6, 6), weight.reshape(8, 3, 3, 3), padding=1, groups=2).reshape(2, 4, 6, 6)
    assert torch.allclose(conv(x, w), grouped, atol=1e-5)


def test_demodulation_gives_unit_std_for_unit_variance_input() -> None:
    torch.manual_seed(2)
    conv = ModulatedConv2d(64, 32, 3, w_dim=16)
    x, w = torch.randn(8, 64, 32, 32), 3.0 * torch.randn(8, 16)  # styles far from 1
    out = conv(x, w)[:, :, 1:-1, 1:-1]  # away from the zero padding
    assert abs(out.std().item() - 1.0) < 0.05
    undemod = ModulatedConv2d(64, 32, 3, w_dim=16, demodulate=False)
    undemod.load_state_dict(conv.state_dict())
    assert abs(undemod(x, w).std().item() - 1.0) > 0.3  # without it the scale follows the style


def test_upsampling_modulated_conv_doubles_the_size() -> None:
    assert ModulatedConv2d(2, 3, 3, w_dim=4, up=True)(torch.randn(2, 2, 7, 7), torch.randn(2, 4)).shape == (2, 3, 14, 14)


def test_equalised_learning_rate_scales() -> None:
    lin = EqualLinear(50, 10, lr_mul=0.01, bias_init=1.0)
    assert math.isclose(lin.scale, 0.01 / math.sqrt(50))
    x = torch.randn(3, 50)
    assert torch.allclose(lin(x), x @ (lin.weight * lin.scale).t() + lin.bias * 0.01, atol=1e-6)
    assert torch.allclose(lin.bias * lin.lr_mul, torch.ones(10))  # the effective bias starts at bias_init
    conv = EqualConv2d(4, 6, 3)
    assert math.isclose(conv.scale, 1 / math.sqrt(4 * 9))
    # stored weights are N(0, 1): the effective ones have He std 1/sqrt(fan_in)
    big = EqualLinear(4096, 256)
    assert abs((big.weight * big.scale).std().item() * math.sqrt(4096) - 1.0) < 0.02


def test_noise_injection_starts_silent_and_uses_given_noise() -> None:
    inj = NoiseInjection()
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(inj(x), x)
    with torch.no_grad():
        inj.strength.fill_(0.5)
    n = torch.ones(2, 1, 4, 4)
    assert torch.allclose(inj(x, n), x + 0.5)


def test_minibatch_std_channel() -> None:
    x = torch.randn(8, 3, 4, 4)
    y = MinibatchStd(group=4)(x)
    assert y.shape == (8, 4, 4, 4)
    groups = x.reshape(4, 2, 3, 4, 4)  # sample j of each group of 4: indices j, j+2, j+4, j+6
    want = groups.std(dim=0, unbiased=False).mean(dim=(1, 2, 3))  # (2,)
    assert torch.allclose(y[0, 3, 0, 0], want[0], atol=1e-4) and torch.allclose(y[1, 3, 0, 0], want[1], atol=1e-4)
    assert torch.allclose(y[2, 3], y[0, 3]) and MinibatchStd(4)(torch.randn(6, 2, 3, 3)).shape == (6, 3, 3, 3)  # group 2


def test_pixel_norm() -> None:
    x = torch.randn(5, 12) * 7
    assert torch.allclose(pixel_norm(x).square().mean(dim=1), torch.ones(5), atol=1e-4)
