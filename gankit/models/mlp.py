"""Fully connected GAN (Goodfellow et al. 2014), for 2D mixtures and flattened images."""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.models.layers import MinibatchDiscrimination, MinibatchStdDev


def _act(name: str) -> nn.Module:
    return nn.ReLU() if name == "relu" else nn.LeakyReLU(0.2)


@GENERATORS.register("mlp")
class MLPGenerator(nn.Module):
    """z -> hidden layers -> sample. Images get a tanh output in [-1, 1]; 2D points stay linear."""

    def __init__(
        self,
        z_dim: int,
        out_shape: tuple[int, ...],
        hidden: int = 128,
        layers: int = 2,
        activation: Literal["relu", "leaky_relu"] = "relu",
        batch_norm: bool = False,
        output: Literal["auto", "tanh", "linear"] = "auto",
    ) -> None:
        super().__init__()
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        out_dim = math.prod(self.out_shape)
        mods: list[nn.Module] = []
        width = z_dim
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

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(z.shape[0], *self.out_shape)


@DISCRIMINATORS.register("mlp")
class MLPDiscriminator(nn.Module):
    """sample -> hidden layers (LeakyReLU 0.2) -> one logit.

    Options against mode collapse (off by default): ``minibatch_std`` appends ProGAN's minibatch
    standard deviation as one more input of the last layer; ``minibatch_discrimination: B``
    (Salimans et al. 2016) appends B minibatch-discrimination features before it.
    ``features(x)`` is what the last layer sees and ``head`` that layer: ``forward == head(features)``.
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
    ) -> None:
        super().__init__()
        if minibatch_discrimination < 0:
            raise ConfigError(f"model.discriminator.minibatch_discrimination: a number of kernels >= 0, got {minibatch_discrimination}.")
        mods: list[nn.Module] = [nn.Flatten()]
        width = math.prod(in_shape)
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

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net[:-1](x)

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return self.net[-1](f).view(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)


__all__ = ["MLPGenerator", "MLPDiscriminator"]
