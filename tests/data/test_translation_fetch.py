"""`gankit data fetch` for the pix2pix / CycleGAN archives, with the network mocked (none is reachable here)."""

from __future__ import annotations

import importlib
import io
import tarfile
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gankit.config import DataConfig
from gankit.data import FETCH_NAMES, load_translation_pairs
from gankit.errors import DataError

F = importlib.import_module("gankit.data.fetch")


def _offline(*args, **kwargs):
    raise urllib.error.URLError("Network is unreachable")


class _Response(io.BytesIO):
    def __init__(self, blob: bytes) -> None:
        super().__init__(blob)
        self.headers = {"Content-Length": str(len(blob))}


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, blob in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            t.addfile(info, io.BytesIO(blob))
    return buf.getvalue()


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 3), 77, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def test_names_for_the_cli() -> None:
    assert {"fashion-mnist", "mnist", "facades", "maps", "edges2shoes", "horse2zebra"} <= set(FETCH_NAMES)
    assert list(FETCH_NAMES) == F.fetch_names()
    with pytest.raises(DataError, match="cannot fetch 'nope'; valid: .*facades.*horse2zebra"):
        F.fetch("nope")


@pytest.mark.parametrize(
    "name,url,folders",
    [
        ("facades", "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/facades.tar.gz", "train/ and val/"),
        ("horse2zebra", "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/horse2zebra.zip", "trainA/, trainB/"),
    ],
)
def test_offline_says_where_from_and_how_by_hand(isolated_data: Path, monkeypatch: pytest.MonkeyPatch,
                                                 name: str, url: str, folders: str) -> None:  # fmt: skip
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    with pytest.raises(DataError) as e:
        F.fetch(name)
    msg, target = str(e.value), isolated_data / name
    for part in (f"could not download {name} from {url}", "Network is unreachable", "To place it by hand", folders, str(target)):
        assert part in msg
    assert not target.exists() and not any(p.name.startswith(".") for p in isolated_data.iterdir())  # nothing left behind


def test_fetch_extracts_the_layout(isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = _tar_gz({"facades/train/1.jpg": _png(16, 8), "facades/val/1.jpg": _png(16, 8)})
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: _Response(blob))
    path = F.fetch("facades", progress=False)
    assert path == isolated_data / "facades" and (path / "train" / "1.jpg").is_file()
    a, b = load_translation_pairs(DataConfig(name="aligned", root=str(path), image_size=8), "val")
    assert a.shape == b.shape == (1, 3, 8, 8)
    monkeypatch.setattr(urllib.request, "urlopen", _offline)
    assert F.fetch("facades") == path  # present: no download


def test_unsafe_archive_is_refused(isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blob = _tar_gz({"../evil.txt": b"x", "facades/train/1.jpg": _png(16, 8)})
    monkeypatch.setattr(urllib.request, "urlopen", lambda *a, **k: _Response(blob))
    with pytest.raises(DataError, match="'../evil.txt' is a link or lies outside the folder"):
        F.fetch("facades", progress=False)
    assert not (isolated_data / "facades").exists() and not (isolated_data.parent / "evil.txt").exists()
