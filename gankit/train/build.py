"""Recipe -> objects: the one place that turns a validated config into networks and optimizers."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from gankit.config import Config, OptimizerConfig
from gankit.losses import AdversarialLoss, build_loss
from gankit.models import build_discriminator, build_generator


@dataclass
class GanModel:
    """The pieces of a GAN before an engine wraps them (TF-GAN's ``GANModel``, trimmed)."""

    G: nn.Module
    D: nn.Module
    loss: AdversarialLoss
    z_dim: int
    sample_shape: tuple[int, ...]


def build_gan(cfg: Config, sample_shape: tuple[int, ...]) -> GanModel:
    """Networks are initialised from ``cfg.seed`` so the same recipe gives the same weights."""
    torch.manual_seed(cfg.seed)
    G = build_generator(cfg.model.generator.name, cfg.model.generator.params, cfg.model.z_dim, sample_shape)
    D = build_discriminator(cfg.model.discriminator.name, cfg.model.discriminator.params, sample_shape)
    loss = build_loss(cfg.loss.name, cfg.loss.params)
    return GanModel(G=G, D=D, loss=loss, z_dim=cfg.model.z_dim, sample_shape=tuple(sample_shape))


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
