"""Optimizers by name (``optim.<name>.name`` in a recipe) and the learning-rate schedule."""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import nn

from gankit.core.clock import Clock, parse_point
from gankit.core.errors import ConfigError
from gankit.core.registry import Registry

OPTIMIZERS: Registry[Callable[..., torch.optim.Optimizer]] = Registry("optimizer")
#: Optimizers with a fused kernel in torch (one kernel for every parameter, instead of a Python loop over them).
FUSED = ("adam", "adamw", "sgd")


def implementation(oc: Any, where: str, params: list[nn.Parameter]) -> dict[str, bool]:
    """The ``fused``/``foreach`` keywords for ``optim.<name>.implementation``.

    ``auto`` picks the fused kernel where the optimizer has one and every parameter is a float
    tensor on CPU or CUDA (an Adam step of the default recipe: 1.3 ms fused against 7 ms looped on
    this CPU); otherwise torch's own default. The choice changes rounding only, never the update rule.
    """
    mode, name = getattr(oc, "implementation", "auto"), oc.name
    fusable = name in FUSED and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params)
    if mode == "fused" and not fusable:
        raise ConfigError(f"{where}.implementation: 'fused' exists for {', '.join(FUSED)} on float parameters on CPU or CUDA, "
                          f"not for {name!r} here; use auto, foreach or for_loop.")  # fmt: skip
    if mode == "fused" or (mode == "auto" and fusable):
        return {"fused": True}
    return {"foreach": True} if mode == "foreach" else {"foreach": False} if mode == "for_loop" else {}


@OPTIMIZERS.register("adam")
def _adam(params: list[nn.Parameter], oc: Any, ratio: float, **kw: bool) -> torch.optim.Optimizer:
    b1, b2 = oc.betas
    return torch.optim.Adam(params, lr=oc.lr * ratio, betas=(b1**ratio, b2**ratio), weight_decay=oc.weight_decay, **kw)


@OPTIMIZERS.register("adamw")
def _adamw(params: list[nn.Parameter], oc: Any, ratio: float, **kw: bool) -> torch.optim.Optimizer:
    b1, b2 = oc.betas
    return torch.optim.AdamW(params, lr=oc.lr * ratio, betas=(b1**ratio, b2**ratio), weight_decay=oc.weight_decay, **kw)


@OPTIMIZERS.register("rmsprop")
def _rmsprop(params: list[nn.Parameter], oc: Any, ratio: float, **kw: bool) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=oc.lr * ratio, weight_decay=oc.weight_decay, momentum=oc.momentum, **kw)


@OPTIMIZERS.register("sgd")
def _sgd(params: list[nn.Parameter], oc: Any, ratio: float, **kw: bool) -> torch.optim.Optimizer:
    return torch.optim.SGD(params, lr=oc.lr * ratio, weight_decay=oc.weight_decay, momentum=oc.momentum, **kw)


def build_optimizer(params: list[nn.Parameter], oc: Any, where: str, lazy_ratio: float = 1.0) -> torch.optim.Optimizer:
    """``lazy_ratio`` c < 1 when a lazy phase shares the optimizer: lr * c, betas ** c (StyleGAN2)."""
    make = OPTIMIZERS.get(oc.name, f"{where}.name")
    return make(params, oc, lazy_ratio, **implementation(oc, where, params))


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
