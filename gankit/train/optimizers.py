"""Optimizers by name (``optim.<name>.name`` in a recipe) and the learning-rate schedule."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from gankit.core.clock import Clock, parse_point
from gankit.core.registry import Registry

OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("optimizer")


@OPTIMIZERS.register("adam")
def _adam(params: list[nn.Parameter], oc: Any, ratio: float) -> torch.optim.Optimizer:
    b1, b2 = oc.betas
    return torch.optim.Adam(params, lr=oc.lr * ratio, betas=(b1**ratio, b2**ratio), weight_decay=oc.weight_decay)


@OPTIMIZERS.register("adamw")
def _adamw(params: list[nn.Parameter], oc: Any, ratio: float) -> torch.optim.Optimizer:
    b1, b2 = oc.betas
    return torch.optim.AdamW(params, lr=oc.lr * ratio, betas=(b1**ratio, b2**ratio), weight_decay=oc.weight_decay)


@OPTIMIZERS.register("rmsprop")
def _rmsprop(params: list[nn.Parameter], oc: Any, ratio: float) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=oc.lr * ratio, weight_decay=oc.weight_decay, momentum=oc.momentum)


@OPTIMIZERS.register("sgd")
def _sgd(params: list[nn.Parameter], oc: Any, ratio: float) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=oc.lr * ratio, weight_decay=oc.weight_decay, momentum=oc.momentum)


def build_optimizer(params: list[nn.Parameter], oc: Any, where: str, lazy_ratio: float = 1.0) -> torch.optim.Optimizer:
    """``lazy_ratio`` c < 1 when a lazy phase shares the optimizer: lr * c, betas ** c (StyleGAN2)."""
    return OPTIMIZERS.get(oc.name, f"{where}.name")(params, oc, lazy_ratio)


def lr_factor(clock: Clock, mode: str, start: Any) -> float:
    """Multiplier of the base learning rate: linear decay from ``start`` to 0 at the budget's end.

    A pure function of the clock, so resume needs no scheduler state; ``start`` is a step or a
    fraction of the budget (steps or minutes alike).
    """
    if mode == "none":
        return 1.0
    s = parse_point(start, "train.lr_decay_start")
    end = clock.max_steps if isinstance(s, int) and clock.max_steps else None
    if isinstance(s, int) and end is not None and end <= s:
        return 1.0
    return max(0.0, 1.0 - clock.ramp(s, end))
