"""DCGAN (Radford et al. 2015): transposed convolutions up, strided convolutions down, no pooling.

BatchNorm everywhere except the generator output and the discriminator input, ReLU in G,
LeakyReLU(0.2) in D, tanh output, N(0, 0.02) init. A resolution is ``s0 * 2**n`` with a
``s0 x s0`` seed (4 for 32/64/128, 7 for 28), so the 64x64 model with ``base_channels: 128`` is the
paper's 100 -> 4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64xC.

Class conditioning (``cond``, off by default; see :mod:`gankit.models.conditioning`): G takes the
label concatenated to z (``concat``, Mirza & Osindero 2014) or through conditional batch norm
(``cbn``, de Vries et al. 2017); D takes it as K one-hot input channels (``concat``) or through
the projection term (``projection``, Miyato & Koyama 2018), and can carry ACGAN/TAC class heads.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, GENERATORS, init_normal
from gankit.models.common import image_layout, square_image
from gankit.models.conditioning import D_PATH, G_PATH, ConditionalDiscriminator, check_cond, require_labels
from gankit.models.layers import MinibatchDiscrimination, MinibatchStdDev
from gankit.nn import ConditionalBatchNorm2d, LabelEmbedding, one_hot_maps

Norm = Literal["batch", "layer", "instance", "none"]


def _layout(size: int, path: str) -> tuple[int, int]:
    """(seed size, number of 2x steps) for an image side length."""
    return image_layout(size, path, "DCGAN")


def _norm(kind: Norm, channels: int, num_classes: int = 0) -> nn.Module:
    if kind == "batch":
        return ConditionalBatchNorm2d(channels, num_classes) if num_classes else nn.BatchNorm2d(channels)
    if kind == "layer":  # layer norm over (C, H, W): the WGAN-GP critic's choice
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


@GENERATORS.register("dcgan")
class DCGANGenerator(nn.Module):
    """``forward(z, c=None)``: z (N, z_dim) [and labels c (N,)] -> images (N, C, H, W) in [-1, 1].

    ``cond: concat`` feeds ``[z, e(c)]`` to the first layer, e one-hot (``embed_dim: 0``) or a
    learned ``embed_dim``-vector; ``cond: cbn`` makes every batch norm class-conditional (needs
    ``norm: batch``). With ``cond: none`` labels are ignored and the network is the plain DCGAN.
    """

    def __init__(
        self,
        z_dim: int,
        out_shape: tuple[int, ...],
        base_channels: int = 64,
        norm: Norm = "batch",
        cond: Literal["none", "concat", "cbn"] = "none",
        embed_dim: int = 0,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        c_out, size = square_image(out_shape, G_PATH, "DCGAN", "makes")
        s0, n = _layout(size, G_PATH)
        check_cond(G_PATH, cond, num_classes)
        if embed_dim < 0:
            raise ConfigError(f"{G_PATH}.embed_dim: 0 (one-hot) or a positive width, got {embed_dim}.")
        if cond == "cbn" and norm != "batch":
            raise ConfigError(f"{G_PATH}.cond: 'cbn' conditions batch norm, so it needs norm: batch, got norm: {norm!r}.")
        self.z_dim, self.out_shape, self.cond = z_dim, tuple(out_shape), cond
        self.num_classes = num_classes if cond != "none" else 0
        self.embed = LabelEmbedding(num_classes, embed_dim) if cond == "concat" else None
        bn_classes = num_classes if cond == "cbn" else 0
        width = base_channels * 2 ** (n - 1)
        in_ch = z_dim + (self.embed.out_dim if self.embed is not None else 0)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(in_ch, width, s0, 1, 0, bias=False),
            _norm(norm, width, bn_classes),
            nn.ReLU(True),
        ]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), _norm(norm, width // 2, bn_classes), nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, c_out, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond == "none":
            return self.net(z.view(z.shape[0], self.z_dim, 1, 1))
        c = require_labels(c, f"{G_PATH}.cond", repr(self.cond))
        if self.embed is not None:
            z = torch.cat([z.view(z.shape[0], self.z_dim), self.embed(c).to(z.dtype)], dim=1)
        h = z.reshape(z.shape[0], -1, 1, 1)
        for m in self.net:
            h = m(h, c) if isinstance(m, ConditionalBatchNorm2d) else m(h)
        return h


@DISCRIMINATORS.register("dcgan")
class DCGANDiscriminator(ConditionalDiscriminator):
    """Strided convolutions down to ``s0 x s0``, then one ``s0 x s0`` convolution to a logit.

    Options against mode collapse and overfitting (all off by default, which is the DCGAN paper's
    network): ``minibatch_std`` appends ProGAN's minibatch standard deviation as one more channel
    before the last convolution; ``minibatch_discrimination: B`` (Salimans et al. 2016) flattens
    the features, appends B minibatch-discrimination features and scores them with a linear head;
    ``dropout`` adds element-wise dropout after every LeakyReLU.

    ``features(x, c=None)`` are the flattened activations the last layer sees and ``head(f)`` that
    last layer, so the unconditional ``forward(x) == head(features(x))`` (feature matching uses
    them). ``cond: concat`` appends K one-hot channels to the image; ``cond: projection`` adds
    ``<embed(c), features(x)>``; ``aux_classifier`` / ``tac`` add class heads on the features.
    """

    def __init__(
        self,
        in_shape: tuple[int, ...],
        base_channels: int = 64,
        norm: Norm = "batch",
        minibatch_std: bool = False,
        minibatch_std_group: int = 4,
        minibatch_discrimination: int = 0,
        minibatch_kernel_dim: int = 5,
        dropout: float = 0.0,
        cond: Literal["none", "concat", "projection"] = "none",
        aux_classifier: bool = False,
        tac: bool = False,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        c_in, size = square_image(in_shape, D_PATH, "DCGAN", "takes")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.discriminator.dropout: a probability in [0, 1) is needed, got {dropout}.")
        if minibatch_discrimination < 0:
            raise ConfigError(f"model.discriminator.minibatch_discrimination: a number of kernels >= 0, got {minibatch_discrimination}.")
        s0, n = _layout(size, D_PATH)
        check_cond(D_PATH, cond, num_classes)

        def act() -> list[nn.Module]:
            return [nn.LeakyReLU(0.2, True)] + ([nn.Dropout(dropout)] if dropout > 0 else [])

        width = base_channels
        c_first = c_in + (num_classes if cond == "concat" else 0)
        layers: list[nn.Module] = [nn.Conv2d(c_first, width, 4, 2, 1), *act()]
        for _ in range(n - 1):
            layers += [nn.Conv2d(width, width * 2, 4, 2, 1, bias=False), _norm(norm, width * 2), *act()]
            width *= 2
        if minibatch_std:
            layers.append(MinibatchStdDev(minibatch_std_group))
            width += 1
        if minibatch_discrimination:
            flat = width * s0 * s0
            layers += [
                nn.Flatten(),
                MinibatchDiscrimination(flat, minibatch_discrimination, minibatch_kernel_dim),
                nn.Linear(flat + minibatch_discrimination, 1),
            ]
            self._head_in: tuple[int, ...] = (flat + minibatch_discrimination,)
        else:
            layers.append(nn.Conv2d(width, 1, s0, 1, 0))
            self._head_in = (width, s0, s0)
        self.net = nn.Sequential(*layers)
        self._init_cond(cond, num_classes, math.prod(self._head_in), aux_classifier, tac)
        init_normal(self)

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond == "concat":
            x = torch.cat([x, one_hot_maps(self.labels(c), self.num_classes, x)], dim=1)
        return self.net[:-1](x).flatten(1)

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return self.net[-1](f.view(f.shape[0], *self._head_in)).view(-1)

    def _score(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)
