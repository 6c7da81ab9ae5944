"""Atomic writes: a crash leaves either the old file or the new one, never half of one."""

from __future__ import annotations

import json
import re
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


def _umask() -> int:
    try:  # Linux reports it without changing it (os.umask can only be read by setting it)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def default_mode(directory: bool = False) -> int:
    """The permissions a plain ``open``/``mkdir`` would give: mkstemp/mkdtemp make 0600/0700 files."""
    return (0o777 if directory else 0o666) & ~_umask()


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed over ``path``.

    The temporary file is in the same folder, so the rename is atomic; on an exception it is
    removed and ``path`` is untouched.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise OSError(e.errno, e.strerror, str(path)) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, default_mode())
        os.replace(tmp_path, path)
    except OSError as e:  # name the file the user knows, not the temporary
        if e.filename is None or str(e.filename) == str(tmp_path):
            e.filename = str(path)
        raise
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write(path: str | Path, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then rename over ``path``."""
    with atomic_path(path) as tmp:
        write(str(tmp))
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_bytes(path: str | Path, data: bytes, chunk: int = 1 << 20) -> None:
    """Write ``data`` to ``path`` and fsync it: the one writer checkpoints use, so a test can make
    it fail partway (disk full) and check that nothing half-written survives under a final name."""
    with open(path, "wb") as fh:
        for i in range(0, len(data), chunk):
            fh.write(data[i : i + chunk])
        fh.flush()
        os.fsync(fh.fileno())


def describe_os_error(err: OSError, what: str = "write") -> str:
    """``cannot write PATH: No space left on device (errno 28)`` -- the path and the OS's words."""
    path = err.filename if err.filename is not None else "?"
    reason = err.strerror or str(err)
    code = f" (errno {err.errno})" if err.errno else ""
    return f"cannot {what} {path}: {reason}{code}"


TEMP_NAME = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")


def stale_temporaries(root: str | Path) -> list[Path]:
    """Temporary files and folders that :func:`atomic_path` and checkpoint writes leave when killed.

    Their names (``.NAME.XXXXXXXX.tmp``) never collide with a final file, so removing them on the
    next start cannot touch anything complete.
    """
    root = Path(root)
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob(".*") if TEMP_NAME.match(p.name))
