"""Recipe -> objects: the one place that turns a validated config into networks and optimizers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from gankit.config import Config, OptimizerConfig
from gankit.losses import AdversarialLoss, build_loss
from gankit.errors import ConfigError
from gankit.models import build_discriminator, build_generator
from gankit.regularizers import Regularizer, build_regularizers


@dataclass
class GanModel:
    """The pieces of a GAN before an engine wraps them (TF-GAN's ``GANModel``, trimmed)."""

    G: nn.Module
    D: nn.Module
    loss: AdversarialLoss
    z_dim: int
    sample_shape: tuple[int, ...]
    #: Builds a discriminator for a given input shape (PacGAN rebuilds D for packed inputs).
    build_d: Callable[[tuple[int, ...]], nn.Module]
    regularizers: list[Regularizer] = field(default_factory=list)
    batch_size: int = 64


def build_gan(cfg: Config, sample_shape: tuple[int, ...]) -> GanModel:
    """Networks are initialised from ``cfg.seed`` so the same recipe gives the same weights.

    Regularizers that change the networks (spectral norm, packing) are applied here, so a
    checkpoint's weights load into exactly what this returns.
    """
    torch.manual_seed(cfg.seed)
    G = build_generator(cfg.model.generator.name, cfg.model.generator.params, cfg.model.z_dim, sample_shape)

    def build_d(shape: tuple[int, ...]) -> nn.Module:
        return build_discriminator(cfg.model.discriminator.name, cfg.model.discriminator.params, shape)

    loss = build_loss(cfg.loss.name, cfg.loss.params)
    regs = build_regularizers(cfg.regularizers)
    for i, r in enumerate(regs):
        if r.needs_targets and not loss.supports_targets:
            raise ConfigError(
                f"regularizers[{i}] ({cfg.regularizers[i].name}) changes D's targets, which loss "
                f"'{cfg.loss.name}' does not use; pick minimax, nonsaturating or lsgan."
            )
    gan = GanModel(G=G, D=build_d(tuple(sample_shape)), loss=loss, z_dim=cfg.model.z_dim, sample_shape=tuple(sample_shape),
                   build_d=build_d, regularizers=regs, batch_size=cfg.train.batch_size)  # fmt: skip
    for r in regs:
        r.wrap(gan)
    return gan


def build_optimizer(params: list[nn.Parameter], oc: OptimizerConfig) -> torch.optim.Optimizer:
    if oc.name == "adam":
        return torch.optim.Adam(params, lr=oc.lr, betas=oc.betas, weight_decay=oc.weight_decay)
    if oc.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=oc.lr, weight_decay=oc.weight_decay, momentum=oc.momentum)
    return torch.optim.SGD(params, lr=oc.lr, weight_decay=oc.weight_decay, momentum=oc.momentum)


def lr_factor(step: int, max_steps: int, mode: str, start: int) -> float:
    """Multiplier of the base learning rate at ``step``: a pure function, so resume needs no state."""
    if mode == "none" or step < start or max_steps <= start:
        return 1.0
    return max(0.0, 1.0 - (step - start) / (max_steps - start))
