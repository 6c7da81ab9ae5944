"""The ResNet generator of CycleGAN (Zhu et al. 2017, appendix 7.2; after Johnson et al. 2016).

c7s1-64, d128, d256, ``n_blocks`` x R256, u128, u64, c7s1-C_out: a 7x7 convolution, two 3x3
convolutions of stride 2, residual blocks (two reflection-padded 3x3 convolutions, the input
added back), two fractional-strided 3x3 convolutions, a 7x7 convolution and a tanh. Reflection
padding around the 7x7 and residual convolutions avoids border artefacts; InstanceNorm (without
affine parameters, as the reference code) and ReLU after every convolution but the last.
``n_blocks`` defaults to the paper's choice: 6 below 256 px, 9 at 256 px and above.

``first_padding: zero`` pads the first 7x7 convolution with zeros, as StarGAN's G does: a label
tiled over the image as constant planes is a constant after a reflection-padded convolution, which
instance norm then subtracts exactly; zero padding makes it vary near the border, so it survives.

Named ``resnet_translator`` because ``resnet`` is already the SNGAN/BigGAN noise-to-image family;
this one maps an image to an image (``forward(x)``), like ``unet``.

**Sizes.** The two stride-2 steps need a side divisible by 4, and work at 28x28 without padding:
28 -> 14 -> 7 (the residual blocks run at 7x7) -> 14 -> 28, since a 3x3 stride-2 convolution with
padding 1 halves an even side and the transposed one (padding 1, output padding 1) doubles it
back. ``upsample: resize`` replaces the transposed convolutions with nearest x2 + 3x3 convolution
(Odena et al. 2016), which avoids their checkerboard artefacts; the paper's is ``transposed``.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import GENERATORS, init_normal
from gankit.models.common import TranslationNorm, image_shape, translation_norm
from gankit.models.conditioning import G_PATH


class ResidualBlock(nn.Module):
    """x + (pad-conv3x3-norm-ReLU-[dropout]-pad-conv3x3-norm)(x): the CycleGAN R block."""

    def __init__(self, channels: int, norm: TranslationNorm, dropout: float = 0.0) -> None:
        super().__init__()
        bias = norm == "none"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            translation_norm(norm, channels),
            nn.ReLU(),
        ]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3, bias=bias), translation_norm(norm, channels)]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


@GENERATORS.register("resnet_translator")
class ResNetTranslator(nn.Module):
    """``forward(x)``: images (N, C_in, H, W) in [-1, 1] -> (N, C_out, H, W) in [-1, 1], H and W divisible by 4."""

    maps = "image"

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        base_channels: int = 64,
        n_blocks: int | None = None,
        norm: TranslationNorm = "instance",
        upsample: Literal["transposed", "resize"] = "transposed",
        dropout: float = 0.0,
        first_padding: Literal["reflect", "zero"] = "reflect",
    ) -> None:
        super().__init__()
        c_in, h, w = image_shape(in_shape, G_PATH, "resnet_translator", "takes")
        c_out, ho, wo = image_shape(out_shape, G_PATH, "resnet_translator", "makes")
        if (h, w) != (ho, wo):
            raise ConfigError(f"{G_PATH}: resnet_translator keeps the image size; input {h}x{w} and output {ho}x{wo} differ.")
        if h % 4 or w % 4 or min(h, w) < 8:
            raise ConfigError(
                f"{G_PATH}: resnet_translator halves the image twice and doubles it back, so H and W must be "
                f"multiples of 4 and at least 8 (28, 32, 64, 128, 256 ...); got {h}x{w}."
            )
        if base_channels < 1:
            raise ConfigError(f"{G_PATH}.base_channels: a positive number of channels, got {base_channels}.")
        blocks = (6 if max(h, w) < 256 else 9) if n_blocks is None else n_blocks
        if blocks < 0:
            raise ConfigError(f"{G_PATH}.n_blocks: 0 or more residual blocks (6 for 128 px, 9 for 256 px), got {n_blocks}.")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"{G_PATH}.dropout: a probability in [0, 1), got {dropout}.")
        if first_padding not in ("reflect", "zero"):
            raise ConfigError(f"{G_PATH}.first_padding: reflect (CycleGAN) or zero (StarGAN), got {first_padding!r}.")
        self.in_shape, self.out_shape, self.n_blocks = (c_in, h, w), (c_out, h, w), blocks
        bias = norm == "none"
        ch = base_channels
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3) if first_padding == "reflect" else nn.ZeroPad2d(3),
            nn.Conv2d(c_in, ch, 7, bias=bias),
            translation_norm(norm, ch),
            nn.ReLU(),
        ]
        for _ in range(2):  # d128, d256
            layers += [nn.Conv2d(ch, ch * 2, 3, 2, 1, bias=bias), translation_norm(norm, ch * 2), nn.ReLU()]
            ch *= 2
        layers += [ResidualBlock(ch, norm, dropout) for _ in range(blocks)]
        for _ in range(2):  # u128, u64
            if upsample == "transposed":
                layers.append(nn.ConvTranspose2d(ch, ch // 2, 3, 2, 1, output_padding=1, bias=bias))
            else:
                layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(ch, ch // 2, 3, bias=bias)]
            layers += [translation_norm(norm, ch // 2), nn.ReLU()]
            ch //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ch, c_out, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


__all__ = ["ResNetTranslator", "ResidualBlock"]
