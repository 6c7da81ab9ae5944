"""Inpainting networks: the masked-input wrapper, Iizuka's completion network and global + local D.

* :class:`Inpainter` -- any image-to-image generator (``unet``, ``resnet_translator``,
  ``completion_net``) built for (C + 1) -> C channels sees the image with its hole filled by a
  constant and the mask as one more channel (Pathak et al. 2016 fill the hole with the mean;
  Iizuka et al. 2017 add the mask channel so G knows *where* to paint), and its output is
  composited: only hole pixels are replaced, the known ones are returned bit for bit.
* ``completion_net`` (Iizuka et al. 2017, "Globally and Locally Consistent Image Completion",
  table 1): a conv encoder (two stride-2 steps), four dilated 3x3 convolutions (dilation 2, 4, 8,
  16) that widen the receptive field at 1/4 resolution without losing it, and a decoder with two
  4x4 transposed convolutions. Batch norm + ReLU after every layer but the output (tanh, for the
  [-1, 1] images; the paper's sigmoid is for [0, 1]). Widths are ``base_channels`` x (1, 2, 4):
  ``base_channels: 64`` is the paper's 64/128/256, the default 32 suits 28 px images.
  H and W must be multiples of 4 (28 -> 7 at the dilated layers). A dilation d >= the feature side
  would place every off-centre tap in the zero padding, so dilations are capped at side - 1 (at
  28 px: 2, 4, 6, 6; from 68 px up: the paper's 2, 4, 8, 16); ``dilations`` holds the ones built.
* ``global_local`` (Iizuka et al. 2017, table 2 and 3): a global trunk on the whole image and a
  local trunk on a ``local_size`` square centred on the hole's bounding box (clamped inside the
  image), 5x5 stride-2 convolutions + BN + ReLU down to a side of 4-6 (at most six: six at 256 px and
  five at the paper's 128 px local crop, as the paper; three and two at 28 / 14), each flattened to a
  1024-vector (linear + ReLU), concatenated, then one linear layer: a raw logit (N,). Call it as
  ``D(x, mask)``: real and fake images of one batch are scored around the same holes.

Masks are (N, 1, H, W), 1 marking the hole, any dtype; values > 0.5 count as hole.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, GENERATORS, build_translator, init_normal
from gankit.models.common import TranslationNorm, image_shape, translation_norm
from gankit.models.conditioning import D_PATH, G_PATH
from gankit.models.sr_discriminator import MIN_SIDE, refuse_classes

#: Iizuka et al.'s dilation rates, capped by the feature side.
DILATIONS = (2, 4, 8, 16)


def hole_of(mask: torch.Tensor | None, x: torch.Tensor, who: str) -> torch.Tensor:
    """The boolean hole (N, 1, H, W) of a mask checked against images x (N, C, H, W)."""
    if mask is None:
        raise ConfigError(f"{who} needs the hole mask: call it as (x, mask) with mask (N, 1, H, W), 1 = hole.")
    if mask.dim() != 4 or mask.shape[1] != 1 or mask.shape[0] != x.shape[0] or mask.shape[2:] != x.shape[2:]:
        raise ConfigError(
            f"{who}: masks are (N, 1, H, W) like the images (N, C, H, W) = {tuple(x.shape)}; got {tuple(mask.shape)}."
        )
    return mask > 0.5 if mask.dtype != torch.bool else mask


def composite(x: torch.Tensor, out: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x*(1 - mask) + out*mask`` for a binary mask, as a select: known pixels are x exactly (no
    0 * out term, which would turn an inf/NaN of out into NaN), and gradients reach out only in the hole."""
    return torch.where(hole_of(mask, x, "composite"), out, x)


class Inpainter(nn.Module):
    """``forward(x, mask)``: images (N, C, H, W) in [-1, 1] and masks -> completed images (N, C, H, W).

    ``core`` maps (N, C + 1, H, W) -> (N, C, H, W); :meth:`raw` returns its output before compositing
    (the hole loss is the same either way, a loss on the known pixels needs it).
    """

    def __init__(self, core: nn.Module, fill: float = 0.0) -> None:
        super().__init__()
        self.core, self.fill = core, float(fill)

    @classmethod
    def build(
        cls, name: str, params: dict[str, Any], shape: tuple[int, ...], fill: float = 0.0, path: str = G_PATH
    ) -> Inpainter:
        """Build the core translator ``name`` for images of ``shape`` (C, H, W) plus the mask channel."""
        c, h, w = image_shape(tuple(shape), path, "the inpainter", "completes")
        return cls(build_translator(name, params, (c + 1, h, w), (c, h, w), path), fill)

    def raw(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        hole = hole_of(mask, x, "Inpainter")
        x_in = torch.where(hole, torch.full((), self.fill, dtype=x.dtype, device=x.device), x)
        return self.core(torch.cat([x_in, hole.to(x.dtype)], 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return composite(x, self.raw(x, mask), mask)


def capped_dilations(side: int) -> list[int]:
    """Iizuka's dilations 2, 4, 8, 16, each at most side - 1 (and at least 1)."""
    return [max(1, min(d, side - 1)) for d in DILATIONS]


@GENERATORS.register("completion_net")
class CompletionNet(nn.Module):
    """``forward(x)``: (N, C_in, H, W) in [-1, 1] -> (N, C_out, H, W) in [-1, 1]; H, W multiples of 4."""

    maps = "image"

    def __init__(
        self,
        in_shape: tuple[int, ...],
        out_shape: tuple[int, ...],
        base_channels: int = 32,
        norm: TranslationNorm = "batch",
    ) -> None:
        super().__init__()
        c_in, h, w = image_shape(in_shape, G_PATH, "completion_net", "takes")
        c_out, ho, wo = image_shape(out_shape, G_PATH, "completion_net", "makes")
        if (h, w) != (ho, wo):
            raise ConfigError(f"{G_PATH}: completion_net keeps the image size; input {h}x{w} and output {ho}x{wo} differ.")
        if h % 4 or w % 4 or min(h, w) < 8:
            raise ConfigError(
                f"{G_PATH}: completion_net halves the image twice and doubles it back, so H and W must be "
                f"multiples of 4 and at least 8 (28, 32, 64 ...); got {h}x{w}."
            )
        if base_channels < 2:
            raise ConfigError(f"{G_PATH}.base_channels: at least 2 channels (the last layer has half), got {base_channels}.")
        self.in_shape, self.out_shape = (c_in, h, w), (c_out, h, w)
        self.dilations = capped_dilations(min(h, w) // 4)
        b, bias = base_channels, norm == "none"

        def unit(conv: nn.Module, ch: int) -> list[nn.Module]:
            return [conv, translation_norm(norm, ch), nn.ReLU()]

        def conv(ci: int, co: int, k: int = 3, s: int = 1, d: int = 1) -> list[nn.Module]:
            return unit(nn.Conv2d(ci, co, k, s, d * (k // 2), dilation=d, bias=bias), co)

        layers = conv(c_in, b, 5) + conv(b, 2 * b, s=2) + conv(2 * b, 2 * b)
        layers += conv(2 * b, 4 * b, s=2) + conv(4 * b, 4 * b) + conv(4 * b, 4 * b)
        for d in self.dilations:
            layers += conv(4 * b, 4 * b, d=d)
        layers += conv(4 * b, 4 * b) + conv(4 * b, 4 * b)
        layers += unit(nn.ConvTranspose2d(4 * b, 2 * b, 4, 2, 1, bias=bias), 2 * b) + conv(2 * b, 2 * b)
        layers += unit(nn.ConvTranspose2d(2 * b, b, 4, 2, 1, bias=bias), b) + conv(b, b // 2)
        layers += [nn.Conv2d(b // 2, c_out, 3, 1, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def hole_box_origin(mask: torch.Tensor, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(top, left), int64 (N,), of the ``size`` x ``size`` window centred on each hole's bounding box.

    The box spans rows y0..y1; the window starts at ``y0 + floor((y1 - y0 + 1 - size) / 2)``, clamped
    to [0, H - size] (likewise for columns). A sample without a hole gets the image centre.
    """
    hole = mask[:, 0] > 0.5 if mask.dtype != torch.bool else mask[:, 0]

    def start(any_along: torch.Tensor) -> torch.Tensor:  # (N, L) -> window start (N,)
        length = any_along.shape[1]
        flags = any_along.to(torch.uint8)
        lo = flags.argmax(1)  # first hole row (argmax returns the first maximum)
        hi = length - 1 - flags.flip(1).argmax(1)
        begin = lo + torch.div(hi - lo + 1 - size, 2, rounding_mode="floor")
        begin = torch.where(any_along.any(1), begin, torch.full_like(begin, (length - size) // 2))
        return begin.clamp(0, length - size)

    return start(hole.any(2)), start(hole.any(1))


def local_crop(x: torch.Tensor, mask: torch.Tensor, size: int) -> torch.Tensor:
    """(N, C, size, size) windows of x around each sample's hole, gathered in one indexing op."""
    top, left = hole_box_origin(mask, size)
    steps = torch.arange(size, device=x.device)
    rows, cols = top[:, None] + steps, left[:, None] + steps  # (N, size)
    n = torch.arange(x.shape[0], device=x.device)[:, None, None]
    return x[n, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (N, s, s, C) -> (N, C, s, s)


def conv_trunk(c_in: int, side: int, base: int, norm: TranslationNorm, max_layers: int = 6) -> tuple[nn.Sequential, int]:
    """5x5 stride-2 convs + norm + ReLU while the side stays >= 4, flattened; (trunk, features)."""
    layers: list[nn.Module] = []
    ch, n = c_in, 0
    while n < max_layers and -(-side // 2) >= MIN_SIDE:
        width = base * min(2**n, 8)
        layers += [nn.Conv2d(ch, width, 5, 2, 2, bias=norm == "none"), translation_norm(norm, width), nn.ReLU()]
        ch, side, n = width, -(-side // 2), n + 1
    return nn.Sequential(*layers, nn.Flatten()), ch * side * side


@DISCRIMINATORS.register("global_local")
class GlobalLocalDiscriminator(nn.Module):
    """``forward(x, mask)``: images (N, C, H, W) and hole masks (N, 1, H, W) -> one logit per image (N,)."""

    #: Tells a task to call ``D(x, mask)`` rather than ``D(x)``.
    reads_mask = True

    def __init__(
        self,
        in_shape: tuple[int, ...],
        base_channels: int = 64,
        local_size: int | None = None,
        norm: TranslationNorm = "batch",
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        refuse_classes(num_classes, "global_local")
        c, h, w = image_shape(in_shape, D_PATH, "global_local", "takes")
        if h != w:
            raise ConfigError(f"{D_PATH}: global_local takes square images (its trunks flatten a square map), got {h}x{w}.")
        if base_channels < 1:
            raise ConfigError(f"{D_PATH}.base_channels: a positive number of channels, got {base_channels}.")
        if h < 2 * MIN_SIDE - 1:
            raise ConfigError(f"{D_PATH}: global_local needs images of at least 7x7, got {h}x{w}.")
        size = (h + 1) // 2 if local_size is None else local_size
        if not 2 * MIN_SIDE - 1 <= size <= h:
            raise ConfigError(
                f"{D_PATH}.local_size: the side of the local crop, {2 * MIN_SIDE - 1} to {h} for {h}x{w} images "
                f"(default {(h + 1) // 2}, half the side); got {local_size}."
            )
        self.in_shape, self.local_size = (c, h, w), size
        self.global_trunk, g_feat = conv_trunk(c, h, base_channels, norm)
        self.local_trunk, l_feat = conv_trunk(c, size, base_channels, norm)
        self.global_fc = nn.Sequential(nn.Linear(g_feat, 1024), nn.ReLU())
        self.local_fc = nn.Sequential(nn.Linear(l_feat, 1024), nn.ReLU())
        self.head = nn.Linear(2048, 1)
        init_normal(self)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        hole = hole_of(mask, x, f"{D_PATH}: global_local")
        g = self.global_fc(self.global_trunk(x))
        loc = self.local_fc(self.local_trunk(local_crop(x, hole, self.local_size)))
        return self.head(torch.cat([g, loc], 1)).squeeze(1)


__all__ = [
    "CompletionNet",
    "DILATIONS",
    "GlobalLocalDiscriminator",
    "Inpainter",
    "capped_dilations",
    "composite",
    "conv_trunk",
    "hole_box_origin",
    "hole_of",
    "local_crop",
]
