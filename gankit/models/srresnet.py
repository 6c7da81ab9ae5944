"""SRResNet, the generator of SRGAN (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution
Using a Generative Adversarial Network", figure 4).

A 9x9 convolution + PReLU, ``n_blocks`` (16) residual blocks conv3x3-BN-PReLU-conv3x3-BN with the
input added back, conv3x3-BN plus a long skip from the first convolution's output, then one
upsampling stage per x2 (conv3x3 to 4x the channels -> PixelShuffle(2) -> PReLU: the sub-pixel
convolution of Shi et al. 2016, which learns the upsampling filter at low resolution and has none
of a transposed convolution's checkerboard), and a 9x9 convolution to the output channels. All the
network's work happens at the low resolution, so x4 costs little more than x2.

**Scale.** It follows from the shapes the task gives: ``out H / in H``, which must equal ``out W /
in W`` and be 2, 3, 4 or 8 (x3 is one PixelShuffle(3) stage, as BasicSR's MSRResNet; the others
log2(scale) x2 stages). Input and output channels may differ (gray in, RGB out works).

**Output.** ``output: tanh`` (default) bounds the image to the [-1, 1] range of the targets, as the
SRGAN reference implementations that scale HR images to [-1, 1]; ``output: none`` is a linear
output (the PSNR-oriented MSRResNet), clamped to [-1, 1] in eval mode only, so training keeps the
gradient of values that overshoot while inference returns valid images.

``norm: none`` drops the batch norms (EDSR, Lim et al. 2017, and ESRGAN found BN brings artefacts
and costs generalisation when the test statistics differ from training); convolutions before a
BN have no bias. Init: He-normal, scaled by 0.1 in the residual blocks (BasicSR's
``default_init_weights``), so the deep residual trunk starts close to the identity.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import GENERATORS
from gankit.models.common import image_shape
from gankit.models.conditioning import G_PATH

#: The upscaling factors the SR generators build.
SR_SCALES = (2, 3, 4, 8)
SROutput = Literal["tanh", "none"]


def sr_scale(in_shape: tuple[int, ...], out_shape: tuple[int, ...], family: str, path: str = G_PATH) -> tuple[int, int]:
    """(input channels, scale) of an SR generator from its shapes, or a ConfigError that says why not."""
    c_in, h, w = image_shape(in_shape, path, family, "takes")
    _, ho, wo = image_shape(out_shape, path, family, "makes")
    sh, sw = ho / h, wo / w
    if sh != sw or ho % h or wo % w:
        raise ConfigError(
            f"{path}: {family} upscales H and W by the same whole factor; input {h}x{w} and output {ho}x{wo} "
            f"give {sh:g} x {sw:g}. Check data.scale and the source's LR/HR sizes."
        )
    if int(sh) not in SR_SCALES:
        raise ConfigError(
            f"{path}: {family} builds x{', x'.join(map(str, SR_SCALES))} super-resolution; input {h}x{w} and "
            f"output {ho}x{wo} are x{sh:g}."
        )
    return c_in, int(sh)


def upscale_factors(scale: int) -> list[int]:
    """Per-stage factors: [3] for x3, else log2(scale) times 2."""
    return [3] if scale == 3 else [2] * int(math.log2(scale))


def scaled_kaiming_(module: nn.Module, scale: float = 1.0, a: float = 0.0) -> None:
    """He-normal init of every conv/linear weight times ``scale``; zero biases; norms at (1, 0)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, a=a, mode="fan_in")
            m.weight.data.mul_(scale)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def finish(x: torch.Tensor, output: SROutput, training: bool) -> torch.Tensor:
    """The output activation: tanh, or linear clamped to [-1, 1] outside training."""
    if output == "tanh":
        return torch.tanh(x)
    return x if training else x.clamp(-1.0, 1.0)


def check_width(name: str, value: int) -> None:
    if value < 1:
        raise ConfigError(f"{G_PATH}.{name}: a positive number of channels, got {value}.")


class SRResidualBlock(nn.Module):
    """x + (conv3x3-BN-PReLU-conv3x3-BN)(x): SRResNet's block (BN dropped with ``norm: none``)."""

    def __init__(self, channels: int, batch_norm: bool = True) -> None:
        super().__init__()
        bn = (lambda: nn.BatchNorm2d(channels)) if batch_norm else nn.Identity
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=not batch_norm),
            bn(),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=not batch_norm),
            bn(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def pixel_shuffle_stage(channels: int, factor: int) -> nn.Sequential:
    """conv3x3 to factor^2 x channels -> PixelShuffle(factor) -> PReLU: H and W times ``factor``."""
    return nn.Sequential(nn.Conv2d(channels, channels * factor**2, 3, 1, 1), nn.PixelShuffle(factor), nn.PReLU())


@GENERATORS.register("srresnet")
class SRResNet(nn.Module):
    """``forward(x)``: LR images (N, C_in, h, w) in [-1, 1] -> (N, C_out, h * scale, w * scale) in [-1, 1]."""

    maps = "image"

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        base_channels: int = 64,
        n_blocks: int = 16,
        norm: Literal["batch", "none"] = "batch",
        output: SROutput = "tanh",
    ) -> None:
        super().__init__()
        c_in, scale = sr_scale(in_shape, out_shape, "srresnet")
        check_width("base_channels", base_channels)
        if n_blocks < 0:
            raise ConfigError(f"{G_PATH}.n_blocks: 0 or more residual blocks (16 in SRGAN), got {n_blocks}.")
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        self.scale, self.n_blocks, self.output = scale, n_blocks, output
        ch, bn = base_channels, norm == "batch"
        self.head = nn.Sequential(nn.Conv2d(c_in, ch, 9, 1, 4), nn.PReLU())
        self.blocks = nn.Sequential(*[SRResidualBlock(ch, bn) for _ in range(n_blocks)])
        self.trunk_end = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1, bias=not bn), nn.BatchNorm2d(ch) if bn else nn.Identity())
        self.upsample = nn.Sequential(*[pixel_shuffle_stage(ch, f) for f in upscale_factors(scale)])
        self.tail = nn.Conv2d(ch, out_shape[0], 9, 1, 4)
        scaled_kaiming_(self)
        scaled_kaiming_(self.blocks, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f = self.head(x)
        f = f + self.trunk_end(self.blocks(f))  # the long skip
        return finish(self.tail(self.upsample(f)), self.output, self.training)


__all__ = [
    "SRResNet",
    "SRResidualBlock",
    "SR_SCALES",
    "finish",
    "pixel_shuffle_stage",
    "scaled_kaiming_",
    "sr_scale",
    "upscale_factors",
]
