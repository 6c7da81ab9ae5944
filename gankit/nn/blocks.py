"""Residual blocks of the SNGAN/BigGAN ResNets (Miyato et al. 2018, appendix B.4 and fig. 8;
Gulrajani et al. 2017, appendix F; Brock et al. 2019, fig. 15).

A residual path lets a deep G/D train at the learning rates of a shallow one: each block only
adds a correction to its (resampled) input. G's blocks upsample (nearest neighbour, then 3x3
convolutions), D's blocks average-pool. Initialisation as in SNGAN's released code: Glorot-uniform
with gain sqrt(2) for the 3x3 convolutions of the residual path (they follow a ReLU), gain 1 for
the 1x1 shortcuts, zero biases.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gankit.nn.conditional import ConditionalBatchNorm2d


def _init(conv: nn.Conv2d, gain: float) -> nn.Conv2d:
    nn.init.xavier_uniform_(conv.weight, gain)
    if conv.bias is not None:
        nn.init.zeros_(conv.bias)
    return conv


def _up(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="nearest")


class GBlock(nn.Module):
    """BN-ReLU-up-conv3x3-BN-ReLU-conv3x3, plus up-conv1x1 of the input; doubles H and W.

    Batch norm is plain (``num_classes = cond_dim = 0``), class-conditional (``num_classes``) or
    conditioned on a vector (``cond_dim``, BigGAN); ``forward(x, c)`` passes ``c`` to both norms.
    """

    def __init__(self, in_channels: int, out_channels: int, num_classes: int = 0, cond_dim: int = 0) -> None:
        super().__init__()
        self.conditional = bool(num_classes or cond_dim)

        def norm(ch: int) -> nn.Module:
            return ConditionalBatchNorm2d(ch, num_classes, cond_dim) if self.conditional else nn.BatchNorm2d(ch)

        self.bn1 = norm(in_channels)
        self.conv1 = _init(nn.Conv2d(in_channels, out_channels, 3, 1, 1), math.sqrt(2))
        self.bn2 = norm(out_channels)
        self.conv2 = _init(nn.Conv2d(out_channels, out_channels, 3, 1, 1), math.sqrt(2))
        self.shortcut = _init(nn.Conv2d(in_channels, out_channels, 1), 1.0)

    def _norm(self, bn: nn.Module, x: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return bn(x, c) if self.conditional else bn(x)

    def forward(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(_up(F.relu(self._norm(self.bn1, x, c))))
        h = self.conv2(F.relu(self._norm(self.bn2, h, c)))
        return h + self.shortcut(_up(x))


class DBlock(nn.Module):
    """ReLU-conv3x3-ReLU-conv3x3(-avgpool 2), plus conv1x1(-avgpool) of the input.

    The shortcut is learned only where it must change the shape (other channels or downsampling);
    otherwise it is the identity, as in SNGAN. No normalisation: D is meant for spectral norm.
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool = True) -> None:
        super().__init__()
        self.downsample = downsample
        self.conv1 = _init(nn.Conv2d(in_channels, out_channels, 3, 1, 1), math.sqrt(2))
        self.conv2 = _init(nn.Conv2d(out_channels, out_channels, 3, 1, 1), math.sqrt(2))
        learned = downsample or in_channels != out_channels
        self.shortcut = _init(nn.Conv2d(in_channels, out_channels, 1), 1.0) if learned else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(F.relu(x))))
        s = x if self.shortcut is None else self.shortcut(x)
        if self.downsample:
            h, s = F.avg_pool2d(h, 2), F.avg_pool2d(s, 2)
        return h + s


class OptimizedDBlock(nn.Module):
    """D's first block: conv3x3-ReLU-conv3x3-avgpool, plus avgpool-conv1x1 of the input.

    No ReLU before the first convolution (it would clip the image itself) and pooling before the
    1x1 shortcut, which is cheaper at full resolution and the same map (SNGAN's 'optimized block').
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = _init(nn.Conv2d(in_channels, out_channels, 3, 1, 1), math.sqrt(2))
        self.conv2 = _init(nn.Conv2d(out_channels, out_channels, 3, 1, 1), math.sqrt(2))
        self.shortcut = _init(nn.Conv2d(in_channels, out_channels, 1), 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(self.conv2(F.relu(self.conv1(x))), 2)
        return h + self.shortcut(F.avg_pool2d(x, 2))


__all__ = ["GBlock", "DBlock", "OptimizedDBlock"]
