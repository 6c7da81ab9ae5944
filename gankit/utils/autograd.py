"""Gradients taken inside a loss (R1, WGAN-GP, path length), through networks that Lightning Fabric wrapped.

Under a precision or strategy that owns the backward pass (bf16-mixed, 16-mixed, DeepSpeed...), Fabric
hooks every output of a wrapped network and refuses any backward pass that is not ``fabric.backward``,
to catch a forgotten ``loss.backward()``. A penalty's ``torch.autograd.grad(..., create_graph=True)``
is not that mistake: it is part of building the loss that ``fabric.backward`` then differentiates.
:func:`inner_grad` tells Fabric so, for the duration of that one call.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import torch


@contextmanager
def _inside_fabric_backward() -> Iterator[None]:
    try:
        from lightning_fabric import wrappers
    except ImportError:  # pragma: no cover - Fabric is a dependency; without it there is no hook to satisfy
        yield
        return
    before = getattr(wrappers, "_in_fabric_backward", None)
    if before is None:  # a Fabric without this flag has no such hook either
        yield
        return
    wrappers._in_fabric_backward = True
    try:
        yield
    finally:
        wrappers._in_fabric_backward = before


def inner_grad(outputs: torch.Tensor, inputs: torch.Tensor | Sequence[torch.Tensor], **kw: Any) -> tuple[torch.Tensor, ...]:
    """``torch.autograd.grad(outputs, inputs, **kw)``, allowed through Fabric-wrapped networks in any precision."""
    with _inside_fabric_backward():
        return torch.autograd.grad(outputs, inputs, **kw)
