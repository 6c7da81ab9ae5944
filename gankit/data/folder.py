"""A folder of images (any depth) as a training dataset or as one evaluation tensor.

Training and evaluation share one decode path (:func:`load_image_uint8`), so reference
statistics are computed on exactly the pixels the discriminator saw.
"""

from __future__ import annotations

import os
import random
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from gankit.data.base import SOURCES, DataSpec
from gankit.data.source import LoaderSource
from gankit.errors import DataError
from gankit.utils.progress import progress_bar

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
_BAD_IMAGE = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)
_SKIP_HINT = "Delete or fix it, or set `data.skip_bad_files: true` to skip unreadable images."


def list_images(root: str | Path) -> list[Path]:
    """Image files under ``root`` (recursive, sorted); hidden files such as macOS ``._x.jpg`` are ignored."""
    folder = Path(root).expanduser()
    if not folder.is_dir():
        raise DataError(f"image folder {folder} does not exist or is not a folder (data.root).")
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and p.is_file()
    )
    if not files:
        exts = ", ".join(sorted(IMAGE_EXTENSIONS))
        raise DataError(f"image folder {folder} contains no images (looked recursively for {exts}, any case).")
    return files


def _bad_file(path: Path, err: BaseException) -> DataError:
    return DataError(f"{path}: cannot read image ({type(err).__name__}: {err}). {_SKIP_HINT}")


def load_image_uint8(
    path: Path, image_size: int, channels: int, crop: str = "center", seed: int | None = None
) -> torch.Tensor:
    """Decode, resize the shorter side to ``image_size`` (antialiased bilinear) and crop square.

    Returns uint8 (C, S, S). All in PIL: fast, and it releases the GIL for the loader threads.
    A random crop draws its offset from ``seed`` when given (exact resume), else from torch's RNG.
    Raises PIL/OS errors unchanged; callers decide whether a bad file is fatal.
    """
    with Image.open(path) as im:
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")
        img = im.convert("L" if channels == 1 else "RGB")
    ImageOps.exif_transpose(img, in_place=True)  # phone photos store their rotation in EXIF
    w, h = img.size
    short = min(w, h)
    new_w, new_h = max(image_size, int(image_size * w / short)), max(image_size, int(image_size * h / short))
    if (new_w, new_h) != (w, h):
        img = img.resize((new_w, new_h), Image.Resampling.BILINEAR)
    if crop == "random":
        if seed is None:
            top = int(torch.randint(new_h - image_size + 1, ()).item())
            left = int(torch.randint(new_w - image_size + 1, ()).item())
        else:
            rng = random.Random(seed)
            top, left = rng.randint(0, new_h - image_size), rng.randint(0, new_w - image_size)
    else:
        top, left = (new_h - image_size) // 2, (new_w - image_size) // 2
    t = torch.from_numpy(np.array(img.crop((left, top, left + image_size, top + image_size))))
    return t.unsqueeze(0) if t.ndim == 2 else t.permute(2, 0, 1).contiguous()


def _check_header(path: Path) -> BaseException | None:
    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 - parsing the header is the check
    except _BAD_IMAGE as e:
        return e
    return None


class ImageFolderDataset(Dataset):
    """Images under ``root`` as float32 (C, S, S) tensors in [-1, 1].

    Headers are checked at construction so a broken file fails the run before training starts,
    not hours in. Keys may be ``index`` or ``(index, seed)``; the seed fixes a random crop so a
    resumed run sees the same crops (``LoaderSource`` passes it).
    """

    takes_sample_seed = True

    def __init__(
        self,
        root: str | Path,
        image_size: int,
        channels: int,
        crop: str = "center",
        skip_bad_files: bool = False,
        *,
        limit: int | None = None,
    ) -> None:
        if crop not in ("center", "random"):
            raise DataError(f"data.crop must be 'center' or 'random', got {crop!r}.")
        if channels not in (1, 3):
            raise DataError(f"data.channels must be 1 or 3, got {channels!r}.")
        self.root = Path(root).expanduser()
        self.image_size, self.channels, self.crop = image_size, channels, crop
        self.skip_bad_files = skip_bad_files
        self.sample_shape = (channels, image_size, image_size)
        candidates = list_images(self.root)
        if limit is not None:
            candidates = candidates[:limit]
        self.files: list[Path] = []
        self.skipped: list[Path] = []
        for path in candidates:
            err = _check_header(path)
            if err is None:
                self.files.append(path)
            elif skip_bad_files:
                self.skipped.append(path)
            else:
                raise _bad_file(path, err)
        if self.skipped:
            warnings.warn(f"skipped {len(self.skipped)} unreadable image(s) under {self.root}, e.g. {self.skipped[0]}", stacklevel=2)
        if not self.files:
            raise DataError(f"image folder {self.root}: all {len(self.skipped)} images are unreadable.")
        self._bad: set[int] = set()  # found at load time, per worker process

    def __len__(self) -> int:
        return len(self.files)

    def _load(self, index: int, seed: int | None) -> torch.Tensor:
        t = load_image_uint8(self.files[index], self.image_size, self.channels, self.crop, seed)
        return t.float().div_(127.5).sub_(1.0)

    def __getitem__(self, key: int | tuple[int, int]) -> torch.Tensor:
        index, seed = key if isinstance(key, tuple) else (key, None)
        n = len(self.files)
        for step in range(n):
            i = (index + step) % n
            if i in self._bad:
                continue
            try:
                return self._load(i, seed)
            except _BAD_IMAGE as e:
                if not self.skip_bad_files:
                    raise _bad_file(self.files[i], e) from None
                self._bad.add(i)
                warnings.warn(f"skipping unreadable image {self.files[i]} ({e}); using the next one", stacklevel=2)
        raise DataError(f"image folder {self.root}: no image could be decoded.")


def load_folder_tensor(
    root: str | Path,
    image_size: int,
    channels: int,
    *,
    limit: int | None = None,
    skip_bad_files: bool = False,
    progress: bool = True,
) -> torch.Tensor:
    """All images under ``root`` as one uint8 (N, C, S, S) tensor (center crop), e.g. for FID statistics."""
    files = list_images(root)[:limit] if limit is not None else list_images(root)

    def load(path: Path) -> torch.Tensor | BaseException:
        try:
            return load_image_uint8(path, image_size, channels)
        except _BAD_IMAGE as e:
            return e

    out: list[torch.Tensor] = []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        results = progress_bar(pool.map(load, files), total=len(files), desc="images", unit="img", disable=not progress)
        for path, res in zip(files, results):
            if isinstance(res, torch.Tensor):
                out.append(res)
            elif skip_bad_files:
                warnings.warn(f"skipping unreadable image {path} ({res})", stacklevel=2)
            else:
                raise _bad_file(path, res)
    if not out:
        raise DataError(f"image folder {Path(root).expanduser()}: no image could be decoded.")
    return torch.stack(out)


@SOURCES.register("folder")
class ImageFolder(DataSpec):
    """Your own images under ``data.root`` (PNG/JPEG/WebP, searched recursively), decoded by workers."""

    def _root(self, cfg: Any) -> str:
        if not cfg.root:
            raise DataError("data.name 'folder' needs data.root: the folder holding the training images.")
        return cfg.root

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> LoaderSource:  # fmt: skip
        dataset = ImageFolderDataset(self._root(cfg), cfg.image_size, cfg.channels, cfg.crop, cfg.skip_bad_files, limit=cfg.limit)
        return LoaderSource(dataset, batch_size, device, seed, cfg.num_workers, rank, world_size)

    def load_real(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> torch.Tensor:
        limit = limit if limit is not None else cfg.limit
        return load_folder_tensor(self._root(cfg), cfg.image_size, cfg.channels, limit=limit, skip_bad_files=cfg.skip_bad_files)

    def reference(self, cfg: Any, split: str) -> str | None:
        # A folder has no held-out split: it is compared with itself (said in the eval protocol).
        return cfg.root
