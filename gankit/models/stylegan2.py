"""StyleGAN2 G and D (Karras et al. 2020), small enough to train on a CPU at 28x28.

G = mapping (z [+ class embedding] -> w, an MLP of ``mapping_layers`` equalised layers at
lr x 0.01, with a tracked ``w_avg``) + synthesis (a learned constant, then per resolution two
modulated 3x3 convolutions with noise, and a toRGB whose outputs are summed up the resolutions:
the "skip" generator). Sizes are s0 * 2^n with s0 in {4, 7}: **28x28 grows 7 -> 14 -> 28**, so
Fashion-MNIST is generated at its own size with no padding; 32, 64, 128, 256 grow from 4.

Each synthesis layer reads its own w (``num_ws`` of them: two convolutions per resolution, the
first resolution one, plus the last toRGB), so style mixing and truncation act per layer.
Layer order is coarse -> fine; :meth:`StyleGenerator.layer_groups` names coarse/middle/fine.

D = fromRGB, residual blocks (two 3x3 convolutions, the second downsampling; a 1x1 skip; sum
scaled by 1/sqrt(2)) down to s0, then minibatch std, a 3x3 convolution, a dense layer and the
output -- or, in a conditional task, the projection of the features on the class embedding
(Miyato & Koyama 2018), as StyleGAN2-ADA's conditional D.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.models.common import halving_widths, image_layout, square_image
from gankit.models.conditioning import D_PATH, G_PATH, require_labels
from gankit.nn.style import EqualConv2d, EqualLinear, MinibatchStd, ModulatedConv2d, NoiseInjection, lrelu, pixel_norm


class MappingNetwork(nn.Module):
    """z (N, z_dim) [, labels c (N,)] -> w (N, w_dim). ``w_avg`` follows w during training (for truncation)."""

    def __init__(self, z_dim: int, w_dim: int, layers: int, num_classes: int = 0, lr_mul: float = 0.01,
                 w_avg_beta: float = 0.995) -> None:  # fmt: skip
        super().__init__()
        if layers < 1:
            raise ConfigError(f"{G_PATH}.mapping_layers: at least 1 (8 in the paper, 2 for small data), got {layers}.")
        self.z_dim, self.w_dim, self.num_classes, self.w_avg_beta = z_dim, w_dim, num_classes, w_avg_beta
        self.embed = EqualLinear(num_classes, w_dim) if num_classes else None  # one-hot -> embedding, as SG2-ADA
        dims = [z_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_mul=lr_mul, activate=True) for a, b in zip(dims[:-1], dims[1:])])
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, update_w_avg: bool = False) -> torch.Tensor:
        x = pixel_norm(z.reshape(z.shape[0], self.z_dim))
        if self.embed is not None:
            c = require_labels(c, f"{G_PATH} (stylegan2, conditional)", "the class embedding of the mapping network")
            e = self.embed(nn.functional.one_hot(c.long(), self.num_classes).to(x.dtype))
            x = torch.cat([x, pixel_norm(e)], dim=1)
        w = self.net(x)
        if update_w_avg:
            with torch.no_grad():
                self.w_avg.copy_(w.detach().mean(0).to(self.w_avg.dtype).lerp(self.w_avg, self.w_avg_beta))  # w is bf16 under autocast
        return w

    def truncate(self, w: torch.Tensor, psi: float) -> torch.Tensor:
        """w_avg + psi (w - w_avg): psi = 1 is w itself, psi = 0 the average image."""
        return self.w_avg.to(w.dtype).lerp(w, psi)


class SynthesisLayer(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, w_dim: int, size: int, up: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, demodulate=True, up=up)
        self.noise = NoiseInjection((size, size))
        self.bias = nn.Parameter(torch.zeros(out_ch))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        x = self.noise(self.conv(x, w), noise)
        return lrelu(x + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(out_ch))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisNetwork(nn.Module):
    """ws (N, num_ws, w_dim) -> images (N, C, H, W), unbounded (the skip outputs summed; tanh is not used)."""

    def __init__(self, w_dim: int, out_shape: tuple[int, ...], max_channels: int, min_channels: int) -> None:
        super().__init__()
        c_out, size = square_image(out_shape, G_PATH, "StyleGAN2", "makes")
        s0, n = image_layout(size, G_PATH, "StyleGAN2")
        self.s0, self.n, self.resolutions = s0, n, [s0 * 2**i for i in range(n + 1)]
        ch = halving_widths(n, max_channels, min_channels)
        self.const = nn.Parameter(torch.randn(ch[0], s0, s0))
        self.layers = nn.ModuleList([SynthesisLayer(ch[0], ch[0], w_dim, s0)])
        self.torgbs = nn.ModuleList([ToRGB(ch[0], c_out, w_dim)])
        for i in range(1, n + 1):
            r = self.resolutions[i]
            self.layers.append(SynthesisLayer(ch[i - 1], ch[i], w_dim, r, up=True))
            self.layers.append(SynthesisLayer(ch[i], ch[i], w_dim, r))
            self.torgbs.append(ToRGB(ch[i], c_out, w_dim))
        self.num_ws = len(self.layers) + 1  # toRGB i reads the w of the layer after it; the last reads its own

    def noise_shapes(self) -> list[tuple[int, int]]:
        return [(self.resolutions[0],) * 2] + [(r, r) for r in self.resolutions[1:] for _ in range(2)]  # type: ignore[misc]

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        if ws.dim() != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"synthesis expects ws of shape (N, {self.num_ws}, w_dim), got {tuple(ws.shape)}")
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        x = self.layers[0](x, ws[:, 0], noise[0] if noise else None)
        img = self.torgbs[0](x, ws[:, 1])
        for i in range(1, self.n + 1):
            j = 2 * i - 1
            x = self.layers[j](x, ws[:, j], noise[j] if noise else None)
            x = self.layers[j + 1](x, ws[:, j + 1], noise[j + 1] if noise else None)
            up = nn.functional.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False)
            img = up + self.torgbs[i](x, ws[:, j + 2])
        return img


@GENERATORS.register("stylegan2")
class StyleGenerator(nn.Module):
    """``forward(z, c=None)`` -> images in about [-1, 1] (no tanh, as in StyleGAN2; ``truncation_psi`` applies in w)."""

    def __init__(self, z_dim: int, out_shape: tuple[int, ...], w_dim: int = 256, mapping_layers: int = 2,
                 max_channels: int = 256, min_channels: int = 32, num_classes: int = 0,
                 mapping_lr_mul: float = 0.01, w_avg_beta: float = 0.995) -> None:  # fmt: skip
        super().__init__()
        if min(w_dim, max_channels, min_channels) < 1 or min_channels > max_channels:
            raise ConfigError(f"{G_PATH}: w_dim, max_channels, min_channels must be positive with min <= max.")
        self.z_dim, self.out_shape, self.num_classes = z_dim, tuple(out_shape), num_classes
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, num_classes, mapping_lr_mul, w_avg_beta)
        self.synthesis = SynthesisNetwork(w_dim, out_shape, max_channels, min_channels)
        self.num_ws = self.synthesis.num_ws

    def w_resolutions(self) -> list[int]:
        """The resolution each w acts at: the s0 layer, two per doubling, and the last toRGB."""
        res = self.synthesis.resolutions
        return [res[0]] + [r for r in res[1:] for _ in range(2)] + [res[-1]]

    def layer_groups(self) -> dict[str, list[int]]:
        """The ws of coarse / middle / fine layers. From 64x64 up the paper's split (coarse <= 8, middle
        16-32, fine above); below it, by position: coarse up to top/4, middle top/2, fine the top."""
        res, top = self.w_resolutions(), self.synthesis.resolutions[-1]
        c_max, m_max = (8, 32) if top >= 64 else (top // 4, top // 2)
        return {"coarse": [i for i, r in enumerate(res) if r <= c_max],
                "middle": [i for i, r in enumerate(res) if c_max < r <= m_max],
                "fine": [i for i, r in enumerate(res) if r > m_max]}  # fmt: skip

    def ws(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0,
           update_w_avg: bool = False) -> torch.Tensor:  # fmt: skip
        w = self.mapping(z, c, update_w_avg=update_w_avg)
        if truncation_psi != 1.0:
            w = self.mapping.truncate(w, truncation_psi)
        return w[:, None].expand(-1, self.num_ws, -1)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None, truncation_psi: float = 1.0, *,
                mix_z: torch.Tensor | None = None, mix_cutoff: torch.Tensor | None = None, update_w_avg: bool = False,
                noise: list[torch.Tensor] | None = None, return_ws: bool = False) -> Any:  # fmt: skip
        """Images from z; training passes ``mix_z``/``mix_cutoff`` (style mixing) and ``update_w_avg``.
        ``return_ws`` also returns the ws the synthesis read (path-length regularisation differentiates by them)."""
        ws = self.ws(z, c, truncation_psi, update_w_avg)
        if mix_z is not None and mix_cutoff is not None:
            ws = mix_styles(ws, self.ws(mix_z, c, truncation_psi), mix_cutoff)
        if return_ws:  # float32 ws feed the synthesis, so the ws returned (a wrapper's float32 cast is a no-op) are in img's graph
            ws = ws.float()
        img = self.synthesis(ws, noise)
        return (img, ws) if return_ws else img


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, cutoff: int | torch.Tensor) -> torch.Tensor:
    """Style mixing: layers before ``cutoff`` (one int, or one per sample) read ``ws_a``, the rest ``ws_b``
    (StyleGAN, section 3.1). A cutoff of ``num_ws`` keeps ``ws_a`` whole."""
    layer = torch.arange(ws_a.shape[1], device=ws_a.device)[None, :, None]
    cut = torch.as_tensor(cutoff, device=ws_a.device).reshape(-1, 1, 1)
    return torch.where(layer < cut, ws_a, ws_b)


class DBlock(nn.Module):
    """Two 3x3 convolutions (the second halves the size) plus a 1x1 downsampled skip, summed / sqrt(2)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_ch, in_ch, 3, activate=True)
        self.conv1 = EqualConv2d(in_ch, out_ch, 3, activate=True, down=True)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False, down=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.skip(x) + self.conv1(self.conv0(x))) / math.sqrt(2.0)


@DISCRIMINATORS.register("stylegan2")
class StyleDiscriminator(nn.Module):
    """``forward(x, c=None, with_logits=False)`` -> scores (N,); projection on the class embedding when conditional."""

    def __init__(self, in_shape: tuple[int, ...], max_channels: int = 256, min_channels: int = 32, mbstd_group: int = 4,
                 num_classes: int = 0, cmap_dim: int = 128) -> None:  # fmt: skip
        super().__init__()
        c_in, size = square_image(in_shape, D_PATH, "StyleGAN2", "reads")
        s0, n = image_layout(size, D_PATH, "StyleGAN2")
        ch = list(reversed(halving_widths(n, max_channels, min_channels)))  # fine -> coarse
        self.num_classes = num_classes
        self.from_rgb = EqualConv2d(c_in, ch[0], 1, activate=True)
        self.blocks = nn.Sequential(*[DBlock(ch[i], ch[i + 1]) for i in range(n)])
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = EqualConv2d(ch[-1] + 1, ch[-1], 3, activate=True)
        self.fc = EqualLinear(ch[-1] * s0 * s0, ch[-1], activate=True)
        self.out = EqualLinear(ch[-1], cmap_dim if num_classes else 1)
        self.embed = EqualLinear(num_classes, cmap_dim) if num_classes else None
        self.cmap_dim = cmap_dim

    def features(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(self.mbstd(self.blocks(self.from_rgb(x))))
        return self.fc(h.flatten(1))

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None, with_logits: bool = False) -> Any:
        out = self.out(self.features(x))
        if self.embed is not None:  # projection: <out, embed(c)> / sqrt(cmap_dim), as StyleGAN2-ADA
            c = require_labels(c, f"{D_PATH} (stylegan2, conditional)", "projection on the class embedding")
            cmap = self.embed(nn.functional.one_hot(c.long(), self.num_classes).to(out.dtype))
            score = (out * cmap).sum(dim=1) / math.sqrt(self.cmap_dim)
        else:
            score = out.squeeze(1)
        return (score, None) if with_logits else score


__all__ = ["MappingNetwork", "StyleDiscriminator", "StyleGenerator", "SynthesisNetwork", "mix_styles"]
