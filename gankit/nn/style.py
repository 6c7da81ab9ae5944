"""StyleGAN2's layers (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN").

* :class:`EqualLinear`, :class:`EqualConv2d` -- equalised learning rate: weights stored as N(0, 1)
  (divided by ``lr_mul``) and scaled at run time by ``lr_mul / sqrt(fan_in)``, so Adam's step is the
  same relative size for every layer (ProGAN, section 4.1). ``lr_mul`` 0.01 slows the mapping network.
* :class:`ModulatedConv2d` -- a convolution whose input channels are scaled by a style, then
  demodulated so each output feature has unit expected std (StyleGAN2, section 2.2, eq. 1-3).
  Written with the modulation applied to the *activations* (x * s, one shared convolution,
  output * d), not as a grouped convolution with per-sample weights: the two are equal, but this
  form has no batch-dependent ``groups`` and so exports to ONNX and TorchScript with a dynamic batch.
* :class:`NoiseInjection` -- per-pixel noise with a learned strength (0 at init).
* :class:`MinibatchStd` -- the std of features over groups of the batch as an extra channel.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

SQRT2 = math.sqrt(2.0)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (0.2) times sqrt(2): keeps unit variance through the layer, as StyleGAN's ``lrelu`` gain."""
    return F.leaky_relu(x, 0.2) * SQRT2


class EqualLinear(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, bias: bool = True, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_dim, in_dim) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_dim,), float(bias_init) / lr_mul)) if bias else None
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(in_dim), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.bias * self.lr_mul if self.bias is not None else None
        out = F.linear(x, self.weight * self.scale, b)
        return lrelu(out) if self.activate else out


class EqualConv2d(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, kernel: int, bias: bool = True, activate: bool = False,
                 down: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale, self.pad, self.activate, self.down = 1 / math.sqrt(in_ch * kernel * kernel), kernel // 2, activate, down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.pad)
        if self.down:  # blur-and-subsample as a 2x2 mean: the anti-aliased downsampling of the paper, simplified
            out = F.avg_pool2d(out, 2)
        return lrelu(out) if self.activate else out


class ModulatedConv2d(nn.Module):
    """``forward(x, w)``: x (N, in, H, W), w (N, w_dim) -> (N, out, H', W') with H' = 2H when ``up``.

    The affine layer maps w to one scale per input channel (bias 1, so styles start at 1). With
    ``demodulate``, output channel j is divided by sqrt(sum_i,k (s_i * W_jik)^2 + 1e-8): for inputs
    of unit variance the outputs have unit expected variance whatever the style.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, w_dim: int, demodulate: bool = True, up: bool = False) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.scale, self.pad = 1 / math.sqrt(in_ch * kernel * kernel), kernel // 2
        self.demodulate, self.up = demodulate, up

    def styles(self, w: torch.Tensor) -> torch.Tensor:
        return self.affine(w)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.styles(w)  # (N, in)
        weight = self.weight * self.scale
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        out = F.conv2d(x * s[:, :, None, None], weight, padding=self.pad)
        if self.demodulate:  # sum over (in, k, k) of (s_i W_jik)^2 = (s^2) @ (sum_k W_jik^2)^T
            d = torch.rsqrt(s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8)  # (N, out)
            out = out * d[:, :, None, None]
        return out


class NoiseInjection(nn.Module):
    """``x + strength * noise`` (strength 0 at init). Training draws fresh noise (N, 1, H, W); in eval
    mode a fixed noise image (a buffer, saved with the weights) is used, so a generator is a pure
    function of its inputs -- seeded sampling is reproducible and the exported graph has no random
    op. Explicit ``noise`` overrides both (projection optimises it)."""

    def __init__(self, size: tuple[int, int] | None = None) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("fixed", torch.randn(1, 1, *size) if size else torch.zeros(0), persistent=True)

    def forward(self, x: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        if noise is None:
            if not self.training and self.fixed.numel():
                noise = self.fixed.to(x.dtype)
            else:
                noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], device=x.device, dtype=x.dtype)
        return x + self.strength * noise


class MinibatchStd(nn.Module):
    """Appends the mean std of features over groups of ``group`` samples (ProGAN, section 3): D sees the
    batch's variety, so a collapsed G is easy to reject. The group shrinks to divide the batch."""

    def __init__(self, group: int = 4) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        g = math.gcd(self.group, n) if n > 0 else 1
        y = x.reshape(g, -1, c, h, w)  # (G, N/G, C, H, W): sample j of every group shares statistics
        y = (y - y.mean(dim=0)).square().mean(dim=0).add(1e-8).sqrt()  # std over the group
        y = y.mean(dim=(1, 2, 3)).reshape(-1, 1, 1, 1).repeat(g, 1, h, w)  # (N, 1, H, W)
        return torch.cat([x, y], dim=1)


def pixel_norm(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """x / sqrt(mean(x^2) + 1e-8) along ``dim`` (ProGAN's pixel norm; the mapping network's input norm)."""
    return x * torch.rsqrt(x.square().mean(dim=dim, keepdim=True) + 1e-8)


__all__ = ["EqualConv2d", "EqualLinear", "MinibatchStd", "ModulatedConv2d", "NoiseInjection", "lrelu", "pixel_norm"]
