"""A folder of images (any depth) as a training dataset or as one evaluation tensor.

Training and evaluation share one decode path (:func:`load_image_uint8`), so reference
statistics are computed on exactly the pixels the discriminator saw.

Labels follow torchvision's ``ImageFolder`` convention: each top-level subfolder is a class
(``root/cat/**``, ``root/dog/**``), classes are the subfolder names sorted as strings, so
``cat`` is 0 and ``dog`` 1. Images directly in ``root`` make the folder *unlabeled* -- every image
under it, as before labels existed -- so a folder mixing top-level images with subfolders trains
unconditionally, and anything that needs labels says which images lie loose beside which
subfolders. Hidden folders and subfolders without images are not classes.
"""

from __future__ import annotations

import os
import random
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from PIL import Image, ImageOps
from torch.utils.data import Dataset

from gankit.data.base import SOURCES, DataSpec, labels_error
from gankit.data.labels import balanced_weights, check_class_ids, select_items
from gankit.data.source import LoaderSource
from gankit.errors import DataError
from gankit.utils.progress import progress_bar

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".bmp"})
#: Images with more pixels are refused from their header, before decoding: a decompression bomb
#: (a small file that decodes to gigabytes) fails with a message, not by running out of memory.
MAX_PIXELS = 40_000_000  # an 8000 x 5000 photo; `data.max_pixels` changes it


# PIL warns from 89 Mpx on; the limit above is the check that counts (and names the file).
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


class ImageTooLarge(ValueError):
    """An image whose header declares more than the pixel limit."""


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


@dataclass(frozen=True)
class FolderLayout:
    """What a folder's layout says about labels: every image (sorted) and, when labelled, its class."""

    root: Path
    files: list[Path]
    labels: list[int] | None  # the class of each file; None: unlabeled
    names: list[str] | None  # class index -> subfolder name, sorted
    loose: list[Path]  # images directly in root, beside class subfolders (which makes it unlabeled)
    subfolders: list[str]  # top-level subfolders that hold images

    def missing_labels(self) -> str:
        """Why the folder has no labels and how to give it some (for :func:`~gankit.data.base.labels_error`)."""
        where = f"data.name 'folder' at {self.root} has none"
        if self.loose and self.subfolders:
            shown = ", ".join(p.name for p in self.loose[:3]) + (", ..." if len(self.loose) > 3 else "")
            subs = ", ".join(self.subfolders[:5]) + (", ..." if len(self.subfolders) > 5 else "")
            return (f"{where}: {len(self.loose)} image(s) lie directly in it ({shown}) beside the class "
                    f"subfolders ({subs}); move every image into its class's subfolder")  # fmt: skip
        return (f"{where}: put each class's images in its own subfolder ({self.root}/cat/*.png, "
                f"{self.root}/dog/*.png), or use fashion-mnist/mnist")  # fmt: skip


def folder_layout(root: str | Path) -> FolderLayout:
    """Read ``root`` in torchvision's ImageFolder convention (see the module docstring)."""
    folder = Path(root).expanduser()
    files = list_images(folder)
    tops = [f.relative_to(folder).parts for f in files]
    loose = [f for f, parts in zip(files, tops) if len(parts) == 1]
    subfolders = sorted({parts[0] for parts in tops if len(parts) > 1})
    if loose or not subfolders:
        return FolderLayout(folder, files, None, None, loose, subfolders)
    index = {name: i for i, name in enumerate(subfolders)}
    return FolderLayout(folder, files, [index[parts[0]] for parts in tops], subfolders, [], subfolders)


def select_files(layout: FolderLayout, classes: Sequence[int] | None = None, limit: int | None = None,
                 per_class_limit: Mapping[int, int] | None = None) -> tuple[list[Path], list[int] | None]:  # fmt: skip
    """(files, labels or None) after ``data.classes``, ``data.limit`` and ``data.per_class_limit``, in file order."""
    if layout.labels is None or layout.names is None:
        keys = [f"data.{k}" for k, v in (("classes", classes), ("per_class_limit", per_class_limit)) if v is not None]
        if keys:
            raise labels_error(keys, layout.missing_labels())
        return (layout.files[:limit] if limit is not None else list(layout.files)), None
    check_class_ids(classes, per_class_limit, layout.names, f"the image folder {layout.root}")
    index, labels = select_items(layout.labels, classes, limit, per_class_limit)
    return [layout.files[i] for i in index], labels.tolist()


def _bad_file(path: Path, err: BaseException) -> DataError:
    return DataError(f"{path}: cannot read image ({type(err).__name__}: {err}). {_SKIP_HINT}")


def _check_size(im: Image.Image, max_pixels: int) -> None:
    w, h = im.size
    if w * h > max_pixels:
        raise ImageTooLarge(f"{w} x {h} = {w * h:,} pixels, over the limit of {max_pixels:,} (data.max_pixels)")


def _to_8bit(im: Image.Image) -> Image.Image:
    """16-bit and 32-bit integer greyscale scaled to 8 bits (PIL's convert would clip them to white)."""
    if im.mode.startswith("I;16") or im.mode == "I":
        a = np.asarray(im).astype(np.int64)
        top = 65535 if im.mode.startswith("I;16") or a.max() <= 65535 else int(a.max())
        return Image.fromarray((np.clip(a, 0, top) * 255 // max(top, 1)).astype(np.uint8), mode="L")
    return im


def load_image_uint8(
    path: Path, image_size: int, channels: int, crop: str = "center", seed: int | None = None,
    max_pixels: int = MAX_PIXELS,
) -> torch.Tensor:
    """Decode, resize the shorter side to ``image_size`` (antialiased bilinear) and crop square.

    Returns uint8 (C, S, S). All in PIL: fast, and it releases the GIL for the loader threads.
    A random crop draws its offset from ``seed`` when given (exact resume), else from torch's RNG.
    Raises PIL/OS errors unchanged; callers decide whether a bad file is fatal.
    """
    with Image.open(path) as im:
        _check_size(im, max_pixels)
        if im.mode == "P" and "transparency" in im.info:
            im = im.convert("RGBA")
        img = _to_8bit(im).convert("L" if channels == 1 else "RGB")
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


def _check_header(path: Path, max_pixels: int = MAX_PIXELS) -> BaseException | None:
    try:
        if path.stat().st_size == 0:
            return OSError("the file is empty (0 bytes)")
        with Image.open(path) as im:
            _check_size(im, max_pixels)  # parsing the header is the check
    except _BAD_IMAGE as e:
        return e
    return None


class ImageFolderDataset(Dataset):
    """Images under ``root`` as float32 (C, S, S) tensors in [-1, 1]; ``(image, label)`` when labelled.

    Headers are checked at construction so a broken file fails the run before training starts,
    not hours in. Keys may be ``index`` or ``(index, seed)``; the seed fixes a random crop so a
    resumed run sees the same crops (``LoaderSource`` passes it). ``classes``, ``limit`` and
    ``per_class_limit`` select items as :func:`select_files` does; ``labels`` and
    ``class_names`` are then the remapped labels (None for an unlabeled folder).
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
        classes: Sequence[int] | None = None,
        per_class_limit: Mapping[int, int] | None = None,
        max_pixels: int = MAX_PIXELS,
    ) -> None:
        if crop not in ("center", "random"):
            raise DataError(f"data.crop must be 'center' or 'random', got {crop!r}.")
        if channels not in (1, 3):
            raise DataError(f"data.channels must be 1 or 3, got {channels!r}.")
        self.root = Path(root).expanduser()
        self.image_size, self.channels, self.crop = image_size, channels, crop
        self.skip_bad_files, self.max_pixels = skip_bad_files, max_pixels
        self.sample_shape = (channels, image_size, image_size)
        layout = folder_layout(self.root)
        candidates, labels = select_files(layout, classes, limit, per_class_limit)
        names = layout.names
        #: Why there are no labels, for errors about switches that need them (None when labelled).
        self.missing_labels = layout.missing_labels() if labels is None else None
        self.class_names = None if names is None else [names[c] for c in classes] if classes is not None else list(names)
        self.files: list[Path] = []
        self.labels: list[int] | None = None if labels is None else []
        self.skipped: list[Path] = []
        for j, path in enumerate(candidates):
            err = _check_header(path, max_pixels)
            if err is None:
                self.files.append(path)
                if self.labels is not None and labels is not None:
                    self.labels.append(labels[j])
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
        t = load_image_uint8(self.files[index], self.image_size, self.channels, self.crop, seed, self.max_pixels)
        return t.float().div_(127.5).sub_(1.0)

    def __getitem__(self, key: int | tuple[int, int]) -> torch.Tensor | tuple[torch.Tensor, int]:
        index, seed = key if isinstance(key, tuple) else (key, None)
        n = len(self.files)
        for step in range(n):
            i = (index + step) % n
            if i in self._bad:
                continue
            try:
                x = self._load(i, seed)
                return x if self.labels is None else (x, self.labels[i])  # a fallback image keeps its own label
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
    """All images under ``root`` as one uint8 (N, C, S, S) tensor (center crop), e.g. for FID statistics.

    Every image, in every subfolder: a reference folder's statistics ignore its labels.
    """
    files = list_images(root)[:limit] if limit is not None else list_images(root)
    return load_files(root, files, image_size, channels, skip_bad_files=skip_bad_files, progress=progress)[0]


def load_files(root: str | Path, files: Sequence[Path], image_size: int, channels: int, *, skip_bad_files: bool = False,
               progress: bool = True) -> tuple[torch.Tensor, list[int]]:  # fmt: skip
    """(uint8 (N, C, S, S) center crops, the positions in ``files`` that decoded): labels follow the kept ones."""

    def load(path: Path) -> torch.Tensor | BaseException:
        try:
            return load_image_uint8(path, image_size, channels)
        except _BAD_IMAGE as e:
            return e

    out: list[torch.Tensor] = []
    kept: list[int] = []
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:  # PIL decodes without the GIL
        results = progress_bar(pool.map(load, files), total=len(files), desc="images", unit="img", disable=not progress)
        for j, (path, res) in enumerate(zip(files, results)):
            if isinstance(res, torch.Tensor):
                out.append(res)
                kept.append(j)
            elif skip_bad_files:
                warnings.warn(f"skipping unreadable image {path} ({res})", stacklevel=2)
            else:
                raise _bad_file(path, res)
    if not out:
        raise DataError(f"image folder {Path(root).expanduser()}: no image could be decoded.")
    return torch.stack(out), kept


@SOURCES.register("folder")
class ImageFolder(DataSpec):
    """Your own images under ``data.root`` (PNG/JPEG/WebP, searched recursively), decoded by workers.

    Labelled when laid out one subfolder per class (see the module docstring). ``data.per_class_limit``
    shapes the training items only; evaluation loads see every image of the kept classes.
    """

    def _root(self, cfg: Any) -> str:
        if not cfg.root:
            raise DataError("data.name 'folder' needs data.root: the folder holding the training images.")
        return cfg.root

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> LoaderSource:  # fmt: skip
        dataset = ImageFolderDataset(self._root(cfg), cfg.image_size, cfg.channels, cfg.crop, cfg.skip_bad_files,
                                     limit=cfg.limit, classes=cfg.classes, per_class_limit=cfg.per_class_limit,
                                     max_pixels=cfg.max_pixels)  # fmt: skip
        weights = None
        if cfg.balance:
            if dataset.labels is None:
                raise labels_error(["data.balance"], dataset.missing_labels or "")
            weights = balanced_weights(torch.tensor(dataset.labels))
        return LoaderSource(dataset, batch_size, device, seed, cfg.num_workers, rank, world_size, weights=weights)

    def _real(self, cfg: Any, limit: int | None) -> tuple[torch.Tensor, list[int] | None, FolderLayout]:
        layout = folder_layout(self._root(cfg))
        files, labels = select_files(layout, cfg.classes, limit if limit is not None else cfg.limit)
        x, kept = load_files(layout.root, files, cfg.image_size, cfg.channels, skip_bad_files=cfg.skip_bad_files)
        return x, (None if labels is None else [labels[j] for j in kept]), layout

    def load_real(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> torch.Tensor:
        return self._real(cfg, limit)[0]

    def load_real_labeled(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, labels, layout = self._real(cfg, limit)
        if labels is None:
            raise DataError(f"real images by class (intra-class FID, CAS) need class labels, but {layout.missing_labels()}.")
        return x, torch.tensor(labels, dtype=torch.int64)

    def reference(self, cfg: Any, split: str) -> str | None:
        # A folder has no held-out split: it is compared with itself (said in the eval protocol).
        return None if cfg.classes is not None else cfg.root

    def num_classes(self, cfg: Any) -> int:
        names = self.class_names(cfg)
        return 0 if names is None else len(names)

    def class_names(self, cfg: Any) -> list[str] | None:
        layout = folder_layout(self._root(cfg))
        if layout.names is None:
            return None
        check_class_ids(cfg.classes, cfg.per_class_limit, layout.names, f"the image folder {layout.root}")
        return [layout.names[c] for c in cfg.classes] if cfg.classes is not None else list(layout.names)

    def missing_labels(self, cfg: Any) -> str:
        return folder_layout(self._root(cfg)).missing_labels()
