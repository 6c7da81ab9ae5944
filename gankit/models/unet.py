"""The U-Net generator of Pix2Pix (Isola et al. 2017, section 3.2.1 and appendix 6.1.1).

An encoder-decoder whose decoder layer i also reads encoder layer n - i (concatenated along the
channels), so low-level structure shared by input and output (edges, layout) bypasses the
bottleneck. Encoder C64-C128-C256-C512-C512-...: 4x4 convolutions of stride 2, LeakyReLU 0.2, no
norm on the first layer; the decoder mirrors it with 4x4 transposed convolutions and ReLU, and
ends in a tanh. Widths are ``base_channels * min(2**i, 8)``. The bottleneck convolution has no norm
either: at 1x1 a batch (of one) or an instance has a single value per channel, which a norm would
zero (the reference implementation does the same). Dropout (p = ``dropout_p``, 0.5) follows the
norm of the first ``dropout`` decoder layers (default 3, at most num_downs - 1), counted from the
bottleneck, as the paper's CD512-CD1024-CD1024 (the reference code starts one layer later). Pix2Pix also keeps dropout at test
time as its noise source; ``dropout_at_eval: true`` does that, the default is a deterministic G.
Norm ``instance`` is InstanceNorm without affine parameters (the reference's choice); convolutions
followed by a norm have no bias. Init N(0, 0.02) as DCGAN.

**Sizes.** ``num_downs`` halvings need a side divisible by 2**num_downs. Other sides (28) are
reflection-padded up to the next multiple and cropped back, so a 28x28 input gives 28x28 out:
with the default depth, 28 -> pad 32 -> 16 -> 8 -> 4 -> 2 -> 1 -> ... -> 32 -> crop 28. The
default ``num_downs`` goes down to 1x1, ceil(log2(side)): 8 at 256 (the paper's unet_256), 7 at
128, 6 at 64, 5 at 32 and 28. A deeper net would only add layers that see zero-padding around a
1x1 map, so ``num_downs`` is at most that value. Reflection padding (not zeros) continues the
image's border (a black Fashion-MNIST background stays black, zero would be mid-gray).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models import GENERATORS, init_normal
from gankit.models.common import TranslationNorm, image_shape, translation_norm
from gankit.models.conditioning import G_PATH


def max_depth(side: int) -> int:
    """Halvings that bring ``side`` (padded to a multiple) down to 1: ceil(log2(side))."""
    return max(1, math.ceil(math.log2(side)))


class EvalDropout(nn.Dropout):
    """Dropout that can stay on in eval mode (Pix2Pix's test-time noise)."""

    def __init__(self, p: float, at_eval: bool) -> None:
        super().__init__(p)
        self.at_eval = at_eval

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.dropout(x, self.p, self.training or self.at_eval)


@GENERATORS.register("unet")
class UNetGenerator(nn.Module):
    """``forward(x)``: images (N, C_in, H, W) in [-1, 1] -> (N, C_out, H, W) in [-1, 1].

    ``downs[i]`` is encoder layer i, ``ups[j]`` decoder layer j (j = 0 at the bottleneck); decoder
    layer j > 0 reads ``cat(encoder_{n-1-j}, decoder_{j-1})``.
    """

    maps = "image"

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        base_channels: int = 64,
        num_downs: int | None = None,
        norm: TranslationNorm = "batch",
        dropout: int | None = None,
        dropout_p: float = 0.5,
        dropout_at_eval: bool = False,
    ) -> None:
        super().__init__()
        c_in, h, w = image_shape(in_shape, G_PATH, "U-Net", "takes")
        c_out, ho, wo = image_shape(out_shape, G_PATH, "U-Net", "makes")
        if (h, w) != (ho, wo):
            raise ConfigError(f"{G_PATH}: U-Net keeps the image size; input {h}x{w} and output {ho}x{wo} differ.")
        if base_channels < 1:
            raise ConfigError(f"{G_PATH}.base_channels: a positive number of channels, got {base_channels}.")
        deepest = max_depth(max(h, w))
        n = deepest if num_downs is None else num_downs
        if not 2 <= n <= deepest:
            raise ConfigError(
                f"{G_PATH}.num_downs: 2 to {deepest} for {h}x{w} images ({deepest} reaches a 1x1 bottleneck; "
                f"8 at 256 px as in the paper), or null for {deepest}; got {num_downs}."
            )
        dropout = min(3, n - 1) if dropout is None else dropout
        if not 0 <= dropout <= n - 1:
            raise ConfigError(f"{G_PATH}.dropout: the number of decoder layers with dropout, 0 to {n - 1}, got {dropout}.")
        if not 0.0 <= dropout_p < 1.0:
            raise ConfigError(f"{G_PATH}.dropout_p: a probability in [0, 1), got {dropout_p}.")
        self.in_shape, self.out_shape, self.num_downs = (c_in, h, w), (c_out, h, w), n
        widths = [base_channels * min(2**i, 8) for i in range(n)]
        has_norm = norm != "none"

        self.downs = nn.ModuleList()
        for i in range(n):
            conv_in = c_in if i == 0 else widths[i - 1]
            normed = 0 < i < n - 1  # not the first (the paper) nor the bottleneck (1x1)
            layers: list[nn.Module] = [] if i == 0 else [nn.LeakyReLU(0.2)]
            layers.append(nn.Conv2d(conv_in, widths[i], 4, 2, 1, bias=not (normed and has_norm)))
            if normed:
                layers.append(translation_norm(norm, widths[i]))
            self.downs.append(nn.Sequential(*layers))

        self.ups = nn.ModuleList()
        for j in range(n):
            level = n - 1 - j  # the encoder level this layer undoes
            conv_in = widths[level] * (1 if j == 0 else 2)
            if level == 0:
                self.ups.append(nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(conv_in, c_out, 4, 2, 1), nn.Tanh()))
                continue
            layers = [nn.ReLU(), nn.ConvTranspose2d(conv_in, widths[level - 1], 4, 2, 1, bias=not has_norm)]
            layers.append(translation_norm(norm, widths[level - 1]))
            if j < dropout and dropout_p > 0:
                layers.append(EvalDropout(dropout_p, dropout_at_eval))
            self.ups.append(nn.Sequential(*layers))
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = 2**self.num_downs
        ph, pw = -h % m, -w % m
        if ph or pw:
            mode = "reflect" if ph < h and pw < w else "replicate"
            x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode=mode)
        skips: list[torch.Tensor] = []
        for down in self.downs:
            x = down(x)
            skips.append(x)
        for j, up in enumerate(self.ups):
            if j > 0:
                x = torch.cat([skips[self.num_downs - 1 - j], x], dim=1)
            x = up(x)
        if ph or pw:
            x = x[..., ph // 2 : ph // 2 + h, pw // 2 : pw // 2 + w]
        return x


__all__ = ["UNetGenerator", "EvalDropout", "max_depth"]
