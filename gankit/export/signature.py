"""The ``signature.json`` beside every export: what the model reads and writes, where it came from,
and how closely it matched the eager module. The ONNX Runtime path (:mod:`gankit.export.runtime`)
and the server read only this file and the model, so this module imports nothing but the standard
library at import time.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

from gankit.errors import ExportError

#: Version of the export layout; a reader refuses versions it does not know.
EXPORT_VERSION = 1
SIGNATURE_FILE = "signature.json"
#: Every key a signature has (null where it does not apply).
KEYS = (
    "export_version", "gankit_version", "format", "task", "z_dim", "num_classes", "class_names", "input_shape",
    "output_shape", "value_range", "output", "scale", "style_based", "truncation_psi", "batch", "opset", "inputs",
    "outputs", "source", "metrics", "parity", "files",
)  # fmt: skip
FORMATS = ("onnx", "torchscript", "safetensors", "triton")
MODEL_FILES = {"onnx": "model.onnx", "torchscript": "model.pt", "safetensors": "model.safetensors", "triton": "1/model.onnx"}
#: Batch dimension's name in ``inputs``/``outputs`` shapes (and in the ONNX graph of a dynamic export).
BATCH = "N"


def input_kind(sig: dict[str, Any]) -> tuple[str, ...]:
    """The module's input names in call order: ``z`` [+ ``c``], ``x`` [+ ``c`` | ``mask``]."""
    if sig.get("input_shape") is None:
        return ("z", "c") if sig["num_classes"] else ("z",)
    if sig["task"] == "stargan":
        return ("x", "c")
    if sig["task"] == "inpaint":
        return ("x", "mask")
    return ("x",)


def io_specs(sig: dict[str, Any], batch: int | str = BATCH) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``inputs`` and ``outputs`` entries ({name, dtype, shape}) of a run's inference signature."""
    n = batch if isinstance(batch, int) else BATCH
    shapes = {"z": [n, sig["z_dim"]], "c": [n], "x": [n, *(sig.get("input_shape") or [])]}
    if sig.get("input_shape"):
        shapes["mask"] = [n, 1, *sig["input_shape"][1:]]
    inputs = [{"name": k, "dtype": "int64" if k == "c" else "float32", "shape": shapes[k]} for k in input_kind(sig)]
    return inputs, [{"name": "images", "dtype": "float32", "shape": [n, *sig["output_shape"]]}]


def _finite(values: list[float] | None) -> list[float] | None:
    """A value range as JSON can carry it: null for an unbounded output (2D points)."""
    if values is None or any(not math.isfinite(v) for v in values):
        return None
    return [float(v) for v in values]


def build_signature(sig: dict[str, Any], *, fmt: str, batch: int | str, opset: int | None, style_based: bool,
                    psi: float | None, normalizes_z: bool, class_names: list[str] | None, source: dict[str, Any],
                    metrics: dict[str, Any] | None, gankit_version: str) -> dict[str, Any]:  # fmt: skip
    """Every key of :data:`KEYS` but ``parity`` and ``files`` (filled in once the model is written and checked)."""
    inputs, outputs = io_specs(sig, batch)
    out = {
        "export_version": EXPORT_VERSION, "gankit_version": gankit_version, "format": fmt, "task": sig["task"],
        "z_dim": int(sig["z_dim"]), "num_classes": int(sig["num_classes"]), "class_names": class_names,
        "input_shape": sig.get("input_shape"), "output_shape": list(sig["output_shape"]),
        "value_range": _finite(sig.get("value_range")), "output": sig["output"], "scale": sig.get("scale"),
        "style_based": style_based, "truncation_psi": psi if style_based else None, "batch": batch, "opset": opset,
        "inputs": inputs, "outputs": outputs, "source": source, "metrics": metrics, "parity": None, "files": None,
    }  # fmt: skip
    # z x psi at sampling time for a G without a mapping network, unless it pixel-normalises z (ProGAN)
    out["psi_mode"] = "baked" if style_based else ("none" if not sig["z_dim"] or normalizes_z else "scale_z")
    if sig.get("mask_shape"):
        out["mask_shape"] = list(sig["mask_shape"])
    return out


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def export_root(path: str | Path) -> Path:
    """The folder holding ``signature.json``: ``path`` itself, or a Triton repository's one model folder."""
    path = Path(path)
    if (path / SIGNATURE_FILE).is_file() or not path.is_dir():
        return path
    models = [d for d in path.iterdir() if d.is_dir() and (d / "config.pbtxt").is_file()]
    return models[0] if len(models) == 1 else path


def looks_like_export(path: str | Path) -> bool:
    """A signature, a model file or a Triton model folder: an export (complete or not), not a run."""
    path = Path(path)
    if not path.is_dir():
        return False
    root = export_root(path)
    return (root / SIGNATURE_FILE).is_file() or (root / "config.pbtxt").is_file() or any(
        (root / f).is_file() for f in ("model.onnx", "model.pt", "model.safetensors")
    )


def read_signature(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """(folder, signature) of an export, checked for its version and keys; ExportError says what is wrong."""
    root = export_root(path)
    file = root / SIGNATURE_FILE
    if not file.is_file():
        raise ExportError(f"{path}: no {SIGNATURE_FILE}: an export folder holds the model and its signature; "
                          "export again with `gankit export RUN --format onnx --out DIR`.")  # fmt: skip
    try:
        sig = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ExportError(f"{file}: not valid JSON ({e}); export again.") from None
    if not isinstance(sig, dict):
        raise ExportError(f"{file}: a signature is a JSON object, got {type(sig).__name__}; export again.")
    version = sig.get("export_version")
    if version != EXPORT_VERSION:
        raise ExportError(f"{file}: export_version {version!r} is not one this gankit reads ({EXPORT_VERSION}); "
                          "export the run again with this gankit, or load it with the gankit that wrote it.")  # fmt: skip
    missing = [k for k in KEYS if k not in sig]
    if missing:
        raise ExportError(f"{file}: missing {', '.join(missing)}; export again.")
    if sig["format"] not in FORMATS:
        raise ExportError(f"{file}: unknown format {sig['format']!r} (one of {', '.join(FORMATS)}).")
    if not isinstance(sig["files"], dict) or not {"model", "sha256"} <= set(sig["files"]):
        raise ExportError(f"{file}: files must name the model and its sha256; export again.")
    return root, sig


def check_model_file(root: Path, sig: dict[str, Any]) -> Path:
    """The model file, present and with the sha256 the signature recorded."""
    model = root / sig["files"]["model"]
    if not model.is_file():
        raise ExportError(f"{root}: {sig['files']['model']} is missing (the signature names it); export again.")
    digest = sha256_file(model)
    if digest != sig["files"]["sha256"]:
        raise ExportError(f"{model}: sha256 {digest[:16]}... does not match the signature's {str(sig['files']['sha256'])[:16]}...: "
                          "the file was changed or truncated after export; export again.")  # fmt: skip
    return model


def write_signature(root: Path, sig: dict[str, Any]) -> Path:
    from gankit.utils.io import atomic_write_json

    return atomic_write_json(root / SIGNATURE_FILE, sig)


def run_metrics(run_dir: Path, checkpoint: Path, step: int) -> dict[str, Any] | None:
    """The run's last evaluation: ``gankit eval``'s report of this checkpoint (with its protocol), else the
    last in-loop evaluation logged at or before ``step`` (protocol: in-loop, the recipe's eval settings)."""
    report = run_dir / "eval" / checkpoint.name / "report.json"
    if report.is_file():
        try:
            rep = json.loads(report.read_text())
            return {"source": f"gankit eval ({report.relative_to(run_dir)})", "step": step,
                    "metrics": [{k: m.get(k) for k in ("name", "value", "std", "protocol")} for m in rep.get("metrics", [])]}  # fmt: skip
        except (json.JSONDecodeError, OSError, AttributeError):
            pass
    from gankit.train.logger import read_metrics

    evals = [r for r in read_metrics(run_dir, "eval") if r.get("step", 0) <= step]
    if not evals:
        return None
    last = evals[-1]
    values = {k: v for k, v in last.items() if k not in ("kind", "step", "time") and isinstance(v, (int, float))}
    return {"source": "in-loop evaluation (metrics.jsonl)", "step": last.get("step"),
            "metrics": [{"name": k, "value": v, "protocol": "in-loop: eval.n_samples of the recipe, seeded"} for k, v in values.items()]}  # fmt: skip
