"""A phase: one optimizer step of some networks on named loss terms (stylegan2-ada's phases as data).

The engine runs every phase that is due, in order. A phase's ``loss`` turns a batch into named
terms; the engine sums them, backpropagates, steps the phase's optimizer and logs each term by
name. Lazy regularisation is a phase with an interval: ``every=16, lazy=True`` runs on one step in
16 with its terms multiplied by 16, and the optimizer it shares with the main phase has its lr and
betas adjusted by ``every / (every + 1)`` (Karras et al. 2020, appendix B), so the average update
matches a penalty applied at every step.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch
from torch import nn

from gankit.core.batch import Batch
from gankit.core.clock import Clock

Terms = dict[str, torch.Tensor]


@dataclass
class PhaseContext:
    """What a phase's loss may use. ``nets`` are the engine-wrapped networks (call these for
    gradients under DDP); ``raw`` the plain modules (no DDP sync, for networks a phase freezes)."""

    clock: Clock
    nets: Mapping[str, nn.Module]
    raw: Mapping[str, nn.Module]
    optimizers: Mapping[str, torch.optim.Optimizer]
    device: torch.device
    want_stats: bool = False
    repeat_index: int = 0  # which of a phase's ``repeat`` runs this is
    #: Per-step scratch shared by the phases of one step (the D phase's fakes for the G phase).
    scratch: dict[str, Any] = field(default_factory=dict)
    #: Numbers to log that are not loss terms (D(x), accuracies): ``name -> tensor``; no sync needed.
    stats: dict[str, torch.Tensor] = field(default_factory=dict)
    autocast: Callable[[], AbstractContextManager[Any]] = nullcontext

    @property
    def step(self) -> int:
        return self.clock.step


@dataclass(frozen=True)
class Phase:
    """``trains``: networks whose optimizer steps; ``freezes``: networks with ``requires_grad`` off
    for the phase (no weight gradients, no DDP reduction); ``log_as``: prefix of its logged terms."""

    name: str
    trains: tuple[str, ...]
    optimizer: str
    loss: Callable[[PhaseContext, Batch], Terms]
    freezes: tuple[str, ...] = ()
    every: int = 1
    repeat: int = 1  # consecutive runs per step (n_critic), each on a fresh batch if ``draws``
    draws: bool = True  # False: reuse the step's latest batch instead of drawing one
    lazy: bool = False  # terms scaled by ``every`` (lazy regularisation)
    log_as: str = ""
    #: Called after the optimizer step (weight clipping, averagers bound to a trained network).
    after: Callable[[PhaseContext], None] | None = None

    def __post_init__(self) -> None:
        if self.every < 1 or self.repeat < 1:
            raise ValueError(f"phase {self.name!r}: every and repeat must be >= 1")

    def due(self, step: int) -> bool:
        return step % self.every == 0


def lazy_ratio(every: int) -> float:
    """c = every / (every + 1): lr -> lr * c and beta -> beta ** c for an optimizer a lazy phase shares."""
    return every / (every + 1)
