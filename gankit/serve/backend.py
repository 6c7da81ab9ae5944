"""What the server runs: a model behind one small interface, eager torch or an ONNX export.

A backend takes and returns numpy arrays (float32 images in [-1, 1]) so the batcher can concatenate
requests without caring which runtime sits below. ``batch_sizes`` records the rows of every call,
which the tests read to see batching happen. Only the batcher's one worker thread calls
``generate`` / ``translate`` / ``style_mix``; the rest is read-only and safe from any thread.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import ConfigError

#: Offsets tried (in order) when probing which input sizes a convolutional model accepts.
SIZE_MULTIPLES = (1, 2, 4, 8, 16, 32)


class Backend:
    """The interface the app and the batcher use; subclasses fill in the model calls."""

    name = "base"
    #: a fixed-batch export's N (every call is padded to it); None: any batch size
    max_batch: int | None = None

    def __init__(self, signature: dict[str, Any]) -> None:
        self.signature = signature
        self.batch_sizes: deque[int] = deque(maxlen=100_000)
        self._size_multiple: int | None = None

    # --- what the model is -------------------------------------------------------------------
    @property
    def task(self) -> str:
        return str(self.signature["task"])

    @property
    def num_classes(self) -> int:
        return int(self.signature.get("num_classes") or 0)

    @property
    def is_translator(self) -> bool:
        return self.signature.get("input_shape") is not None

    @property
    def is_vector(self) -> bool:
        return self.signature.get("output") == "vector"

    @property
    def style_based(self) -> bool:
        return bool(self.signature.get("style_based"))

    @property
    def any_size(self) -> bool:
        """Super-resolution and inpainting nets are convolutional: other input sizes work."""
        return self.task in ("srgan", "inpaint") and self.dynamic_spatial()

    def dynamic_spatial(self) -> bool:
        return True

    def capabilities(self) -> list[str]:
        if self.is_translator:
            caps = ["translate"]
            caps += ["upscale"] if self.signature.get("scale") else []
            caps += ["inpaint"] if self.task == "inpaint" else []
            caps += ["target-class"] if self.task == "stargan" else []
            return caps
        if self.is_vector:
            return ["generate"]
        return ["generate", "interpolate"] + (["style-mix"] if self.supports_style_mix() else [])

    def supports_style_mix(self) -> bool:
        return False

    def check_psi(self, psi: float | None) -> float:
        """The psi a request runs at (None: no truncation), or a ConfigError saying why it cannot."""
        return 1.0 if psi is None else float(psi)

    def check_style_mix(self, layers: str) -> None:
        raise ConfigError(f"style mixing needs a style-based generator (task stylegan2) served by the torch backend; "
                          f"this is a {self.task} model on {self.name}.")  # fmt: skip

    def info(self) -> dict[str, Any]:
        raise NotImplementedError

    # --- the model calls (worker thread only) --------------------------------------------------
    def generate(self, z: np.ndarray, c: np.ndarray | None, psi: float) -> np.ndarray:
        raise NotImplementedError

    def translate(self, x: np.ndarray, c: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        raise NotImplementedError

    def style_mix(self, row_seeds: list[int], col_seeds: list[int], layers: str, klass: int | None) -> np.ndarray:
        raise ConfigError("style mixing is not available on this backend.")

    # --- input sizes ---------------------------------------------------------------------------
    def size_multiple(self) -> int:
        """The multiple H and W must be for an any-size model (probed once on small zero inputs)."""
        if self._size_multiple is None:
            self._size_multiple = self._probe_multiple()
        return self._size_multiple

    def _probe_multiple(self) -> int:
        c, h, w = self.signature["input_shape"]
        for m in SIZE_MULTIPLES:
            hh, ww = h + m, w + 2 * m
            x = np.zeros((1, c, hh, ww), np.float32)
            mask = np.zeros((1, 1, hh, ww), np.float32) if self.task == "inpaint" else None
            try:
                out = self._translate_raw(x, None, mask)
            except Exception:  # noqa: BLE001 - a size the network cannot take
                continue
            scale = int(self.signature.get("scale") or 1)
            if tuple(out.shape[2:]) == (hh * scale, ww * scale):
                return m
        return 0  # no other size works: only the training size

    def _translate_raw(self, x: np.ndarray, c: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        return self.translate(x, c, mask)


def _run_metrics(run_dir: Path, checkpoint: Path, step: int) -> dict[str, Any] | None:
    """The run's last evaluation with its protocol: what an export records in its signature."""
    from gankit.export.signature import run_metrics

    return run_metrics(run_dir, checkpoint, step)


class TorchBackend(Backend):
    """Eager PyTorch on CPU, from :func:`gankit.load` (G_ema where kept)."""

    name = "torch"

    def __init__(self, inference: Any) -> None:
        self.inference = inference
        sig = dict(inference.signature)
        sig.update(class_names=inference.class_names, style_based=inference.is_style_based,
                   scale=sig.get("scale"), truncation_psi=None)  # fmt: skip
        super().__init__(sig)

    def supports_style_mix(self) -> bool:
        return self.inference.is_style_based and not self.is_translator

    def check_psi(self, psi: float | None) -> float:
        p = 1.0 if psi is None else float(psi)
        if p != 1.0 and not self.inference.is_style_based and getattr(self.inference.module, "normalizes_z", False):
            raise ConfigError(f"truncation: this {type(self.inference.module).__name__} pixel-normalises z, so z x psi gives "
                              "the same image; ask for truncation 1.")  # fmt: skip
        return p

    def check_style_mix(self, layers: str) -> None:
        if not self.supports_style_mix():
            super().check_style_mix(layers)
        from gankit.latent.tools import parse_layers

        g = self.inference.module
        parse_layers(layers, g.layer_groups(), g.num_ws)

    def info(self) -> dict[str, Any]:
        g = self.inference
        run_dir = Path(g.path).parent.parent
        return {"signature": self.signature, "recipe": {"name": g.cfg.name, "description": g.cfg.description},
                "step": g.step, "weights": g.weights, "metrics": _run_metrics(run_dir, Path(g.path), g.step), "class_names": g.class_names,
                "backend": self.name, "source": str(g.path)}  # fmt: skip

    def generate(self, z: np.ndarray, c: np.ndarray | None, psi: float) -> np.ndarray:
        import torch

        zt = torch.from_numpy(np.ascontiguousarray(z, dtype=np.float32))
        ct = None if c is None else torch.from_numpy(np.ascontiguousarray(c, dtype=np.int64))
        out = self.inference.generate(zt, ct, batch_size=max(len(zt), 1), psi=psi)
        self.batch_sizes.append(len(zt))
        return out.numpy()

    def translate(self, x: np.ndarray, c: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        out = self._translate_raw(x, c, mask)
        self.batch_sizes.append(len(x))
        return out

    def _translate_raw(self, x: np.ndarray, c: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        import torch

        args = [torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))]
        if c is not None:
            args.append(torch.from_numpy(np.ascontiguousarray(c, dtype=np.int64)))
        if mask is not None:
            args.append(torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32)))
        with torch.no_grad():
            return self.inference.module.eval()(*args).float().numpy()

    def style_mix(self, row_seeds: list[int], col_seeds: list[int], layers: str, klass: int | None) -> np.ndarray:
        from gankit.latent.tools import style_mix

        cells = style_mix(self.inference, row_seeds, col_seeds, layers, klass)
        self.batch_sizes.append(len(cells))
        return cells.numpy()


class OnnxBackend(Backend):
    """ONNX Runtime on an export directory (:func:`gankit.export.runtime.load_export`)."""

    name = "onnxruntime"

    def __init__(self, exported: Any, path: str | Path | None = None) -> None:
        self.model = exported
        self.path = path
        super().__init__(dict(exported.signature))
        self.max_batch = getattr(exported, "max_batch", None)

    def dynamic_spatial(self) -> bool:
        for spec in self.signature.get("inputs") or []:
            if spec.get("name") == "x":
                return not all(isinstance(d, int) for d in list(spec.get("shape") or [])[2:])
        return False

    def check_psi(self, psi: float | None) -> float:
        mode = self.signature.get("psi_mode", "baked" if self.style_based else "scale_z")
        if mode == "baked":
            tp = self.signature.get("truncation_psi")
            baked = 1.0 if tp is None else float(tp)
            if psi is not None and abs(float(psi) - baked) > 1e-9:
                raise ConfigError(f"truncation: this ONNX export has psi {baked:g} baked in (`gankit export --truncation`); "
                                  f"ask for truncation {baked:g}, or serve the run with --backend torch for any psi.")  # fmt: skip
            return baked
        p = 1.0 if psi is None else float(psi)
        if mode == "none" and p != 1.0:
            raise ConfigError(f"truncation: this {self.task} model pixel-normalises z, so z x psi gives the same image; ask for truncation 1.")
        return p

    def info(self) -> dict[str, Any]:
        sig = self.signature
        src = sig.get("source") or {}
        recipe = src.get("recipe")
        recipe_info = recipe if isinstance(recipe, dict) else {"name": recipe, "description": None}
        return {"signature": sig, "recipe": recipe_info, "step": src.get("step"), "weights": src.get("weights"),
                "metrics": sig.get("metrics"), "class_names": sig.get("class_names"), "backend": self.name,
                "source": str(self.path) if self.path else src.get("run")}  # fmt: skip

    def generate(self, z: np.ndarray, c: np.ndarray | None, psi: float) -> np.ndarray:
        """z x psi where psi scales z (the export pads a fixed batch itself); a baked psi is in the graph."""
        self.batch_sizes.append(len(z))
        scale = self.signature.get("psi_mode") == "scale_z" and psi != 1.0
        if not self.num_classes:
            c = None
        return self.model.generate(np.ascontiguousarray(z, dtype=np.float32), c, psi if scale else None)

    def translate(self, x: np.ndarray, c: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        self.batch_sizes.append(len(x))
        return self._translate_raw(x, c, mask)

    def _translate_raw(self, x: np.ndarray, c: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        return self.model.translate(np.ascontiguousarray(x, dtype=np.float32), c=c, mask=mask)


def build_backend(path: str | Path, backend: str | None = None) -> Backend:
    """A backend for a run folder / checkpoint (torch, or onnxruntime through a parity-checked export
    to a temporary folder) or an export directory (onnxruntime). ``backend=None`` picks by the path."""
    if backend not in (None, "torch", "onnxruntime"):
        raise ConfigError(f"--backend: torch or onnxruntime, got {backend!r}.")
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such run folder, checkpoint folder or export directory.")
    export_dir = _is_export_dir(p)
    if export_dir:
        if backend == "torch":
            raise ConfigError(f"{p} is an export directory: serve it with --backend onnxruntime (or give the run folder for torch).")
        from gankit.export.runtime import load_export

        return OnnxBackend(load_export(p), path=p)
    if backend == "onnxruntime":
        return _export_and_load(p)
    import gankit

    return TorchBackend(gankit.load(p))


def _is_export_dir(p: Path) -> bool:
    """An export folder or a Triton repository (gankit.export's test), not a run."""
    from gankit.export.runtime import is_export_dir

    return bool(is_export_dir(p))


def _export_and_load(run: Path) -> Backend:
    """Export a run to ONNX in a temporary folder (the exporter checks parity) and serve that."""
    import atexit
    import shutil
    import sys
    import tempfile

    from gankit.export import export
    from gankit.export.runtime import load_export

    tmp = Path(tempfile.mkdtemp(prefix="gankit-serve-onnx-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)  # the session holds the model in memory
    out = tmp / "export"
    export(run, "onnx", out, log=lambda line: print(f"gankit: {line}", file=sys.stderr))
    return OnnxBackend(load_export(out), path=out)
