"""TorchScript export: ``torch.jit.trace`` of the export module (``torch.jit.script`` where tracing fails),
saved with ``torch.jit.save``; load it back with ``torch.jit.load(DIR/model.pt)``, no gankit needed.

A trace records one path through the code: ProGAN's stage and fade and a style-based G's psi are
fixed at export (see :mod:`gankit.export.wrap`), and the parity check runs the saved file at every
batch size so a shape baked into the trace is caught.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from gankit.errors import ExportError


def _first_line(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return f"{type(e).__name__}: {lines[0][:300]}" if lines else type(e).__name__


def export_torchscript(module: nn.Module, inputs: dict[str, torch.Tensor], path: Path) -> dict[str, Any]:
    """Write the TorchScript module to ``path``; returns {exporter: trace | script}."""
    args = tuple(inputs.values())
    errors = []
    scripted = None
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            scripted, exporter = torch.jit.trace(module.eval(), args, check_trace=False), "trace"
        except Exception as e:  # noqa: BLE001 - try the scripter, then report both
            errors.append(f"trace: {_first_line(e)}")
            try:
                scripted, exporter = torch.jit.script(module.eval()), "script"
            except Exception as e2:  # noqa: BLE001
                errors.append(f"script: {_first_line(e2)}")
        if scripted is not None:
            torch.jit.save(scripted, str(path))  # deprecated in favour of torch.export, still the TorchScript format
    if scripted is None:
        raise ExportError(f"TorchScript export of {type(module).__name__} failed: " + "; ".join(errors))
    return {"exporter": exporter, "opset": None, "exporter_notes": errors or None}


def torchscript_runner(path: Path):  # noqa: ANN201 - a Runner (see parity.py)
    """Load the saved file (as a user would) and run it on named numpy inputs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(path), map_location="cpu").eval()

    @torch.no_grad()
    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        return loaded(*(torch.from_numpy(v) for v in feeds.values())).float().numpy()

    return run
