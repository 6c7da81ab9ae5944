"""The CycleGAN/pix2pix repo's folder layouts: finding a split's folder and its images, with errors that
say which folder was expected, what exists instead, and which file is not an image."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from gankit.data.folder import list_images
from gankit.data.preprocess import Preprocess, header_size
from gankit.errors import DataError

#: What each layout expects under data.root, for messages.
EXPECTED = {
    "aligned": "root/train, root/val, root/test holding A|B images side by side (A left half, B right half)",
    "unaligned": "root/trainA and root/trainB (root/testA, root/testB for the test split) holding the two domains' images",
    "single": "root holding the input images (searched recursively)",
}


def layout_root(cfg: Any, layout: str) -> Path:
    """``data.root`` as a folder that exists, or a DataError saying what the layout expects."""
    if not cfg.root:
        raise DataError(f"data.name {layout!r} needs data.root: the folder with {EXPECTED[layout]}.")
    root = Path(cfg.root).expanduser()
    if not root.is_dir():
        raise DataError(f"data.root {root} does not exist or is not a folder; data.name {layout!r} expects {EXPECTED[layout]}.")
    return root


def subfolders(root: Path) -> list[str]:
    """Visible subfolders of ``root``, sorted (for messages naming what exists)."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def split_dir(root: Path, names: list[str], layout: str) -> list[Path]:
    """``root/<name>`` for each name, or a DataError naming the missing ones and what the root holds."""
    dirs = [root / n for n in names]
    missing = [n for n, d in zip(names, dirs) if not d.is_dir()]
    if missing:
        held = subfolders(root)
        holds = f"it holds {', '.join(held)}" if held else "it holds no subfolders"
        expected = " and ".join(f"root/{n}" for n in names)
        raise DataError(
            f"{root}: no {', '.join(missing)} folder ({holds}); data.name {layout!r} expects {expected} "
            f"({EXPECTED[layout]})."
        )
    return dirs


def images_in(folder: Path, layout: str, limit: int | None = None) -> list[Path]:
    """The image files under ``folder`` (recursive, sorted; first ``limit``), or a DataError naming it."""
    try:
        files = list_images(folder)
    except DataError as e:
        raise DataError(f"{e} data.name {layout!r} expects {EXPECTED[layout]}.") from None
    return files[:limit] if limit is not None else files


def image_sizes(files: list[Path], cfg: Any, pre: Preprocess | None = None) -> dict[Path, tuple[int, int]]:
    """(width, height) of each readable file from its header; unreadable ones fail (naming the file)
    or, with ``data.skip_bad_files``, are left out with a warning. ``pre`` checks that its crop fits."""
    sizes: dict[Path, tuple[int, int]] = {}
    skipped = []
    for f in files:
        try:
            sizes[f] = header_size(f, cfg.max_pixels)
        except DataError:
            if not cfg.skip_bad_files:
                raise
            skipped.append(f)
            continue
        if pre is not None:
            pre.check(*sizes[f], f)
    if skipped:
        warnings.warn(f"skipped {len(skipped)} unreadable image(s), e.g. {skipped[0]}", stacklevel=3)
    if not sizes:
        raise DataError(f"{files[0].parent}: none of the {len(files)} image files could be read.")
    return sizes
