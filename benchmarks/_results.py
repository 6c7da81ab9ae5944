"""Result JSONs of the long benchmarks: cached under runs/ (lost with the checkout) and kept under benchmarks/results/.

A result carries the ``key`` of every setting that produced it; a result whose key differs from the
current settings' is stale and ignored. The cache holds the heavy files too (trained runs); the kept
copy is the JSON alone, a few kB, in git, so a new checkout finds hours of finished rows and reruns
only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def key_of(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def write_json(path: Path, obj: Any) -> None:
    """Atomically: a killed benchmark leaves the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)


def read_cached(path: Path, key: str) -> dict | None:
    try:
        res = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return res if isinstance(res, dict) and res.get("key") == key else None


def kept_path(cache: str | Path, kept: str | Path | None, path: Path) -> Path | None:
    """Where ``path`` (under the cache folder) is kept, or None when nothing is kept or it is not under the cache."""
    if not kept:
        return None
    try:
        return Path(kept) / Path(path).relative_to(cache)
    except ValueError:
        return None


def lookup(cache: str | Path, kept: str | Path | None, path: Path, key: str) -> dict | None:
    """The current settings' result at ``path``: the cache's, else the kept copy's."""
    other = kept_path(cache, kept, path)
    return read_cached(path, key) or (read_cached(other, key) if other else None)


def save(cache: str | Path, kept: str | Path | None, path: Path, obj: dict) -> dict:
    """Write a result to the cache and keep a copy; a file that already holds exactly this result is left alone."""
    for target in (path, kept_path(cache, kept, path)):
        if target is not None and read_cached(target, obj["key"]) != obj:
            write_json(target, obj)
    return obj
