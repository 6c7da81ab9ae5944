"""Atomic, pickle-free checkpoints.

Layout: ``checkpoints/step-000500/{G,D}.safetensors`` (weights), ``state.safetensors`` (optimizer
tensors, RNG states) and ``state.json`` (step counters, data position, config, everything else,
and the size and SHA-256 of every other file). A checkpoint is written into a temporary folder
and renamed into place, so a crash or kill never leaves a half-written one; ``state.json`` is
written last and marks it complete. The checksums catch what the rename cannot: a file damaged
later (a truncated copy, a bad disk), so ``--resume auto`` can pass over it to an older one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from gankit.errors import CheckpointError
from gankit.utils import io as gio
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


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_checkpoint(
    ckpt_dir: str | Path,
    step: int,
    weights: dict[str, dict[str, torch.Tensor]],
    state: dict[str, Any],
    keep_last: int | None = None,
    name: str | None = None,
) -> Path:
    """Write ``ckpt_dir/step-XXXXXX`` (or ``ckpt_dir/name``) atomically; keep the newest ``keep_last``.

    An OS error (disk full, permission denied) propagates after the temporary folder is removed;
    the previous checkpoints are untouched.
    """
    ckpt_dir = Path(ckpt_dir)
    final = ckpt_dir / (name or f"step-{step:06d}")
    try:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=ckpt_dir))
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(final)) from None
    try:
        os.chmod(tmp, default_mode(directory=True))  # mkdtemp makes 0700; a checkpoint is as readable as its run
        files: dict[str, dict[str, Any]] = {}

        def put(fname: str, data: bytes) -> None:
            gio.write_bytes(tmp / fname, data)
            os.chmod(tmp / fname, default_mode())
            files[fname] = {"bytes": len(data), "sha256": _sha256(data)}

        for wname, sd in weights.items():
            put(f"{wname}.safetensors", safetensors_bytes({k: v.detach().cpu().contiguous() for k, v in sd.items()}))
        tensors: dict[str, torch.Tensor] = {}
        meta = split_tensors({**state, "step": step}, "s", tensors)
        put("state.safetensors", safetensors_bytes(tensors))
        gio.write_bytes(tmp / "state.json", json.dumps({"files": files, **meta}).encode())  # last: marks it complete
        os.chmod(tmp / "state.json", default_mode())
        if final.exists():  # same step again (e.g. a resumed run's final save): swap, then drop the old
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old.", suffix=".tmp", dir=ckpt_dir))
            os.replace(final, old / final.name)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    except BaseException as e:
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(e, OSError) and e.filename is not None and str(tmp) in str(e.filename):
            e.filename = str(e.filename).replace(str(tmp), str(final))  # the path the user knows
        raise
    if keep_last and name is None:
        prune(ckpt_dir, step, keep_last)
    return final


def prune(ckpt_dir: Path, step: int, keep_last: int) -> None:
    """Keep ``step`` and the ``keep_last - 1`` newest checkpoints before it.

    Checkpoints *after* ``step`` (a run resumed from an older one because the newest was corrupt)
    are never counted or deleted: otherwise a corrupt newest checkpoint would push the good ones
    out of the rotation.
    """
    older = [p for p in list_checkpoints(ckpt_dir) if _step_of(p) < step]
    for old_ckpt in older[: max(len(older) - (keep_last - 1), 0)]:
        shutil.rmtree(old_ckpt, ignore_errors=True)


def _step_of(path: Path) -> int:
    m = STEP_DIR.match(path.name)
    return int(m.group(1)) if m else -1


def list_checkpoints(ckpt_dir: str | Path) -> list[Path]:
    """Complete step checkpoints (they have a ``state.json``), oldest first; not verified."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    found = [p for p in ckpt_dir.iterdir() if STEP_DIR.match(p.name) and (p / "state.json").is_file()]
    return sorted(found, key=_step_of)


def verify_checkpoint(path: str | Path) -> str | None:
    """None when the checkpoint is intact, else why not (a missing, truncated or altered file)."""
    path = Path(path)
    if not (path / "state.json").is_file():
        return "incomplete: no state.json"
    try:
        meta = json.loads((path / "state.json").read_bytes())
    except (OSError, ValueError) as e:
        return f"state.json unreadable ({e})"
    if not isinstance(meta, dict):
        return "state.json is not a gankit checkpoint state"
    files = meta.get("files")
    if files is None:  # written before checksums existed: check that every file parses
        for f in sorted(path.glob("*.safetensors")):
            try:
                with safe_open(str(f), framework="pt") as fh:
                    for key in fh.keys():
                        fh.get_slice(key)
            except Exception as e:  # noqa: BLE001 - any parse error means damage
                return f"{f.name} unreadable ({str(e).splitlines()[0]})"
        return None
    for fname, want in sorted(files.items()):
        f = path / fname
        if not f.is_file():
            return f"{fname} is missing"
        size = f.stat().st_size
        if size != want["bytes"]:
            return f"{fname} is {size:,} bytes, expected {want['bytes']:,} (truncated or overwritten)"
        if _sha256(f.read_bytes()) != want["sha256"]:
            return f"{fname} does not match its SHA-256 checksum (altered or damaged)"
    return None


@dataclass
class CheckpointInfo:
    path: Path
    step: int | None
    bytes: int
    problem: str | None  # None: ok

    @property
    def status(self) -> str:
        return "ok" if self.problem is None else f"corrupt ({self.problem})"


def describe_checkpoints(ckpt_dir: str | Path) -> list[CheckpointInfo]:
    """Every checkpoint folder (step-*, best, ...) with its size and whether it verifies; oldest step first."""
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        return []
    out = []
    for p in ckpt_dir.iterdir():
        if not p.is_dir() or p.name.startswith("."):
            continue
        size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
        problem = verify_checkpoint(p)
        step = _step_of(p) if STEP_DIR.match(p.name) else None
        if step is None and problem is None:  # a named one (best): its step is in state.json
            step = int(dict(json.loads((p / "state.json").read_bytes())["__dict__"]).get("step", -1))
        out.append(CheckpointInfo(p, step, size, problem))
    return sorted(out, key=lambda i: (not STEP_DIR.match(i.path.name), i.step if i.step is not None else -1, i.path.name))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


def newest_good(ckpt_dir: str | Path, warn: Callable[[str], None] = _stderr) -> Path | None:
    """The newest step checkpoint that verifies; warns about each newer one it passes over (never deletes)."""
    for p in reversed(list_checkpoints(ckpt_dir)):
        problem = verify_checkpoint(p)
        if problem is None:
            return p
        warn(f"warning: skipping checkpoint {p}: corrupt ({problem}); it is left in place.")
    return None


def find_resume(run_dir: str | Path, warn: Callable[[str], None] = _stderr) -> Path | None:
    """``--resume auto``: the newest checkpoint of a run folder that verifies."""
    return newest_good(Path(run_dir) / "checkpoints", warn)


def load_checkpoint(path: str | Path) -> Checkpoint:
    path = Path(path)
    if not (path / "state.json").is_file():
        raise CheckpointError(f"{path} is not a gankit checkpoint (no state.json). Pass a run folder or a checkpoints/step-* folder.")
    problem = verify_checkpoint(path)
    if problem is not None:
        raise CheckpointError(
            f"{path}: unreadable checkpoint: {problem}. `gankit checkpoints {path.parent.parent}` lists the intact ones; "
            "`--resume auto` takes the newest of them."
        )
    try:
        meta = json.loads((path / "state.json").read_text())
        tensors = load_file(str(path / "state.safetensors"))
    except Exception as e:  # noqa: BLE001 - any read error means a corrupt checkpoint
        raise CheckpointError(f"{path}: unreadable checkpoint ({e}).") from None
    meta.pop("files", None)
    state = join_tensors(meta, tensors)
    return Checkpoint(path=path, step=int(state["step"]), state=state)


def resolve_checkpoint(path: str | Path, warn: Callable[[str], None] = _stderr) -> Path:
    """A run folder or ``checkpoints/`` folder (its newest intact checkpoint), or a checkpoint folder itself."""
    p = Path(path)
    if (p / "state.json").is_file():
        return p
    for cdir in (p / "checkpoints", p):
        if list_checkpoints(cdir):
            good = newest_good(cdir, warn)
            if good is None:
                raise CheckpointError(f"every checkpoint in {cdir} is corrupt (`gankit checkpoints {p}` says why).")
            return good
    if not p.exists():
        raise CheckpointError(f"{p} does not exist.")
    raise CheckpointError(f"no checkpoint found in {p} (expected checkpoints/step-XXXXXX/state.json).")


def clean_temporaries(run_dir: str | Path) -> list[Path]:
    """Remove what a killed write left (see :func:`gankit.utils.io.stale_temporaries`).

    One case is put back instead: a kill between the two renames of a same-step swap leaves the
    complete previous checkpoint inside ``.NAME.old.XXXXXXXX.tmp`` with no ``NAME`` beside it.
    """
    removed = []
    for tmp in gio.stale_temporaries(run_dir):
        if not tmp.exists():
            continue
        if tmp.is_dir() and ".old." in tmp.name:
            for inner in tmp.iterdir():
                if not (tmp.parent / inner.name).exists():
                    os.replace(inner, tmp.parent / inner.name)
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed
