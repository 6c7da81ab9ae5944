"""RRDBNet, the generator of ESRGAN (Wang et al. 2018, "ESRGAN: Enhanced Super-Resolution Generative
Adversarial Networks", section 3.1 and figure 4; layers as the authors' released ``RRDBNet_arch.py``).

SRResNet's trunk with the batch norms removed (they cause artefacts when test statistics differ
from training) and each residual block replaced by a Residual-in-Residual Dense Block: three
residual dense blocks (five 3x3 convolutions, each reading the concatenation of the block input
and all earlier outputs, ``growth`` new channels each, LeakyReLU 0.2 after the first four), every
residual scaled by 0.2 before it is added back (``x + 0.2 * F(x)``, at both levels). Residual
scaling and the He-normal init scaled by 0.1 (the released code) keep a deep trunk stable
without BN. After the trunk: conv3x3 plus the long skip, one stage per x2 of nearest x2 +
conv3x3 + LeakyReLU (x3: one nearest x3 stage), conv3x3 + LeakyReLU at HR, conv3x3 to the output.

``n_blocks`` defaults to the paper's 23 RRDBs (16.7 M parameters at 64 channels); recipes for small
images use a few. Scale and channels follow from the shapes as for ``srresnet``
(:func:`gankit.models.srresnet.sr_scale`). ``output: none`` (default) is ESRGAN's linear output,
clamped to [-1, 1] in eval mode only; ``output: tanh`` bounds it during training too.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models import GENERATORS
from gankit.models.conditioning import G_PATH
from gankit.models.srresnet import SROutput, check_width, finish, scaled_kaiming_, sr_scale, upscale_factors

#: ESRGAN's residual scaling factor beta.
RESIDUAL_SCALE = 0.2


class ResidualDenseBlock(nn.Module):
    """x + 0.2 * conv5(cat(x, x1..x4)), x_i = lrelu(conv_i(cat(x, x1..x_{i-1}))): 5 densely connected convs."""

    def __init__(self, channels: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv2d(channels + i * growth, growth if i < 4 else channels, 3, 1, 1) for i in range(5)
        )
        scaled_kaiming_(self, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in self.convs[:-1]:
            feats.append(F.leaky_relu(conv(torch.cat(feats, 1)), 0.2))
        return x + RESIDUAL_SCALE * self.convs[-1](torch.cat(feats, 1))


class RRDB(nn.Module):
    """x + 0.2 * RDB3(RDB2(RDB1(x))): the residual-in-residual dense block."""

    def __init__(self, channels: int = 64, growth: int = 32) -> None:
        super().__init__()
        self.rdbs = nn.Sequential(*[ResidualDenseBlock(channels, growth) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.rdbs(x)


class NearestUpsample(nn.Module):
    """Nearest-neighbour x factor -> conv3x3 -> LeakyReLU 0.2 (ESRGAN's upsampling stage)."""

    def __init__(self, channels: int, factor: int) -> None:
        super().__init__()
        self.factor = factor
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.conv(F.interpolate(x, scale_factor=self.factor, mode="nearest")), 0.2)


@GENERATORS.register("rrdb")
class RRDBNet(nn.Module):
    """``forward(x)``: LR images (N, C_in, h, w) in [-1, 1] -> (N, C_out, h * scale, w * scale)."""

    maps = "image"

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        base_channels: int = 64,
        growth: int = 32,
        n_blocks: int = 23,
        output: SROutput = "none",
    ) -> None:
        super().__init__()
        c_in, scale = sr_scale(in_shape, out_shape, "rrdb")
        check_width("base_channels", base_channels)
        check_width("growth", growth)
        if n_blocks < 0:
            raise ConfigError(f"{G_PATH}.n_blocks: 0 or more RRDBs (23 in ESRGAN), got {n_blocks}.")
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.scale, self.n_blocks, self.output = scale, n_blocks, output
        ch = base_channels
        self.conv_first = nn.Conv2d(c_in, ch, 3, 1, 1)
        self.trunk = nn.Sequential(*[RRDB(ch, growth) for _ in range(n_blocks)])
        self.trunk_conv = nn.Conv2d(ch, ch, 3, 1, 1)
        self.upsample = nn.Sequential(*[NearestUpsample(ch, f) for f in upscale_factors(scale)])
        self.conv_hr = nn.Conv2d(ch, ch, 3, 1, 1)
        self.conv_last = nn.Conv2d(ch, out_shape[0], 3, 1, 1)
        for m in (self.conv_first, self.trunk_conv, self.upsample, self.conv_hr, self.conv_last):
            scaled_kaiming_(m, 1.0, a=0.2)  # outside the trunk: plain He init (for LeakyReLU 0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.conv_first(x)
        f = f + self.trunk_conv(self.trunk(f))
        out = self.conv_last(F.leaky_relu(self.conv_hr(self.upsample(f)), 0.2))
        return finish(out, self.output, self.training)


__all__ = ["RRDBNet", "RRDB", "ResidualDenseBlock", "NearestUpsample", "RESIDUAL_SCALE"]
