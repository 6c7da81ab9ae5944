"""gankit: train, evaluate, diagnose and serve GANs.

The package is laid out as the pipeline: ``core`` (contracts) -> ``data`` -> ``models`` ->
``objectives`` / ``tricks`` -> ``tasks`` -> ``train`` -> ``metrics`` / ``diagnostics``;
``config`` holds the typed recipe schema, ``inference`` the one path from a run to its generator,
and ``cli`` the command line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gankit.inference import Inference


def load(run_or_checkpoint: Any, prefer_ema: bool = True, direction: str | None = None) -> "Inference":
    """The task's inference module of a run folder or checkpoint (see :mod:`gankit.inference`);
    ``direction="BtoA"``: a CycleGAN run's second generator."""
    from gankit.inference import load as _load

    return _load(run_or_checkpoint, prefer_ema=prefer_ema, direction=direction)
