"""The interface between the engine and what attaches to its intervals (evaluation, diagnostics).

Hooks see the run through :class:`RunView`, never the engine's internals; every method is optional
and hooks run on every rank (collectives must be called the same way everywhere).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import torch

from gankit.core.clock import Clock
from gankit.core.task import Signature


class RunView(Protocol):
    cfg: Any
    run_dir: Path
    is_main: bool
    world_size: int
    device: torch.device
    sample_shape: tuple[int, ...]
    data_kind: str  # "image" | "vector"
    logger: Any

    @property
    def step(self) -> int: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def signature(self) -> Signature: ...

    def generate(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        """The inference module's float output in eval mode (images in [-1, 1])."""

    def warn(self, message: str, **numbers: Any) -> None: ...
    def save(self, name: str | None = None) -> Path | None: ...
    def broadcast(self, obj: Any, src: int = 0) -> Any: ...


class Hook:
    """Every method is optional."""

    def on_start(self, run: RunView) -> None:
        """Before the first step (after a resume has been restored)."""

    def on_log(self, run: RunView, step: int, values: dict[str, float]) -> None:
        """Every ``log.log_every`` steps on rank 0, with the numbers just logged."""

    def on_eval(self, run: RunView, step: int) -> dict[str, float]:
        """Every ``log.eval_every`` steps; returned numbers are logged as ``kind: eval``."""
        return {}

    def on_end(self, run: RunView, status: str) -> None:
        """After the final checkpoint."""

    def on_error(self, run: RunView, message: str) -> None:
        """The run stopped on an error (divergence, a failed write); must not raise."""

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


def notify_error(hooks: list[Hook], run: RunView, message: str) -> None:
    """Tell every hook the run stopped on an error; a hook that fails must not hide that error."""
    for hook in hooks:
        try:
            hook.on_error(run, message)
        except Exception:  # noqa: BLE001, S112 - the training error is the one to report
            continue
