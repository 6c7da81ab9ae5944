"""Export a run's inference module to ONNX, TorchScript, safetensors or a Triton model repository.

    from gankit.export import export
    done = export("runs/demo", "onnx", "exports/demo")      # parity-checked; ExportError if it differs
    done.signature["parity"]["max_abs_diff"]

Every export writes the model and ``signature.json`` (:mod:`gankit.export.signature`); the ONNX
Runtime path that reads it back is :mod:`gankit.export.runtime`. This package imports the exporters,
gankit.inference and the models lazily, so the runtime can use its signature helpers without them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from gankit.errors import ConfigError, ExportError
from gankit.export.signature import FORMATS, MODEL_FILES, SIGNATURE_FILE, looks_like_export

__all__ = ["FORMATS", "Exported", "export"]


@dataclass
class Exported:
    path: Path  # the folder holding signature.json (a Triton repository's model folder)
    model: Path
    signature: dict[str, Any]


def _check_options(fmt: str, batch: int | str, opset: int | None, style_based: bool, truncation: float, task: str) -> float | None:
    """The psi to bake (style-based G only); ConfigError for an option that does not apply."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt}: one of {', '.join(FORMATS)}.")
    if batch != "dynamic" and not (isinstance(batch, int) and batch >= 1):
        raise ConfigError(f"--batch {batch}: 'dynamic' or a batch size >= 1.")
    if opset is not None and fmt not in ("onnx", "triton"):
        raise ConfigError(f"--opset applies to onnx and triton exports, not {fmt}.")
    if fmt == "triton" and batch != "dynamic":
        raise ConfigError("--format triton: Triton's dynamic batcher joins requests into batches of any size, so the model "
                          "needs --batch dynamic (the default); drop --batch.")  # fmt: skip
    if not 0.0 <= truncation <= 1.0:
        raise ConfigError(f"--truncation {truncation}: psi from 0 (every sample the average) to 1 (none).")
    if style_based:
        return float(truncation)
    if truncation != 1.0:
        raise ConfigError(f"--truncation: psi is baked into style-based generators only; this {task} model has no mapping "
                          "network, so psi is z x psi, applied to z when sampling (`gankit sample EXPORT --psi`).")  # fmt: skip
    return None


def _prepare_out(out: Path, fmt: str, model_name: str) -> Path:
    """The folder to write into: new, empty, or a previous export (replaced); never a folder of other files."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: a file; give a folder for the export.")
    if out.is_dir() and any(out.iterdir()) and not looks_like_export(out):
        raise ConfigError(f"--out {out}: holds other files; give a new or empty folder (or a previous export to replace).")
    root = out / model_name if fmt == "triton" else out
    if root.is_dir():
        for name in (SIGNATURE_FILE, "config.pbtxt", "recipe.yaml", *MODEL_FILES.values()):
            (root / name).unlink(missing_ok=True)  # an interrupted export leaves no stale signature behind
    (root / "1" if fmt == "triton" else root).mkdir(parents=True, exist_ok=True)
    return root


def export(run: str | Path, fmt: str, out: str | Path, *, opset: int | None = None, batch: int | str = "dynamic",
           truncation: float = 1.0, direction: str | None = None, model_name: str = "gankit",
           log: Callable[[str], None] = print) -> Exported:  # fmt: skip
    """Export ``run``'s inference module (G_ema where kept) as ``fmt`` into ``out``, checked for parity."""
    import gankit
    from gankit.export import parity
    from gankit.export.signature import build_signature, run_metrics, sha256_file, write_signature
    from gankit.export.wrap import example_inputs, wrap
    from gankit.inference import load

    run = Path(run)
    if looks_like_export(run):
        raise ExportError(f"{run} is an export folder, not a run: export from the run folder it came from "
                          "(its signature.json names it under source.run).")  # fmt: skip
    inf = load(run, direction=direction)
    psi = _check_options(fmt, batch, opset, inf.is_style_based, truncation, inf.signature["task"])
    run_dir = inf.path.parent.parent if inf.path.parent.name == "checkpoints" else inf.path.parent
    source = {"run": str(run_dir), "checkpoint": str(inf.path), "step": inf.step, "weights": inf.weights,
              "recipe": inf.cfg.name, "direction": direction if inf.is_translator else None}  # fmt: skip
    sig = build_signature(dict(inf.signature), fmt=fmt, batch=batch, opset=opset, style_based=inf.is_style_based, psi=psi,
                          normalizes_z=bool(getattr(inf.module, "normalizes_z", False)), class_names=inf.class_names,
                          source=source, metrics=run_metrics(run_dir, inf.path, inf.step), gankit_version=gankit.__version__)  # fmt: skip
    root = _prepare_out(Path(out), fmt, model_name)
    model = root / MODEL_FILES[fmt]
    sig["files"] = {"model": MODEL_FILES[fmt], "sha256": None}
    eager = wrap(inf.module, sig, psi, for_export=False)
    module = wrap(inf.module, sig, psi)
    example = example_inputs(sig, batch if isinstance(batch, int) else 2, seed=1)
    what = f"{fmt} export of {run}"
    try:
        if fmt in ("onnx", "triton"):
            from gankit.export.onnx import export_onnx, onnx_runner

            info = export_onnx(module, example, model, opset, dynamic=batch == "dynamic")
            runner = onnx_runner(model)
        elif fmt == "torchscript":
            from gankit.export.torchscript import export_torchscript, torchscript_runner

            info = export_torchscript(module, example, model)
            runner = torchscript_runner(model)
        else:
            from gankit.export.safetensors import export_safetensors, safetensors_runner

            info = export_safetensors(inf.module, inf.cfg, model)
            runner = safetensors_runner(root, sig, lambda m: wrap(m, sig, psi, for_export=False))
        sig["opset"], sig["exporter"] = info["opset"], info["exporter"]
        if info.get("exporter_notes"):
            sig["exporter_notes"] = info["exporter_notes"]
        sig["parity"] = parity.check_parity(eager, runner, sig, batch, what)
    except BaseException:
        model.unlink(missing_ok=True)  # no model is kept that failed (or did not finish) its check
        raise
    sig["files"]["sha256"] = sha256_file(model)
    if fmt == "triton":
        from gankit.export.triton import check_repository, config_pbtxt
        from gankit.utils.io import atomic_write_text

        atomic_write_text(root / "config.pbtxt", config_pbtxt(model_name, sig))
        check_repository(Path(out), model_name)
    write_signature(root, sig)
    p = sig["parity"]
    log(f"parity ({info['exporter']}): max abs diff vs eager "
        + ", ".join(f"batch {n}: {d:.2e}" for n, d in p["per_batch"].items()) + f" (tolerance {p['tolerance']:g})")  # fmt: skip
    return Exported(path=root, model=model, signature=sig)
