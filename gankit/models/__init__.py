"""Generators and discriminators, by family (``mlp``, ``dcgan``, ``resnet``), picked by name in a recipe.

Every generator maps ``z`` of shape (N, z_dim) to a sample of ``out_shape``: ``G(z, c=None)``;
every discriminator maps a sample to one raw score (logit) per item, shape (N,):
``D(x, c=None)``. Losses apply any sigmoid. ``num_classes`` (0 = unconditional) is given by the
task, like ``z_dim``; a network whose recipe option ``cond`` is not ``none`` needs labels c (N,).
A D built with ``aux_classifier: true`` also returns class logits: ``D(x, c, with_logits=True)``
gives ``(scores, logits)``, or ``(scores, logits, twin_logits)`` with ``tac: true``.
Building blocks live in :mod:`gankit.nn`, the shared conditioning in :mod:`gankit.models.conditioning`.

Image-to-image generators (``unet``, ``resnet_translator``; class attribute ``maps = "image"``) live
in the same registry, so ``model.generator.name`` picks them too, but they map an image to an image,
``G(x)``: a task builds them with :func:`build_translator` (input and output shapes, no z).
:func:`build_generator` refuses them and :func:`build_translator` refuses noise-to-image families,
each naming the families that fit. The ``patchgan`` D returns a *map* of patch logits
(N, 1, h, w); the adversarial losses average over it.

Restoration builds on the same call. Super-resolution generators (``srresnet``, SRGAN's; ``rrdb``,
ESRGAN's) get an output shape ``scale`` times the input's, and read the scale from the two shapes;
the ``srgan_d`` D returns one logit per image (N,). Inpainting wraps a translator built for C + 1
channels in :class:`gankit.models.inpainting.Inpainter` (``G(x, mask)``: masked image + mask in, the
hole composited into x out; ``completion_net`` is Iizuka et al.'s core) and its ``global_local`` D is
called ``D(x, mask)``. StarGAN wraps one built for C + K channels in
:class:`gankit.models.stargan.StarGenerator` (``G(x, c)``, c the target domains); its ``stargan_d``
returns ``(patch logits (N, 1, h, w), domain logits (N, K))``. Modules are found by the registry
(every module of this package is imported on first use), so none is imported here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.core.registry import Registry
from gankit.errors import ConfigError

GENERATORS: Registry[Any] = Registry("generator", "gankit.models")
DISCRIMINATORS: Registry[Any] = Registry("discriminator", "gankit.models")


def _maps(factory: Any) -> str:
    """What a generator family maps from: "noise" (``G(z, c)``, the default) or "image" (``G(x)``)."""
    return getattr(factory, "maps", "noise")


def _require_maps(name: str, path: str, kind: str) -> None:
    if _maps(GENERATORS.get(name, path)) == kind:
        return
    fits = [n for n in GENERATORS.names() if _maps(GENERATORS.get(n)) == kind]
    what = {"noise": "a noise-to-image (G(z))", "image": "an image-to-image (G(x))"}
    raise ConfigError(
        f"{path}: {name!r} is {what['image' if kind == 'noise' else 'noise']} generator, but this task needs "
        f"{what[kind]} one. Valid here: {', '.join(fits)}."
    )


def build_generator(
    name: str, params: dict[str, Any], z_dim: int, out_shape: tuple[int, ...], num_classes: int = 0
) -> nn.Module:
    _require_maps(name, "model.generator", "noise")
    return GENERATORS.build(name, params, "model.generator", z_dim=z_dim, out_shape=out_shape, num_classes=num_classes)


def build_translator(
    name: str, params: dict[str, Any], in_shape: tuple[int, ...], out_shape: tuple[int, ...], path: str = "model.generator"
) -> nn.Module:
    """An image-to-image generator ``G(x)``: (N, *in_shape) in [-1, 1] -> (N, *out_shape) in [-1, 1]."""
    _require_maps(name, path, "image")
    return GENERATORS.build(name, params, path, in_shape=tuple(in_shape), out_shape=tuple(out_shape))


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


__all__ = ["GENERATORS", "DISCRIMINATORS", "build_generator", "build_translator", "build_discriminator", "init_normal", "count_params", "torch"]
