"""Tiny datasets written per test, so no test depends on downloaded data."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from gankit.data.idx import write_idx

FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _write_idx_folder(folder: Path, n_train: int = 24, n_test: int = 12, gz: bool = True, seed: int = 0) -> dict:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        img_name, lbl_name = FILES[split]
        if not gz:
            img_name, lbl_name = img_name[:-3], lbl_name[:-3]
        write_idx(folder / img_name, images)
        write_idx(folder / lbl_name, labels)
        out[split] = (images, labels)
    return out


@pytest.fixture
def make_idx_folder() -> Callable[..., dict]:
    """``make_idx_folder(folder, n_train=24, n_test=12, gz=True)`` -> {split: (images, labels)}."""
    return _write_idx_folder


@pytest.fixture
def isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty gankit data cache and no system dataset folders; returns the cache folder."""
    import importlib

    fetch_mod = importlib.import_module("gankit.data.fetch")
    cache = tmp_path / "cache"
    monkeypatch.setenv("GANKIT_DATA", str(cache))
    monkeypatch.setattr(fetch_mod, "SYSTEM_DIRS", ())
    monkeypatch.setattr(fetch_mod, "_can_apt", lambda: False)
    return cache
