"""ONNX export with torch's default (dynamo, ``torch.export``-based) exporter, onnxscript behind it.

The batch dimension is symbolic (``N``) for ``--batch dynamic``; ``--batch N`` fixes it. Should the
dynamo exporter fail on a model, the legacy TorchScript-based exporter is tried, and the signature
records which one wrote the file (``exporter``: ``dynamo`` or ``torchscript-legacy``).
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
from gankit.export.signature import BATCH

#: Largest batch a dynamic export is declared for (ONNX itself keeps the dimension symbolic).
MAX_DYNAMIC_BATCH = 1 << 16


def _quiet() -> contextlib.ExitStack:
    """The exporters print progress and warn about things we check ourselves (parity)."""
    stack = contextlib.ExitStack()
    stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
    stack.enter_context(warnings.catch_warnings())
    warnings.simplefilter("ignore")
    return stack


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    summary = text.split("## Exception summary", 1)[-1].strip().splitlines()
    return (summary[0] if summary else type(e).__name__)[:300]


def _opset_of(path: Path) -> int | None:
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return next((int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")), None)


def export_onnx(module: nn.Module, inputs: dict[str, torch.Tensor], path: Path, opset: int | None, dynamic: bool) -> dict[str, Any]:
    """Write ``module(*inputs)`` to ``path`` (one self-contained file); returns {exporter, opset, exporter_notes}.

    The legacy exporter runs only where the dynamo one fails, or cannot write the requested ``opset``
    (it writes 18 and up)."""
    import onnx  # noqa: F401 - a clear ImportError before a long export

    names = list(inputs)
    args = tuple(inputs.values())
    module = module.eval()
    dim = torch.export.Dim(BATCH, min=1, max=MAX_DYNAMIC_BATCH)
    notes = []
    try:
        with _quiet(), torch.no_grad():
            torch.onnx.export(module, args, str(path), input_names=names, output_names=["images"], opset_version=opset,
                              dynamo=True, external_data=False, dynamic_shapes=tuple({0: dim} for _ in args) if dynamic else None)  # fmt: skip
        used = _opset_of(path)
        if opset is None or used == opset:
            return {"exporter": "dynamo", "opset": used, "exporter_notes": None}
        notes.append(f"dynamo exporter: wrote opset {used}, not the requested {opset}")
    except Exception as e:  # noqa: BLE001 - any exporter failure: try the legacy one, then report both
        notes.append(f"dynamo exporter: {_first_line(e)}")
    try:
        with _quiet(), torch.no_grad():
            torch.onnx.export(module, args, str(path), input_names=names, output_names=["images"], opset_version=opset or 17,
                              dynamo=False, dynamic_axes={k: {0: BATCH} for k in [*names, "images"]} if dynamic else None)  # fmt: skip
    except Exception as e2:  # noqa: BLE001
        notes.append(f"legacy exporter: {_first_line(e2)}")
        raise ExportError(f"ONNX export of {type(module).__name__} failed: " + "; ".join(notes)) from None
    return {"exporter": "torchscript-legacy", "opset": _opset_of(path), "exporter_notes": notes}


def onnx_runner(path: Path, threads: int | None = 1):  # noqa: ANN201 - a Runner (see parity.py)
    """Run an ONNX file with ONNX Runtime on CPU: named numpy inputs -> the ``images`` output."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])

    def run(feeds: dict[str, np.ndarray]) -> np.ndarray:
        return sess.run(["images"], feeds)[0]

    return run
