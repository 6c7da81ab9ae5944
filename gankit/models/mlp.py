"""Fully connected GAN (Goodfellow et al. 2014), for 2D mixtures and flattened images.

Class conditioning (``cond``, off by default) is the cGAN's (Mirza & Osindero 2014): the label is
concatenated to G's z and to D's flattened input. D also offers ``projection`` (Miyato & Koyama
2018) and the ACGAN/TAC class heads (see :mod:`gankit.models.conditioning`).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.models.conditioning import D_PATH, G_PATH, ConditionalDiscriminator, check_cond, require_labels
from gankit.models.layers import MinibatchDiscrimination, MinibatchStdDev
from gankit.nn import LabelEmbedding, one_hot_maps


def _act(name: str) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.LeakyReLU(0.2)


@GENERATORS.register("mlp")
class MLPGenerator(nn.Module):
    """z -> hidden layers -> sample. Images get a tanh output in [-1, 1]; 2D points stay linear.

    ``forward(z, c=None)``. ``cond: concat`` feeds ``[z, e(c)]``, e one-hot (``embed_dim: 0``) or a
    learned ``embed_dim``-vector; with ``cond: none`` labels are ignored.
    """

    def __init__(
        self,
        z_dim: int,
        out_shape: tuple[int, ...],
        hidden: int = 128,
        layers: int = 2,
        activation: Literal["relu", "leaky_relu"] = "relu",
        batch_norm: bool = False,
        output: Literal["auto", "tanh", "linear"] = "auto",
        cond: Literal["none", "concat"] = "none",
        embed_dim: int = 0,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        check_cond(G_PATH, cond, num_classes)
        if embed_dim < 0:
            raise ConfigError(f"{G_PATH}.embed_dim: 0 (one-hot) or a positive width, got {embed_dim}.")
        self.z_dim, self.out_shape, self.cond = z_dim, tuple(out_shape), cond
        out_dim = math.prod(self.out_shape)
        self.embed = LabelEmbedding(num_classes, embed_dim) if cond == "concat" else None
        mods: list[nn.Module] = []
        width = z_dim + (self.embed.out_dim if self.embed is not None else 0)
        for _ in range(layers):
            mods.append(nn.Linear(width, hidden))
            if batch_norm:
                mods.append(nn.BatchNorm1d(hidden))
            mods.append(_act(activation))
            width = hidden
        mods.append(nn.Linear(width, out_dim))
        if output == "tanh" or (output == "auto" and len(self.out_shape) == 3):
            mods.append(nn.Tanh())
        self.net = nn.Sequential(*mods)

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.embed is not None:
            c = require_labels(c, f"{G_PATH}.cond", repr(self.cond))
            z = torch.cat([z, self.embed(c).to(z.dtype)], dim=1)
        return self.net(z).view(z.shape[0], *self.out_shape)


@DISCRIMINATORS.register("mlp")
class MLPDiscriminator(ConditionalDiscriminator):
    """sample -> hidden layers (LeakyReLU 0.2) -> one logit.

    Options against mode collapse (off by default): ``minibatch_std`` appends ProGAN's minibatch
    standard deviation as one more input of the last layer; ``minibatch_discrimination: B``
    (Salimans et al. 2016) appends B minibatch-discrimination features before it.
    ``features(x, c=None)`` is what the last layer sees and ``head`` that layer: the unconditional
    ``forward == head(features)``. ``cond: concat`` appends the one-hot label to the flattened input,
    ``cond: projection`` adds ``<embed(c), features(x)>``; ``aux_classifier`` / ``tac`` add class heads.
    """

    def __init__(
        self,
        in_shape: tuple[int, ...],
        hidden: int = 128,
        layers: int = 2,
        activation: Literal["relu", "leaky_relu"] = "leaky_relu",
        dropout: float = 0.0,
        minibatch_std: bool = False,
        minibatch_std_group: int = 4,
        minibatch_discrimination: int = 0,
        minibatch_kernel_dim: int = 5,
        cond: Literal["none", "concat", "projection"] = "none",
        aux_classifier: bool = False,
        tac: bool = False,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        if minibatch_discrimination < 0:
            raise ConfigError(f"model.discriminator.minibatch_discrimination: a number of kernels >= 0, got {minibatch_discrimination}.")
        check_cond(D_PATH, cond, num_classes)
        mods: list[nn.Module] = [nn.Flatten()]
        width = math.prod(in_shape) + (num_classes if cond == "concat" else 0)
        for _ in range(layers):
            mods += [nn.Linear(width, hidden), _act(activation)]
            if dropout > 0:
                mods.append(nn.Dropout(dropout))
            width = hidden
        if minibatch_std:
            mods.append(MinibatchStdDev(minibatch_std_group))
            width += 1
        if minibatch_discrimination:
            mods.append(MinibatchDiscrimination(width, minibatch_discrimination, minibatch_kernel_dim))
            width += minibatch_discrimination
        mods.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*mods)
        self._init_cond(cond, num_classes, width, aux_classifier, tac)

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        if self.cond == "concat":
            h = self.net[0](x)
            return self.net[1:-1](torch.cat([h, one_hot_maps(self.labels(c), self.num_classes, h)], dim=1))
        return self.net[:-1](x)

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return self.net[-1](f).view(-1)

    def _score(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


__all__ = ["MLPGenerator", "MLPDiscriminator"]
