"""The SRGAN discriminator (Ledig et al. 2017, figure 4; the VGG-style D that ESRGAN keeps).

Eight 3x3 convolutions in four stages, widths 64, 64, 128, 128, 256, 256, 512, 512
(``base_channels * min(2**stage, 8)``); the second convolution of each stage has stride 2, so each
stage halves H and W. LeakyReLU 0.2 everywhere, batch norm after every convolution but the first.
Then flatten -> Linear 1024 -> LeakyReLU 0.2 -> Linear 1: one raw logit per image, shape (N,)
(losses apply any sigmoid; ESRGAN's relativistic loss uses the raw logit).

**Sizes.** The paper's four stages take 96x96 crops to 6x6. A stride-2 3x3 convolution with
padding 1 maps a side s to ceil(s / 2), so the number of stages is adapted: at most ``max_stages``
(4), and only while the feature side stays at least 4 -- 28 -> 14 -> 7 -> 4 (three stages), 32 -> 4x4,
64 and 96 -> four stages. Inputs below 7 px are refused. The linear layer reads C * h * w
features, so it grows with the input side: at 128 px (8x8x512) it has 33 M weights; raise
``max_stages`` for larger crops.

``norm``: ``batch`` (the paper), ``none``, or ``spectral`` (no BN; torch's spectral-norm
parametrisation on every convolution and linear layer, Miyato et al. 2018 -- the ``spectral_norm``
trick skips layers already normalised). Init N(0, 0.02) as DCGAN.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, init_normal
from gankit.models.common import image_shape
from gankit.models.conditioning import D_PATH

SRNorm = Literal["batch", "none", "spectral"]
#: The smallest feature side a stride-2 stage may produce.
MIN_SIDE = 4


def stage_count(side: int, max_stages: int = 4) -> int:
    """Stride-2 stages for an input side: at most ``max_stages``, keeping the feature side >= 4."""
    n = 0
    while n < max_stages and -(-side // 2) >= MIN_SIDE:
        side = -(-side // 2)
        n += 1
    return n


def _side_after(side: int, stages: int) -> int:
    for _ in range(stages):
        side = -(-side // 2)
    return side


def refuse_classes(num_classes: int, family: str) -> None:
    if num_classes:
        raise ConfigError(
            f"{D_PATH}: {family} is not class-conditional (this task gives {num_classes} classes); "
            "use a task that does not pass labels to D, or a class-conditional family."
        )


@DISCRIMINATORS.register("srgan_d")
class SRGANDiscriminator(nn.Module):
    """``forward(x)``: images (N, C, H, W) -> one logit per image (N,)."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        base_channels: int = 64,
        norm: SRNorm = "batch",
        max_stages: int = 4,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        refuse_classes(num_classes, "srgan_d")
        c_in, h, w = image_shape(in_shape, D_PATH, "srgan_d", "takes")
        if base_channels < 1:
            raise ConfigError(f"{D_PATH}.base_channels: a positive number of channels, got {base_channels}.")
        if max_stages < 1:
            raise ConfigError(f"{D_PATH}.max_stages: at least 1 stride-2 stage (4 in SRGAN), got {max_stages}.")
        stages = stage_count(min(h, w), max_stages)
        if stages < 1:
            raise ConfigError(f"{D_PATH}: srgan_d needs images of at least 7x7 (one stride-2 stage to 4x4), got {h}x{w}.")
        self.in_shape, self.stages, self.norm = (c_in, h, w), stages, norm
        batch = norm == "batch"
        layers: list[nn.Module] = []
        ch = c_in
        for s in range(stages):
            width = base_channels * min(2**s, 8)
            for i, stride in enumerate((1, 2)):
                first = s == 0 and i == 0
                layers.append(nn.Conv2d(ch, width, 3, stride, 1, bias=first or not batch))
                if batch and not first:
                    layers.append(nn.BatchNorm2d(width))
                layers.append(nn.LeakyReLU(0.2))
                ch = width
        self.features = nn.Sequential(*layers)
        self.feature_shape = (ch, _side_after(h, stages), _side_after(w, stages))
        flat = ch * self.feature_shape[1] * self.feature_shape[2]
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(flat, 1024), nn.LeakyReLU(0.2), nn.Linear(1024, 1))
        init_normal(self)
        if norm == "spectral":
            for m in self.modules():
                if isinstance(m, (nn.Conv2d, nn.Linear)):
                    spectral_norm(m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)


__all__ = ["SRGANDiscriminator", "stage_count", "refuse_classes", "MIN_SIDE"]
