"""Locating and fetching the IDX datasets, with SHA-256 verification.

Order of preference: files already in the target folder, the Debian package's copy
(``dataset-fashion-mnist`` installs into /usr/share/datasets), then a download. Every file is
written to a temporary name and renamed only after its checksum matched, so an interrupted
fetch never leaves a file that later looks valid.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.request  # noqa: F401 - the module gankit.utils.download calls (tests patch its urlopen)
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from gankit.utils.download import stream_to

from gankit.errors import DataError
from gankit.utils.io import default_mode

#: File-name prefix of each split of an MNIST-style dataset.
SPLIT_PREFIX = {"train": "train", "test": "t10k"}

_STANDARD_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@dataclass(frozen=True)
class DatasetSpec:
    """The four files of an MNIST-style dataset and where verified copies come from."""

    files: tuple[str, ...] = _STANDARD_FILES
    sha256: dict[str, str] = field(default_factory=dict)  # empty: no known checksums, no fetch
    base_url: str | None = None
    apt_package: str | None = None

    def split_files(self, split: str) -> tuple[str, str]:
        prefix = SPLIT_PREFIX[split]
        images = next(f for f in self.files if f.startswith(f"{prefix}-images"))
        labels = next(f for f in self.files if f.startswith(f"{prefix}-labels"))
        return images, labels


DATASETS: dict[str, DatasetSpec] = {
    "fashion-mnist": DatasetSpec(
        sha256={
            "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
            "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
            "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
            "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        },
        base_url="http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        apt_package="dataset-fashion-mnist",
    ),
    "mnist": DatasetSpec(),
}

# Parent folders searched for ``<parent>/<name>`` after the cache (Debian's dataset packages).
SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets"),)


def fetch_names() -> list[str]:
    """Every name `gankit data fetch` accepts: the IDX datasets, then the image-to-image archives."""
    from gankit.data.fetch_archive import TRANSLATION_DATASETS

    return sorted(DATASETS) + sorted(TRANSLATION_DATASETS)


def dataset_spec(name: str) -> DatasetSpec:
    if name not in DATASETS:
        raise DataError(f"unknown IDX dataset {name!r}; valid: {', '.join(sorted(DATASETS))}.")
    return DATASETS[name]


def default_root(name: str) -> Path:
    """``$GANKIT_DATA/<name>``, else ``~/.cache/gankit/datasets/<name>``."""
    base = os.environ.get("GANKIT_DATA")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "gankit" / "datasets") / name


def _missing(folder: Path, names: tuple[str, ...] | list[str]) -> list[str]:
    """Files absent from ``folder``; an un-gzipped copy counts as present."""
    return [f for f in names if not (folder / f).is_file() and not (folder / f.removesuffix(".gz")).is_file()]


def _how_to_get(name: str, target: Path, *, suggest_fetch: bool = True) -> str:
    spec = dataset_spec(name)
    files = ", ".join(spec.files)
    if not spec.sha256:
        return (
            f"gankit cannot fetch {name} (no verified source is known); place the four files ({files}) "
            f"in {target} (un-gzipped names work too), or point data.root at the folder holding them."
        )
    options = [f"run `gankit data fetch {name}`"] if suggest_fetch else []
    if spec.apt_package:
        options.append(f"`apt-get install {spec.apt_package}`")
    options.append(f"place the four files ({files}) in {target}")
    options[0] = options[0][0].upper() + options[0][1:]
    return ", or ".join(options) + ". Set GANKIT_DATA to keep datasets elsewhere."


def find_dataset(name: str, root: str | Path | None = None, *, split: str | None = None) -> Path:
    """The folder holding ``name``'s files: ``root`` if given, else the cache, else a system dir.

    With ``split`` only that split's two files are required.
    """
    spec = dataset_spec(name)
    needed = list(spec.split_files(split)) if split else list(spec.files)
    if root is not None:
        folder = Path(root).expanduser()
        missing = _missing(folder, needed)
        if missing:
            where = "does not exist" if not folder.is_dir() else f"lacks {', '.join(missing)}"
            how = (
                f"Fetch them with `gankit data fetch {name}` (into {default_root(name)}) and set data.root "
                f"to null, or copy them into {folder}."
                if spec.sha256
                else _how_to_get(name, folder)
            )
            raise DataError(f"{name} folder {folder} {where} (un-gzipped names are accepted too). {how}")
        return folder
    candidates = [default_root(name), *(Path(d) / name for d in SYSTEM_DIRS)]
    for folder in candidates:
        if not _missing(folder, needed):
            return folder
    searched = ", ".join(str(c) for c in candidates)
    raise DataError(f"{name} not found (searched {searched}). {_how_to_get(name, default_root(name))}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: str | Path, sha256: str) -> None:
    p = Path(path)
    try:
        actual = _sha256(p)
    except OSError as e:
        raise DataError(f"{p}: cannot read file to verify it ({e.strerror or e}).") from None
    if actual != sha256.lower():
        raise DataError(
            f"{p}: SHA-256 mismatch (expected {sha256.lower()}, got {actual}); the file is damaged or "
            f"not the official release. Delete it and fetch it again."
        )


def _tmp_in(folder: Path, name: str) -> Path:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    return Path(tmp)


def _install_verified(tmp: Path, dest: Path, sha256: str, source: str) -> None:
    actual = _sha256(tmp)
    if actual != sha256:
        raise DataError(
            f"{source}: SHA-256 mismatch for {dest.name} (expected {sha256}, got {actual}); "
            f"nothing was written to {dest.parent}."
        )
    os.chmod(tmp, default_mode())
    os.replace(tmp, dest)


def _copy_verified(src: Path, dest: Path, sha256: str) -> None:
    tmp = _tmp_in(dest.parent, dest.name)
    try:
        shutil.copyfile(src, tmp)
        _install_verified(tmp, dest, sha256, str(src))
    finally:
        tmp.unlink(missing_ok=True)


def _download(url: str, dest: Path, sha256: str, progress: bool, manual: str) -> None:
    tmp = _tmp_in(dest.parent, dest.name)
    try:
        reason = stream_to(url, tmp, dest.name, progress)
        if reason is not None:
            raise DataError(f"downloading {url} failed ({reason}). {manual}")
        _install_verified(tmp, dest, sha256, url)
    finally:
        tmp.unlink(missing_ok=True)


def _can_apt() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def _apt_install(package: str) -> None:
    """``apt-get install``; on a fresh machine the package lists are empty, so update once and retry."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        res = subprocess.run(
            ["apt-get", "install", "-y", package], env=env, capture_output=True, text=True, timeout=900
        )
        if res.returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True, text=True, timeout=900)
            res = subprocess.run(
                ["apt-get", "install", "-y", package], env=env, capture_output=True, text=True, timeout=900
            )
    except (OSError, subprocess.SubprocessError) as e:
        warnings.warn(f"apt-get install {package} failed ({e}); trying the next source", stacklevel=3)
        return
    if res.returncode != 0:
        tail = (res.stderr or res.stdout).strip().splitlines()[-1:] or [""]
        warnings.warn(f"apt-get install {package} failed: {tail[0]}; trying the next source", stacklevel=3)


def _system_source(name: str, files: list[str]) -> Path | None:
    for d in SYSTEM_DIRS:
        folder = Path(d) / name
        if all((folder / f).is_file() for f in files):
            return folder
    return None


def fetch(
    name: str,
    root: str | Path | None = None,
    *,
    allow_apt: bool = True,
    allow_download: bool = True,
    progress: bool = True,
) -> Path:
    """Make ``name``'s four verified files present in ``root`` (default: the cache); return it.

    The image-to-image datasets (facades, horse2zebra, ...) go to :mod:`gankit.data.fetch_archive`.
    """
    from gankit.data.fetch_archive import TRANSLATION_DATASETS, fetch_archive

    if name in TRANSLATION_DATASETS:
        target = Path(root).expanduser() if root is not None else default_root(name)
        return fetch_archive(name, target, allow_download=allow_download, progress=progress)
    if name not in DATASETS:
        raise DataError(f"gankit cannot fetch {name!r}; valid: {', '.join(fetch_names())}.")
    spec = dataset_spec(name)
    target = Path(root).expanduser() if root is not None else default_root(name)
    if not spec.sha256:
        if not _missing(target, spec.files):
            return target
        raise DataError(_how_to_get(name, target))
    present = [f for f in spec.files if (target / f).is_file()]
    for f in present:
        verify_file(target / f, spec.sha256[f])
    need = _missing(target, spec.files)
    if not need:
        return target
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {target} ({e.strerror or e}); set GANKIT_DATA to a writable folder.") from None
    manual = "Other options: " + _how_to_get(name, target, suggest_fetch=False)

    source = _system_source(name, need)
    if source is None and allow_apt and spec.apt_package and _can_apt():
        _apt_install(spec.apt_package)
        source = _system_source(name, need)
    if source is not None:
        for f in need:
            _copy_verified(source / f, target / f, spec.sha256[f])
        return target
    if allow_download and spec.base_url:
        for f in need:
            _download(spec.base_url + f, target / f, spec.sha256[f], progress, manual)
        return target
    raise DataError(f"{name}: no system copy found and downloading is disabled. {manual}")
