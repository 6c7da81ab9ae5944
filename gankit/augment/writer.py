"""``gankit augment``'s output: an ImageFolder of one class, and ``manifest.json`` beside it.

Layout (``OUT`` is ``--out``)::

    OUT/<class folder>/synthetic_000000.png, synthetic_000001.png, ...
    OUT/manifest.json

``<class folder>`` is the class's name as the data names it -- a folder dataset's own subfolder
name, so ``cp OUT/<class>/* DATA/<class>/`` merges the samples into the right class -- with path
separators and other characters a folder name cannot hold replaced by ``_`` (Fashion-MNIST's
``T-shirt/top`` becomes ``T-shirt_top``). The images are written into a hidden temporary folder
and renamed into place at the end, so an interrupted run never leaves a half-filled class folder.
The manifest says where every sample came from (:data:`MANIFEST_KEYS`).
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from gankit.errors import ConfigError
from gankit.utils.io import atomic_write_json

MANIFEST = "manifest.json"
FILE_PATTERN = "synthetic_{:06d}.png"
#: Every manifest has these keys (``metrics`` holds what could be measured, possibly nothing).
MANIFEST_KEYS = (
    "gankit_version", "created", "class", "n", "folder", "files", "recipe", "run", "checkpoint", "step", "weights",
    "trained", "seed", "filter", "proposed", "accepted", "acceptance_rate", "data", "metrics", "seconds",
)  # fmt: skip


def class_folder(name: str) -> str:
    """A folder name for a class name: separators and control/reserved characters -> ``_``."""
    safe = re.sub(r'[/\\:*?"<>|\x00-\x1f]', "_", str(name)).strip().strip(".")
    return safe or "class"


def check_out(out: Path, folder: str) -> None:
    """Refuse to mix with earlier output: ``OUT/manifest.json`` or a non-empty ``OUT/<folder>``."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder to write the ImageFolder into.")
    if (out / MANIFEST).exists():
        raise ConfigError(f"--out {out} already holds a {MANIFEST} from an earlier `gankit augment`; choose a new folder.")
    target = out / folder
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ConfigError(f"--out {out}: {target} already exists and is not empty; choose a new folder or empty it.")


def _to_pil(image: np.ndarray) -> Image.Image:
    """C x H x W uint8 -> a greyscale (L) or RGB image."""
    return Image.fromarray(np.ascontiguousarray(image[0] if image.shape[0] == 1 else image.transpose(1, 2, 0)))


def write_imagefolder(out: Path, folder: str, images: torch.Tensor) -> list[Path]:
    """uint8 N x C x H x W (C = 1 or 3) as ``out/folder/synthetic_%06d.png``; the written paths, in order."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ConfigError(f"expected uint8 N x 1|3 x H x W images, got {images.dtype} {tuple(images.shape)}.")
    check_out(out, folder)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{folder}.partial-{time.time_ns()}"
    tmp.mkdir()
    try:
        arr = images.numpy()
        for i, im in enumerate(arr):
            _to_pil(im).save(tmp / FILE_PATTERN.format(i), format="PNG")
        target = out / folder
        if target.exists():  # empty (check_out): replace it
            target.rmdir()
        tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return [out / folder / FILE_PATTERN.format(i) for i in range(len(arr))]


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, torch.Tensor):
        return _jsonable(v.tolist()) if v.numel() <= 64 else f"<tensor {tuple(v.shape)}>"
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return _jsonable(v.tolist()) if v.size <= 64 else f"<array {v.shape}>"
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    return repr(v)


def write_manifest(out: Path, manifest: dict[str, Any]) -> Path:
    """``out/manifest.json`` (atomic); every key of :data:`MANIFEST_KEYS` must be there."""
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise ValueError(f"manifest lacks {missing}")
    return atomic_write_json(out / MANIFEST, _jsonable(manifest))


__all__ = ["FILE_PATTERN", "MANIFEST", "MANIFEST_KEYS", "check_out", "class_folder", "write_imagefolder", "write_manifest"]
