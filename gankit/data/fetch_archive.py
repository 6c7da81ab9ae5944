"""`gankit data fetch NAME` for the public image-to-image datasets of the pix2pix / CycleGAN authors.

pix2pix sets (A|B images, ``data.name: aligned``) come from ``PIX2PIX_URL``, CycleGAN sets (trainA/trainB,
``data.name: unaligned``) from ``CYCLEGAN_URL`` -- the addresses the authors' download scripts use. The
authors publish no checksums, so an archive is not verified; it is downloaded to a temporary file,
extracted (refusing members that would land outside the folder, and links) into a temporary folder, its
layout checked, and only then renamed to ``$GANKIT_DATA/NAME`` (or ``--root``): an interrupted fetch
leaves nothing that looks complete. Cityscapes is not offered: its license forbids redistribution.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from gankit.errors import DataError
from gankit.utils.download import stream_to
from gankit.utils.io import default_mode

PIX2PIX_URL = "http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
CYCLEGAN_URL = "http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"


@dataclass(frozen=True)
class ArchiveSpec:
    """Where a translation dataset's archive is and which layout it unpacks to."""

    url: str
    layout: Literal["aligned", "unaligned"]

    @property
    def required(self) -> tuple[str, ...]:
        """The folders a usable copy must have."""
        return ("train",) if self.layout == "aligned" else ("trainA", "trainB")

    @property
    def folders(self) -> str:
        """The folders the archive ships, for the by-hand instructions."""
        if self.layout == "aligned":
            return "train/ and val/ (and test/ where the set has one), each file A|B side by side"
        return "trainA/, trainB/, testA/ and testB/"


_PIX2PIX = ("facades", "maps", "edges2shoes", "edges2handbags", "night2day")
_CYCLEGAN = ("apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo",
             "ukiyoe2photo", "vangogh2photo", "iphone2dslr_flower")  # fmt: skip
TRANSLATION_DATASETS: dict[str, ArchiveSpec] = {
    **{n: ArchiveSpec(PIX2PIX_URL.format(name=n), "aligned") for n in _PIX2PIX},
    **{n: ArchiveSpec(CYCLEGAN_URL.format(name=n), "unaligned") for n in _CYCLEGAN},
}


def _complete(folder: Path, spec: ArchiveSpec) -> bool:
    return all((folder / d).is_dir() and any((folder / d).iterdir()) for d in spec.required)


def by_hand(name: str, target: Path) -> str:
    """How to put ``name`` in place without gankit downloading it."""
    spec = TRANSLATION_DATASETS[name]
    return (
        f"To place it by hand: download {spec.url} where there is network access, extract it, and put its "
        f"{spec.folders} in {target}; then train with data.name: {spec.layout} and data.root: {target}."
    )


def _download(url: str, dest: Path, name: str, target: Path, progress: bool) -> None:
    reason = stream_to(url, dest, Path(url).name, progress)
    if reason is not None:
        raise DataError(f"could not download {name} from {url} ({reason}). {by_hand(name, target)}")


def _safe(member: str) -> bool:
    p = PurePosixPath(member)
    return not p.is_absolute() and ".." not in p.parts and not member.startswith(("/", "\\"))


def _extract(archive: Path, into: Path, url: str) -> None:
    """Unpack a .tar.gz or .zip into ``into``; DataError on a damaged archive or an unsafe member."""
    try:
        if url.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                bad = [n for n in z.namelist() if not _safe(n)]
                if bad:
                    raise DataError(f"{url}: archive member {bad[0]!r} would land outside the folder; refused.")
                z.extractall(into)
            return
        with tarfile.open(archive, "r:*") as t:
            members = t.getmembers()
            bad = [m.name for m in members if not _safe(m.name) or not (m.isfile() or m.isdir())]
            if bad:
                raise DataError(f"{url}: archive member {bad[0]!r} is a link or lies outside the folder; refused.")
            if hasattr(tarfile, "data_filter"):
                t.extractall(into, members=members, filter="data")
            else:  # Python without extraction filters: the members were checked above
                t.extractall(into, members=members)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as e:
        raise DataError(f"{url}: the downloaded archive is damaged or incomplete ({e}); fetch it again.") from None


def _dataset_folder(into: Path, spec: ArchiveSpec) -> Path | None:
    """The extracted folder with the layout: ``into`` itself or its one top-level folder (the archives' NAME/)."""
    if _complete(into, spec):
        return into
    tops = [p for p in into.iterdir() if p.is_dir() and not p.name.startswith((".", "__MACOSX"))]
    return tops[0] if len(tops) == 1 and _complete(tops[0], spec) else None


def fetch_archive(name: str, target: Path, *, allow_download: bool = True, progress: bool = True) -> Path:
    """Make ``name`` present with its layout in ``target`` (``fetch`` passes ``$GANKIT_DATA/NAME`` or
    ``--root``); return it."""
    spec = TRANSLATION_DATASETS[name]
    if _complete(target, spec):
        return target
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise DataError(
            f"{target} exists but lacks {' and '.join(f'{d}/' for d in spec.required)}: remove it (or pass "
            f"--root elsewhere) and fetch again. {by_hand(name, target)}"
        )
    if not allow_download:
        raise DataError(f"{name}: not present in {target} and downloading is disabled. {by_hand(name, target)}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DataError(f"cannot create {target.parent} ({e.strerror or e}); set GANKIT_DATA to a writable folder.") from None
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".part")
    os.close(fd)
    archive = Path(tmp)
    work = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{name}.", suffix=".extract"))
    try:
        _download(spec.url, archive, name, target, progress)
        _extract(archive, work, spec.url)
        found = _dataset_folder(work, spec)
        if found is None:
            held = ", ".join(sorted(p.name for p in work.iterdir())[:5]) or "nothing"
            raise DataError(f"{spec.url}: the archive holds {held}, not {' and '.join(spec.required)}. {by_hand(name, target)}")
        os.chmod(found, default_mode(directory=True))  # mkdtemp's folder is 0700
        if target.is_dir():
            target.rmdir()  # empty (checked above)
        os.replace(found, target)
    finally:
        archive.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    return target
