"""Small file helpers for the metrics package: SHA-256 of files, strict JSON written atomically."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from gankit.utils.io import atomic_path


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            h.update(block)
    return h.hexdigest()


def write_json_atomic(path: str | Path, obj: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")
