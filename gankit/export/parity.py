"""Parity after every export: the eager module and the exported file on the same fixed inputs.

An exporter can silently change a model (a traced branch, a dropped buffer, a different op), so no
export is kept unless its outputs match eager ones to ``TOLERANCE`` (max abs difference, fp32) at
every batch size checked; a failure raises :class:`~gankit.errors.ExportError` with the numbers.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from gankit.errors import ExportError
from gankit.export.wrap import example_inputs

TOLERANCE = 1e-4
DYNAMIC_BATCHES = (1, 3, 8)

#: Runs the exported model on named numpy inputs and returns its float32 output.
Runner = Callable[[dict[str, np.ndarray]], np.ndarray]


def batch_sizes(batch: int | str) -> tuple[int, ...]:
    """Batch sizes to check: 1, 3 and 8 for a dynamic-batch export, N only for ``--batch N``."""
    return DYNAMIC_BATCHES if batch == "dynamic" else (int(batch),)


@torch.no_grad()
def check_parity(eager: nn.Module, run_exported: Runner, sig: dict[str, Any], batch: int | str, what: str,
                 tolerance: float = TOLERANCE, seed: int = 0) -> dict[str, Any]:  # fmt: skip
    """Max abs difference per batch size; raises ExportError (with every number) beyond ``tolerance``."""
    eager = eager.eval()
    per_batch: dict[str, float] = {}
    for n in batch_sizes(batch):
        inputs = example_inputs(sig, n, seed)
        want = eager(*inputs.values()).float().cpu().numpy()
        got = np.asarray(run_exported({k: v.numpy() for k, v in inputs.items()}))
        if got.shape != want.shape:
            raise ExportError(f"{what}: parity check failed at batch {n}: the export returned {got.shape}, eager {want.shape}.")
        diff = float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max()) if want.size else 0.0
        per_batch[str(n)] = diff if np.isfinite(diff) else float("inf")
    worst = max(per_batch.values())
    table = ", ".join(f"batch {n}: {d:.3g}" for n, d in per_batch.items())
    if not worst <= tolerance:
        raise ExportError(f"{what}: parity check failed: max abs diff vs eager {table} (tolerance {tolerance:g} in fp32); "
                          "the exported model computes something else. Nothing was kept.")  # fmt: skip
    return {"max_abs_diff": worst, "per_batch": per_batch, "batch_sizes": list(batch_sizes(batch)), "tolerance": tolerance,
            "inputs": f"fixed: truncated_noise seed {seed}, classes in turn, x uniform [-1, 1] (torch seed {seed + 7919})"}  # fmt: skip
