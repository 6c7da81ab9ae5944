from __future__ import annotations

import hashlib
import importlib
import io
import subprocess
import urllib.error
from dataclasses import replace
from pathlib import Path

import pytest

from gankit.data.idx import load_idx_dataset
from gankit.errors import DataError

F = importlib.import_module("gankit.data.fetch")  # the module; gankit.data re-exports the function as fetch_dataset
NAMES = F.DATASETS["fashion-mnist"].files


@pytest.fixture
def fake_release(tmp_path: Path, make_idx_folder, monkeypatch: pytest.MonkeyPatch) -> dict[str, bytes]:
    """Tiny fashion-mnist files whose SHA-256s replace the official ones; returns name -> bytes."""
    src = tmp_path / "release"
    make_idx_folder(src, n_train=10, n_test=10)
    blobs = {n: (src / n).read_bytes() for n in NAMES}
    spec = replace(F.DATASETS["fashion-mnist"], sha256={n: hashlib.sha256(b).hexdigest() for n, b in blobs.items()})
    monkeypatch.setitem(F.DATASETS, "fashion-mnist", spec)
    return blobs


@pytest.fixture
def system_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty fake /usr/share/datasets searched by find_dataset/fetch."""
    base = tmp_path / "usr-share-datasets"
    base.mkdir()
    monkeypatch.setattr(F, "SYSTEM_DIRS", (base,))
    return base


def _place(folder: Path, blobs: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in blobs.items():
        (folder / name).write_bytes(blob)


class _FakeResponse(io.BytesIO):
    def __init__(self, blob: bytes) -> None:
        super().__init__(blob)
        self.headers = {"Content-Length": str(len(blob))}


def test_default_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GANKIT_DATA", str(tmp_path / "d"))
    assert F.default_root("mnist") == tmp_path / "d" / "mnist"
    monkeypatch.delenv("GANKIT_DATA")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert F.default_root("fashion-mnist") == tmp_path / ".cache/gankit/datasets/fashion-mnist"


def test_registry_contents() -> None:
    fm = F.DATASETS["fashion-mnist"]
    assert fm.base_url == "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
    assert fm.sha256["train-images-idx3-ubyte.gz"].startswith("b0564c3e")
    assert set(fm.sha256) == set(fm.files) == set(F.DATASETS["mnist"].files)
    assert fm.split_files("test") == ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


def test_not_found_message(isolated_data: Path) -> None:
    with pytest.raises(DataError) as e:
        F.find_dataset("fashion-mnist")
    msg = str(e.value)
    for part in ("`gankit data fetch fashion-mnist`", "`apt-get install dataset-fashion-mnist`", str(isolated_data / "fashion-mnist"), *NAMES):
        assert part in msg


def test_root_missing_files_are_listed(isolated_data: Path, tmp_path: Path, fake_release) -> None:
    _place(tmp_path / "mine", {n: b for n, b in fake_release.items() if n.startswith("train")})
    assert F.find_dataset("fashion-mnist", tmp_path / "mine", split="train") == tmp_path / "mine"
    with pytest.raises(DataError, match="lacks t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz.*gankit data fetch fashion-mnist"):
        F.find_dataset("fashion-mnist", tmp_path / "mine")
    with pytest.raises(DataError, match="does not exist"):
        F.find_dataset("fashion-mnist", tmp_path / "nope")


def test_search_order_cache_then_system(isolated_data: Path, system_dir: Path, fake_release) -> None:
    _place(system_dir / "fashion-mnist", fake_release)
    assert F.find_dataset("fashion-mnist") == system_dir / "fashion-mnist"
    _place(isolated_data / "fashion-mnist", fake_release)
    assert F.find_dataset("fashion-mnist") == isolated_data / "fashion-mnist"


def test_fetch_copies_from_system_dir(isolated_data: Path, system_dir: Path, fake_release, monkeypatch) -> None:
    _place(system_dir / "fashion-mnist", fake_release)
    target = F.fetch("fashion-mnist", allow_download=False, progress=False)
    assert target == isolated_data / "fashion-mnist"
    assert sorted(p.name for p in target.iterdir()) == sorted(NAMES)  # no temp files left
    assert all((target / n).read_bytes() == b for n, b in fake_release.items())
    assert load_idx_dataset("fashion-mnist", "train")[0].shape == (10, 28, 28)
    monkeypatch.setattr(F, "_copy_verified", lambda *a: pytest.fail("already present: nothing to copy"))
    assert F.fetch("fashion-mnist", progress=False) == target


def test_fetch_corrupt_system_copy(isolated_data: Path, system_dir: Path, fake_release) -> None:
    bad = dict(fake_release, **{NAMES[2]: fake_release[NAMES[2]][:-1] + b"x"})
    _place(system_dir / "fashion-mnist", bad)
    with pytest.raises(DataError) as e:
        F.fetch("fashion-mnist", allow_download=False, progress=False)
    expected = hashlib.sha256(fake_release[NAMES[2]]).hexdigest()
    actual = hashlib.sha256(bad[NAMES[2]]).hexdigest()
    assert NAMES[2] in str(e.value) and expected in str(e.value) and actual in str(e.value)
    assert sorted(p.name for p in (isolated_data / "fashion-mnist").iterdir()) == sorted(NAMES[:2])


def test_existing_file_with_wrong_checksum(isolated_data: Path, fake_release) -> None:
    _place(isolated_data / "fashion-mnist", {NAMES[0]: b"junk"})
    with pytest.raises(DataError, match=f"{NAMES[0]}: SHA-256 mismatch \\(expected [0-9a-f]{{64}}, got {hashlib.sha256(b'junk').hexdigest()}"):
        F.fetch("fashion-mnist", progress=False)


def test_verify_file(tmp_path: Path) -> None:
    p = tmp_path / "f"
    p.write_bytes(b"abc")
    F.verify_file(p, hashlib.sha256(b"abc").hexdigest().upper())
    with pytest.raises(DataError, match="f: SHA-256 mismatch"):
        F.verify_file(p, "0" * 64)


def test_apt_then_copy(isolated_data: Path, system_dir: Path, fake_release, monkeypatch) -> None:
    calls = []

    def fake_run(cmd, **kw):
        calls.append(cmd)
        _place(system_dir / "fashion-mnist", fake_release)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(F, "_can_apt", lambda: True)
    monkeypatch.setattr(F.subprocess, "run", fake_run)
    target = F.fetch("fashion-mnist", allow_download=False, progress=False)
    assert calls == [["apt-get", "install", "-y", "dataset-fashion-mnist"]]
    assert sorted(p.name for p in target.iterdir()) == sorted(NAMES)


def test_apt_failure_falls_through_to_download(isolated_data: Path, fake_release, monkeypatch) -> None:
    monkeypatch.setattr(F, "_can_apt", lambda: True)
    monkeypatch.setattr(F.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 100, "", "E: Unable to locate package"))
    urls = []

    def fake_urlopen(url, timeout=None):
        urls.append(url)
        return _FakeResponse(fake_release[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(F.urllib.request, "urlopen", fake_urlopen)
    with pytest.warns(UserWarning, match="Unable to locate package"):
        target = F.fetch("fashion-mnist", progress=False)
    assert urls == [F.DATASETS["fashion-mnist"].base_url + n for n in NAMES]
    assert sorted(p.name for p in target.iterdir()) == sorted(NAMES)
    assert all((target / n).read_bytes() == b for n, b in fake_release.items())


def test_offline_download_failure(isolated_data: Path, fake_release, monkeypatch) -> None:
    def offline(url, timeout=None):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(F.urllib.request, "urlopen", offline)
    with pytest.raises(DataError) as e:
        F.fetch("fashion-mnist", progress=False)
    msg = str(e.value)
    url = F.DATASETS["fashion-mnist"].base_url + NAMES[0]
    assert f"downloading {url} failed" in msg and "name resolution" in msg
    assert "apt-get install dataset-fashion-mnist" in msg and NAMES[3] in msg
    assert list((isolated_data / "fashion-mnist").iterdir()) == []  # no partial files


def test_download_checksum_mismatch_leaves_nothing(isolated_data: Path, fake_release, monkeypatch) -> None:
    monkeypatch.setattr(F.urllib.request, "urlopen", lambda url, timeout=None: _FakeResponse(b"<html>captive portal</html>"))
    with pytest.raises(DataError, match=f"SHA-256 mismatch for {NAMES[0]}"):
        F.fetch("fashion-mnist", progress=False)
    assert list((isolated_data / "fashion-mnist").iterdir()) == []


def test_no_source_and_download_disabled(isolated_data: Path) -> None:
    with pytest.raises(DataError, match="downloading is disabled.*apt-get install"):
        F.fetch("fashion-mnist", allow_download=False, progress=False)


def test_mnist_must_be_placed_manually(isolated_data: Path, make_idx_folder) -> None:
    with pytest.raises(DataError) as e:
        F.fetch("mnist", progress=False)
    assert "place the four files" in str(e.value) and all(n in str(e.value) for n in NAMES)
    make_idx_folder(isolated_data / "mnist", gz=False)
    assert F.fetch("mnist") == isolated_data / "mnist"
    assert load_idx_dataset("mnist", "test")[0].shape == (12, 28, 28)
