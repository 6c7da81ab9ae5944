"""Small file helpers for the metrics package: SHA-256 of files, strict JSON written atomically."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gankit.utils.io import atomic_path

_HASHES: dict[tuple[str, int, int, int], str] = {}


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def sha256_file_cached(path: str | Path) -> str:
    """:func:`sha256_file`, remembered per (resolved path, size, mtime, inode): a changed file is hashed again."""
    p = Path(path).expanduser().resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _HASHES:
        _HASHES[key] = sha256_file(p)
    return _HASHES[key]


def write_json_atomic(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")
