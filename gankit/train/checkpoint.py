"""Atomic, pickle-free checkpoints.

Layout: ``checkpoints/step-000500/{G,D}.safetensors`` (weights), ``state.safetensors`` (optimizer
tensors, RNG states) and ``state.json`` (step counters, data position, config, everything else).
A checkpoint is written into a temporary folder and renamed into place, so a crash or kill never
leaves a half-written one; ``state.json`` is written last and marks it complete.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from gankit.errors import CheckpointError
from gankit.utils.io import default_mode

STEP_DIR = re.compile(r"^step-(\d{6,})$")
_TENSOR = "__tensor__"


def split_tensors(obj: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """Replace every tensor in a nested dict/list with a key into ``tensors`` (JSON-able rest)."""
    if isinstance(obj, torch.Tensor):
        key = prefix
        tensors[key] = obj.detach().cpu().contiguous()
        return {_TENSOR: key}
    if isinstance(obj, dict):
        return {"__dict__": [[k, split_tensors(v, f"{prefix}.{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [split_tensors(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
    return obj


def join_tensors(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    """Inverse of :func:`split_tensors` (dict keys keep their types: optimizer states use ints)."""
    if isinstance(obj, dict):
        if _TENSOR in obj:
            return tensors[obj[_TENSOR]]
        if "__dict__" in obj:
            return {k: join_tensors(v, tensors) for k, v in obj["__dict__"]}
        return {k: join_tensors(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [join_tensors(v, tensors) for v in obj]
    return obj


@dataclass
class Checkpoint:
    path: Path
    step: int
    state: dict[str, Any]  # JSON part, tensors re-joined

    def weights(self, name: str) -> dict[str, torch.Tensor]:
        f = self.path / f"{name}.safetensors"
        if not f.is_file():
            raise CheckpointError(f"{self.path}: no {name}.safetensors in this checkpoint.")
        return load_file(str(f))


def save_checkpoint(
    ckpt_dir: str | Path,
    step: int,
    weights: dict[str, dict[str, torch.Tensor]],
    state: dict[str, Any],
    keep_last: int | None = None,
    name: str | None = None,
) -> Path:
    """Write ``ckpt_dir/step-XXXXXX`` (or ``ckpt_dir/name``) atomically; keep the newest ``keep_last``."""
    ckpt_dir = Path(ckpt_dir)
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    final = ckpt_dir / (name or f"step-{step:06d}")
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=ckpt_dir))
    os.chmod(tmp, default_mode(directory=True))  # mkdtemp makes 0700; a checkpoint is as readable as its run
    try:
        for wname, sd in weights.items():
            save_file({k: v.detach().cpu().contiguous() for k, v in sd.items()}, str(tmp / f"{wname}.safetensors"))
        tensors: dict[str, torch.Tensor] = {}
        meta = split_tensors({**state, "step": step}, "s", tensors)
        save_file(tensors, str(tmp / "state.safetensors"))
        (tmp / "state.json").write_text(json.dumps(meta))
        for f in tmp.iterdir():
            os.chmod(f, default_mode())  # safetensors writes 0600
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        if final.exists():  # same step again (e.g. a resumed run's final save): swap, then drop the old
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", dir=ckpt_dir))
            os.replace(final, old / final.name)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if keep_last and name is None:
        for old_ckpt in list_checkpoints(ckpt_dir)[:-keep_last]:
            shutil.rmtree(old_ckpt, ignore_errors=True)
    return final


def list_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Complete step checkpoints, oldest first."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = [p for p in ckpt_dir.iterdir() if STEP_DIR.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=lambda p: int(STEP_DIR.match(p.name).group(1)))  # type: ignore[union-attr]


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not (path / "state.json").is_file():
        raise CheckpointError(f"{path} is not a gankit checkpoint (no state.json). Pass a run folder or a checkpoints/step-* folder.")
    try:
        meta = json.loads((path / "state.json").read_text())
        tensors = load_file(str(path / "state.safetensors"))
    except Exception as e:  # noqa: BLE001 - any read error means a corrupt checkpoint
        raise CheckpointError(f"{path}: unreadable checkpoint ({e}).") from None
    state = join_tensors(meta, tensors)
    return Checkpoint(path=path, step=int(state["step"]), state=state)


def resolve_checkpoint(path: str | Path) -> Path:
    """A run folder (newest checkpoint), a ``checkpoints/`` folder, or a checkpoint folder itself."""
    p = Path(path)
    if (p / "state.json").is_file():
        return p
    for cdir in (p / "checkpoints", p):
        found = list_checkpoints(cdir)
        if found:
            return found[-1]
    if not p.exists():
        raise CheckpointError(f"{p} does not exist.")
    raise CheckpointError(f"no checkpoint found in {p} (expected checkpoints/step-XXXXXX/state.json).")
