"""Generators and discriminators, by family (``mlp``, ``dcgan``, ``resnet``), picked by name in a recipe.

Every generator maps ``z`` of shape (N, z_dim) to a sample of ``out_shape``: ``G(z, c=None)``;
every discriminator maps a sample to one raw score (logit) per item, shape (N,):
``D(x, c=None)``. Losses apply any sigmoid. ``num_classes`` (0 = unconditional) is given by the
task, like ``z_dim``; a network whose recipe option ``cond`` is not ``none`` needs labels c (N,).
A D built with ``aux_classifier: true`` also returns class logits: ``D(x, c, with_logits=True)``
gives ``(scores, logits)``, or ``(scores, logits, twin_logits)`` with ``tac: true``.
Building blocks live in :mod:`gankit.nn`, the shared conditioning in :mod:`gankit.models.conditioning`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.core.registry import Registry

GENERATORS: Registry[Any] = Registry("generator", "gankit.models")
DISCRIMINATORS: Registry[Any] = Registry("discriminator", "gankit.models")


def build_generator(
    name: str, params: dict[str, Any], z_dim: int, out_shape: tuple[int, ...], num_classes: int = 0
) -> nn.Module:
    return GENERATORS.build(name, params, "model.generator", z_dim=z_dim, out_shape=out_shape, num_classes=num_classes)


def build_discriminator(name: str, params: dict[str, Any], in_shape: tuple[int, ...], num_classes: int = 0) -> nn.Module:
    return DISCRIMINATORS.build(name, params, "model.discriminator", in_shape=in_shape, num_classes=num_classes)


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """The DCGAN initialisation: conv/linear weights ~ N(0, 0.02), norm scales ~ N(1, 0.02)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm, nn.LayerNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__ = ["GENERATORS", "DISCRIMINATORS", "build_generator", "build_discriminator", "init_normal", "count_params", "torch"]
