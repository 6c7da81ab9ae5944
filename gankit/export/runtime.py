"""Run an export with ONNX Runtime alone: no gankit model code, no torch modules.

    from gankit.export.runtime import load_export
    m = load_export("exports/demo")             # checks signature, sha256 and the graph's inputs
    images = m.generate(m.noise(16, seed=0))    # float32 N x C x H x W in [-1, 1]
    m.sample(16, seed=0)                        # uint8, the same images as gankit.load(run).sample(16, seed=0)

Runs the graph with numpy and onnxruntime. No gankit model code is imported (``gankit.models``,
``gankit.tasks``, ``gankit.nn``: a test checks it); torch is (gankit's error contracts import it), and
:meth:`ExportedModel.noise` uses it, because the seeded noise must be the very numbers of
:func:`gankit.latent.truncation.truncated_noise` (same seed, same z everywhere: eager, export, server).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from gankit.errors import ExportError
from gankit.export.signature import BATCH, check_model_file, looks_like_export, read_signature

__all__ = ["ExportedModel", "is_export_dir", "load_export", "to_uint8"]

_ORT_TYPES = {"tensor(float)": "float32", "tensor(int64)": "int64"}
#: Rows per ONNX Runtime call in generate()/translate() of a dynamic-batch export.
CHUNK = 256


def is_export_dir(path: str | Path) -> bool:
    """Whether ``path`` is an export folder (or a Triton repository), complete or not -- not a run."""
    return looks_like_export(path)


def to_uint8(x: np.ndarray, value_range: tuple[float, float] = (-1.0, 1.0)) -> np.ndarray:
    """Float images -> uint8, as gankit.utils.images.to_uint8 (round to nearest, clamp)."""
    lo, hi = value_range
    return np.clip(np.rint((x.astype(np.float32) - lo) * np.float32(255.0 / (hi - lo))), 0, 255).astype(np.uint8)


class ExportedModel:
    """An ONNX export: ``run(**inputs)`` as the graph takes them, ``generate``/``translate``/``sample`` as
    :class:`gankit.inference.Inference` offers them (classes, masks and psi handled the same way)."""

    def __init__(self, path: Path, signature: dict[str, Any], session: Any) -> None:
        self.path, self.signature, self.session = path, signature, session
        self.input_names = [s["name"] for s in signature["inputs"]]
        batch = signature["batch"]
        self.max_batch: int | None = int(batch) if batch != "dynamic" else None

    # ------------------------------------------------------------------ the graph as it is

    def _check(self, name: str, value: Any, n: int | None) -> np.ndarray:
        spec = next(s for s in self.signature["inputs"] if s["name"] == name)
        arr = np.asarray(value)
        if spec["dtype"] == "int64":
            if arr.dtype.kind not in "iu":
                raise ExportError(f"input {name}: integer class labels (int64, shape N), got {arr.dtype}.")
            arr = arr.astype(np.int64).reshape(-1) if arr.ndim <= 1 else arr
        elif arr.dtype.kind != "f":
            raise ExportError(f"input {name}: float32 values, got {arr.dtype} (convert uint8 images with translate()).")
        want = [d for d in spec["shape"][1:]]
        if arr.ndim != len(spec["shape"]) or list(arr.shape[1:]) != want:
            raise ExportError(f"input {name}: shape {['N', *want]} expected, got {list(arr.shape)}.")
        if n is not None and arr.shape[0] != n:
            raise ExportError(f"inputs: every input has the same batch size; {name} has {arr.shape[0]}, not {n}.")
        if name == "c" and arr.size and (arr.min() < 0 or arr.max() >= self.signature["num_classes"]):
            raise ExportError(f"input c: classes 0..{self.signature['num_classes'] - 1}, got {arr.min()}..{arr.max()}.")
        return np.ascontiguousarray(arr, dtype=np.int64 if spec["dtype"] == "int64" else np.float32)

    def run(self, **inputs: np.ndarray) -> np.ndarray:
        """``images`` (float32) for exactly the graph's inputs; a fixed-batch export takes only its N rows."""
        if set(inputs) != set(self.input_names):
            raise ExportError(f"inputs: this {self.signature['task']} export takes {', '.join(self.input_names)}; "
                              f"got {', '.join(sorted(inputs)) or 'none'}.")  # fmt: skip
        n = len(np.asarray(inputs[self.input_names[0]]))
        feeds = {k: self._check(k, inputs[k], n) for k in self.input_names}
        if self.max_batch is not None and n != self.max_batch:
            raise ExportError(f"batch {n}: this export has a fixed batch of {self.max_batch} (--batch {self.max_batch}); give "
                              f"exactly {self.max_batch} rows (generate() and translate() pad for you), or export again "
                              "with --batch dynamic.")  # fmt: skip
        if n == 0:
            return np.zeros((0, *self.signature["output_shape"]), np.float32)
        return self.session.run(["images"], feeds)[0]

    def _batched(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """``run`` over chunks; a fixed-batch export's last chunk padded (by repeating its first row) and cut."""
        n = len(next(iter(feeds.values())))
        size = self.max_batch or CHUNK
        outs = []
        for i in range(0, n, size):
            part = {k: v[i : i + size] for k, v in feeds.items()}
            m = len(next(iter(part.values())))
            if self.max_batch is not None and m < size:
                part = {k: np.concatenate([v, np.repeat(v[:1], size - m, 0)]) for k, v in part.items()}
            outs.append(self.run(**part)[:m])
        return np.concatenate(outs) if outs else np.zeros((0, *self.signature["output_shape"]), np.float32)

    # ------------------------------------------------------------------ as gankit.inference does it

    def noise(self, n: int, seed: int = 0, truncation: float | None = None) -> np.ndarray:
        """Seeded N(0, I) noise: the z of ``gankit.load(run).noise(n, seed, truncation)``."""
        from gankit.latent.truncation import truncated_noise

        return truncated_noise(n, self.signature["z_dim"], truncation, seed).numpy()

    def _classes(self, n: int, c: Any) -> np.ndarray | None:
        k = self.signature["num_classes"]
        if not k:
            if c is not None:
                raise ExportError(f"{self.path}: this {self.signature['task']} model is unconditional; it takes no classes.")
            return None
        if c is None:
            return np.arange(n, dtype=np.int64) % k  # every class in turn, as gankit.load(run).generate
        c = np.asarray(c).reshape(-1)
        if len(c) not in (1, n):
            raise ExportError(f"classes: give one class or one per sample ({n}), got {len(c)}.")
        return np.broadcast_to(c, (n,)).astype(np.int64)

    def generate(self, z: Any, c: Any = None, psi: float | None = None) -> np.ndarray:
        """Float images (N x C x H x W, or N x D points) from noise; ``c`` default every class in turn.

        ``psi``: a style-based G has its psi baked in at export (``--truncation``), so only that value is
        accepted; otherwise z x psi, as ``Inference.generate``."""
        sig = self.signature
        if sig.get("input_shape") is not None:
            raise ExportError(f"{self.path}: this {sig['task']} model maps images to images; use translate(x).")
        z = np.asarray(z, dtype=np.float32)
        mode = sig.get("psi_mode")
        if psi is not None and psi != (sig["truncation_psi"] if mode == "baked" else 1.0):
            if mode == "baked":
                raise ExportError(f"psi {psi}: this export has psi {sig['truncation_psi']} baked in; export again with "
                                  f"`--truncation {psi}` for another.")  # fmt: skip
            if mode == "none":
                raise ExportError(f"psi {psi}: this {sig['task']} model pixel-normalises z, so z x psi is the same image.")
            z = z * np.float32(psi)
        feeds = {"z": z}
        c = self._classes(len(z), c)
        if c is not None:
            feeds["c"] = c
        return self._batched(feeds)

    def translate(self, x: Any, c: Any = None, mask: Any = None) -> np.ndarray:
        """Float outputs for uint8 (or float in [-1, 1]) images; ``c`` the target domain (StarGAN), ``mask``
        N x 1 x H x W (nonzero = hole; one may serve all) for inpainting."""
        sig = self.signature
        if sig.get("input_shape") is None:
            raise ExportError(f"{self.path}: this {sig['task']} model generates from noise; use generate(z).")
        x = np.asarray(x)
        x = x.astype(np.float32) / np.float32(127.5) - 1 if x.dtype == np.uint8 else x.astype(np.float32)
        feeds = {"x": x}
        if "c" in self.input_names:
            if c is None:
                raise ExportError(f"{self.path}: a StarGAN export translates into a chosen domain: give c "
                                  f"(0..{sig['num_classes'] - 1}).")  # fmt: skip
            feeds["c"] = self._classes(len(x), c)
        elif c is not None:
            raise ExportError(f"c: this {sig['task']} export has no domains to choose (StarGAN exports do).")
        if "mask" in self.input_names:
            if mask is None:
                raise ExportError(f"{self.path}: an inpainting export needs the hole's mask (N x 1 x H x W, nonzero = hole).")
            m = np.asarray(mask)
            m = (m[:, None] if m.ndim == 3 else m) > 0
            feeds["mask"] = np.repeat(m, len(x), 0).astype(np.float32) if len(m) == 1 else m.astype(np.float32)
        elif mask is not None:
            raise ExportError(f"mask: this {sig['task']} export does not inpaint.")
        return self._batched(feeds)

    def sample(self, n: int, seed: int = 0, classes: Any = None, truncation: float | None = None,
               psi: float | None = None) -> np.ndarray:  # fmt: skip
        """uint8 N x C x H x W images (float32 N x D for points): ``gankit.load(run).sample(n, seed, ...)``."""
        out = self.generate(self.noise(n, seed, truncation), classes, psi)
        return out if self.signature["output"] == "vector" else to_uint8(out)


def _check_graph(path: Path, sig: dict[str, Any], session: Any) -> None:
    """The graph's inputs and output against the signature (names, dtypes, and every dim but the batch)."""
    got = {i.name: i for i in session.get_inputs()}
    problems = []
    for spec in sig["inputs"]:
        i = got.pop(spec["name"], None)
        if i is None:
            problems.append(f"input {spec['name']!r} is not in the model")
            continue
        if _ORT_TYPES.get(i.type) != spec["dtype"]:
            problems.append(f"input {spec['name']!r} is {i.type} in the model, {spec['dtype']} in the signature")
        dims = [d if isinstance(d, int) else BATCH for d in i.shape]
        want = [BATCH if d == BATCH else d for d in spec["shape"]]
        if len(dims) != len(want) or dims[1:] != want[1:] or (isinstance(want[0], int) and dims[0] != want[0]):
            problems.append(f"input {spec['name']!r} has shape {dims} in the model, {want} in the signature")
    problems += [f"the model's input {k!r} is not in the signature" for k in got]
    if [o.name for o in session.get_outputs()] != ["images"]:
        problems.append(f"outputs {[o.name for o in session.get_outputs()]} (expected ['images'])")
    if problems:
        raise ExportError(f"{path}: the signature does not match the model: {'; '.join(problems)}. Export again.")


def load_export(path: str | Path, providers: list[str] | None = None, threads: int | None = None) -> ExportedModel:
    """An onnx (or triton) export, verified: signature version and keys, the model's sha256, that ONNX
    Runtime loads it, and that its inputs are the signature's. ``threads``: default $OMP_NUM_THREADS."""
    import onnxruntime as ort

    root, sig = read_signature(path)
    if sig["format"] not in ("onnx", "triton"):
        hint = "torch.jit.load(DIR/model.pt)" if sig["format"] == "torchscript" else "gankit.export.safetensors.load_safetensors(DIR)"
        raise ExportError(f"{root}: a {sig['format']} export; ONNX Runtime reads --format onnx or triton exports "
                          f"(load this one with {hint}, or export again with --format onnx).")  # fmt: skip
    model = check_model_file(root, sig)
    opts = ort.SessionOptions()
    threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
    if threads > 0:
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    try:
        session = ort.InferenceSession(str(model), opts, providers=providers or ["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - onnxruntime raises its own classes for a corrupt or unsupported file
        raise ExportError(f"{model}: ONNX Runtime cannot load it ({str(e).splitlines()[0][:300]}); the file is corrupt "
                          "or needs a newer onnxruntime. Export again.") from None  # fmt: skip
    _check_graph(model, sig, session)
    return ExportedModel(root, sig, session)
