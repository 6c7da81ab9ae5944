"""ProGAN G and D (Karras et al. 2018, "Progressive Growing of GANs"), grown by a stage and a fade.

Every resolution's layers exist from the start; ``stage`` (how many doublings are active) and
``alpha`` (the fade of the newest one, 0 -> 1) are buffers, set by the ``progan`` task from the
training clock, saved with the weights and read at inference. G always returns images at the
final size (the active resolution upsampled, nearest), so grids, metrics and export see one shape;
D average-pools its input to the active resolution, so it judges exactly what G made.

Fade-in: G's output is lerp(up(toRGB_{k-1}(h_{k-1})), toRGB_k(h_k), alpha); D's first features
are lerp(fromRGB_{k-1}(pool(x)), block_k(fromRGB_k(x)), alpha). Layers: equalised learning rate,
pixel norm after every G convolution, minibatch std before D's last block, leaky ReLU 0.2.
Sizes s0 * 2^n with s0 in {4, 7}: 28x28 grows 7 -> 14 -> 28.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.models.common import halving_widths, image_layout, square_image
from gankit.models.conditioning import D_PATH, G_PATH
from gankit.nn.style import EqualConv2d, EqualLinear, MinibatchStd, lrelu, pixel_norm


class _Growable(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n
        self.register_buffer("stage", torch.tensor(n, dtype=torch.long))
        self.register_buffer("alpha", torch.tensor(1.0))

    def set_growth(self, stage: int, alpha: float) -> None:
        self.stage.fill_(max(0, min(self.n, stage)))
        self.alpha.fill_(float(alpha))


@GENERATORS.register("progan")
class ProGenerator(_Growable):
    def __init__(self, z_dim: int, out_shape: tuple[int, ...], max_channels: int = 128, min_channels: int = 32,
                 num_classes: int = 0) -> None:  # fmt: skip
        c_out, size = square_image(out_shape, G_PATH, "ProGAN", "makes")
        s0, n = image_layout(size, G_PATH, "ProGAN")
        super().__init__(n)
        del num_classes  # unconditional (the task refuses labels)
        ch = halving_widths(n, max_channels, min_channels)
        self.z_dim, self.s0, self.size, self.ch0 = z_dim, s0, size, ch[0]
        self.dense = EqualLinear(z_dim, ch[0] * s0 * s0)
        self.convs = nn.ModuleList([nn.ModuleList([EqualConv2d(ch[0], ch[0], 3)])])
        for i in range(1, n + 1):
            self.convs.append(nn.ModuleList([EqualConv2d(ch[i - 1], ch[i], 3), EqualConv2d(ch[i], ch[i], 3)]))
        self.to_rgb = nn.ModuleList([EqualConv2d(c, c_out, 1) for c in ch])

    #: z is pixel-normalised first, so scaling it (psi truncation in z) changes nothing.
    normalizes_z = True

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        k, alpha = int(self.stage), self.alpha.to(z.dtype)
        h = pixel_norm(lrelu(self.dense(pixel_norm(z.reshape(z.shape[0], self.z_dim)))).view(z.shape[0], self.ch0, self.s0, self.s0))
        prev = None
        for i in range(k + 1):
            if i > 0:
                prev = h
                h = F.interpolate(h, scale_factor=2.0, mode="nearest")
            for conv in self.convs[i]:
                h = pixel_norm(lrelu(conv(h)))
        rgb = self.to_rgb[k](h)
        if k > 0 and prev is not None and float(alpha) < 1.0:
            old = F.interpolate(self.to_rgb[k - 1](prev), scale_factor=2.0, mode="nearest")
            rgb = old + (rgb - old) * alpha
        if rgb.shape[-1] != self.size:
            rgb = F.interpolate(rgb, size=(self.size, self.size), mode="nearest")
        return rgb


@DISCRIMINATORS.register("progan")
class ProDiscriminator(_Growable):
    def __init__(self, in_shape: tuple[int, ...], max_channels: int = 128, min_channels: int = 32, mbstd_group: int = 4,
                 num_classes: int = 0) -> None:  # fmt: skip
        c_in, size = square_image(in_shape, D_PATH, "ProGAN", "reads")
        s0, n = image_layout(size, D_PATH, "ProGAN")
        super().__init__(n)
        del num_classes
        ch = halving_widths(n, max_channels, min_channels)
        self.s0, self.size = s0, size
        self.from_rgb = nn.ModuleList([EqualConv2d(c_in, c, 1) for c in ch])
        # block i (i >= 1) takes resolution s0 * 2^i down to s0 * 2^(i-1)
        self.blocks = nn.ModuleList([nn.Identity()] + [nn.ModuleList([EqualConv2d(ch[i], ch[i], 3), EqualConv2d(ch[i], ch[i - 1], 3)])
                                                       for i in range(1, n + 1)])  # fmt: skip
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = EqualConv2d(ch[0] + 1, ch[0], 3)
        self.fc = EqualLinear(ch[0] * s0 * s0, ch[0])
        self.out = EqualLinear(ch[0], 1)

    def _block(self, i: int, h: torch.Tensor) -> torch.Tensor:
        a, b = self.blocks[i]  # type: ignore[misc]
        return F.avg_pool2d(lrelu(b(lrelu(a(h)))), 2)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, with_logits: bool = False) -> Any:
        k, alpha = int(self.stage), self.alpha.to(x.dtype)
        res = self.s0 * 2**k
        if x.shape[-1] != res:
            x = F.adaptive_avg_pool2d(x, res)  # what G made at this stage, exactly (nearest up, mean down)
        h = lrelu(self.from_rgb[k](x))
        if k > 0:
            h = self._block(k, h)
            if float(alpha) < 1.0:
                old = lrelu(self.from_rgb[k - 1](F.avg_pool2d(x, 2)))
                h = old + (h - old) * alpha
            for i in range(k - 1, 0, -1):
                h = self._block(i, h)
        h = lrelu(self.conv(self.mbstd(h)))
        score = self.out(lrelu(self.fc(h.flatten(1)))).squeeze(1)
        return (score, None) if with_logits else score


__all__ = ["ProDiscriminator", "ProGenerator"]
