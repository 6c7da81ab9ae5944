"""DCGAN (Radford et al. 2015): transposed convolutions up, strided convolutions down, no pooling.

BatchNorm everywhere except the generator output and the discriminator input, ReLU in G,
LeakyReLU(0.2) in D, tanh output, N(0, 0.02) init. A resolution is ``s0 * 2**n`` with a
``s0 x s0`` seed (4 for 32/64/128, 7 for 28), so the 64x64 model with ``base_channels: 128`` is the
paper's 100 -> 4x4x1024 -> 8x8x512 -> 16x16x256 -> 32x32x128 -> 64x64xC.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, GENERATORS, init_normal
from gankit.models.layers import MinibatchDiscrimination, MinibatchStdDev

Norm = Literal["batch", "layer", "instance", "none"]


def _layout(size: int, path: str) -> tuple[int, int]:
    """(seed size, number of 2x steps) for an image side length."""
    for s0 in (4, 7):
        n, rem = 0, size
        while rem > s0 and rem % 2 == 0:
            rem //= 2
            n += 1
        if rem == s0 and n >= 1:
            return s0, n
    raise ConfigError(
        f"{path}: DCGAN supports image sizes 4*2^n or 7*2^n (28, 32, 64, 128, 256 ...), got {size}. "
        "Set data.image_size accordingly."
    )


def _norm(kind: Norm, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "layer":  # layer norm over (C, H, W): the WGAN-GP critic's choice
        return nn.GroupNorm(1, channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    return nn.Identity()


@GENERATORS.register("dcgan")
class DCGANGenerator(nn.Module):
    def __init__(
        self,
        z_dim: int,
        out_shape: tuple[int, ...],
        base_channels: int = 64,
        norm: Norm = "batch",
    ) -> None:
        super().__init__()
        if len(out_shape) != 3 or out_shape[1] != out_shape[2]:
            raise ConfigError(f"model.generator: DCGAN makes square images (C, H, H), data gives {tuple(out_shape)}.")
        c_out, size = out_shape[0], out_shape[1]
        s0, n = _layout(size, "model.generator")
        self.z_dim, self.out_shape = z_dim, tuple(out_shape)
        width = base_channels * 2 ** (n - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(z_dim, width, s0, 1, 0, bias=False),
            _norm(norm, width),
            nn.ReLU(True),
        ]
        for _ in range(n - 1):
            layers += [nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False), _norm(norm, width // 2), nn.ReLU(True)]
            width //= 2
        layers += [nn.ConvTranspose2d(width, c_out, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], self.z_dim, 1, 1))


@DISCRIMINATORS.register("dcgan")
class DCGANDiscriminator(nn.Module):
    """Strided convolutions down to ``s0 x s0``, then one ``s0 x s0`` convolution to a logit.

    Options against mode collapse and overfitting (all off by default, which is the DCGAN paper's
    network): ``minibatch_std`` appends ProGAN's minibatch standard deviation as one more channel
    before the last convolution; ``minibatch_discrimination: B`` (Salimans et al. 2016) flattens
    the features, appends B minibatch-discrimination features and scores them with a linear head;
    ``dropout`` adds element-wise dropout after every LeakyReLU.

    ``features(x)`` are the flattened activations the last layer sees and ``head(f)`` that last
    layer, so ``forward(x) == head(features(x))`` (feature matching uses them).
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
    ) -> None:
        super().__init__()
        if len(in_shape) != 3 or in_shape[1] != in_shape[2]:
            raise ConfigError(f"model.discriminator: DCGAN takes square images (C, H, H), data gives {tuple(in_shape)}.")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.discriminator.dropout: a probability in [0, 1) is needed, got {dropout}.")
        if minibatch_discrimination < 0:
            raise ConfigError(f"model.discriminator.minibatch_discrimination: a number of kernels >= 0, got {minibatch_discrimination}.")
        c_in, size = in_shape[0], in_shape[1]
        s0, n = _layout(size, "model.discriminator")

        def act() -> list[nn.Module]:
            return [nn.LeakyReLU(0.2, True)] + ([nn.Dropout(dropout)] if dropout > 0 else [])

        width = base_channels
        layers: list[nn.Module] = [nn.Conv2d(c_in, width, 4, 2, 1), *act()]
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
        init_normal(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.net[:-1](x).flatten(1)

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return self.net[-1](f.view(f.shape[0], *self._head_in)).view(-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).view(-1)
