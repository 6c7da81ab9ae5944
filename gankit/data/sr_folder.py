"""Super-resolution from a plain folder of high-resolution images: ``data.name: sr_folder``.

Each item is a ``data.image_size`` square crop of one image at its own resolution (``data.preprocess`` and
``load_size`` are not used: resizing first would change the very detail the model learns to restore) --
a random crop when training, the centre crop for held-out images -- flipped horizontally at random unless
``data.no_flip``. The low-resolution input is that crop downsampled by ``data.scale`` (required) with
``data.degradation`` (:mod:`gankit.data.degrade`), made on the fly.

Splits: with a ``train/`` subfolder, ``data.root``/train, /test (and /val) are the splits; without one,
every image under ``data.root`` (recursive, sorted by path) is the set, and its last tenth (at least one
image) is ``test``. ``val``, when there is no ``val/`` folder, is the end of the training images as for the
IDX sets (a tenth of a small set), left out of training only while checkpoint selection holds it out.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch
from PIL import Image

from gankit.data.base import SOURCES
from gankit.data.degrade import downsample, kernel_for
from gankit.data.folder import list_images
from gankit.data.layouts import image_sizes, subfolders
from gankit.data.preprocess import open_image, to_uint8
from gankit.data.restore_builtin import SuperResolution
from gankit.data.splits import split_slice
from gankit.data.translation import Pair, TranslationDataset, TranslationSource, item_seed, load_stack
from gankit.errors import DataError

SPLITS = ("train", "val", "test")
#: The share of a flat folder (no train/ subfolder) that is the test split.
TEST_SHARE = 10


@dataclass(frozen=True)
class CropItem:
    """One item: which image, the box training crops stay inside (left, top, right, bottom), and the
    top-left corner of the held-out crop."""

    image: int
    box: tuple[int, int, int, int]
    eval_at: tuple[int, int]


class CropPairs(TranslationDataset):
    """High-res crops with low-res inputs made on the fly: key (index, seed) -> uint8 (lr, hr).

    ``seed`` None (held-out): the item's fixed crop, no flip, kernel by index; otherwise a random crop
    inside the item's box, a random flip, and the kernel the seed picks (:func:`kernel_for`).
    """

    paired = True

    def __init__(self, items: Sequence[CropItem], load_image: Callable[[int], Image.Image], size: int, scale: int,
                 degradation: str, channels: int, flip: bool) -> None:  # fmt: skip
        self.items, self.load_image, self.size, self.scale = list(items), load_image, size, scale
        self.degradation, self.channels, self.flip = degradation, channels, flip
        self.num_items = len(self.items)
        self.shapes = {"a": (channels, size // scale, size // scale), "b": (channels, size, size)}

    def item(self, key: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        i, seed = int(key[0]), item_seed(key[1])
        it, s = self.items[i], self.size
        img = self.load_image(it.image)
        if seed is None:
            (x, y), flip = it.eval_at, False
        else:
            rng = random.Random(seed)
            left, top, right, bottom = it.box
            x, y = rng.randint(left, right - s), rng.randint(top, bottom - s)
            flip = self.flip and rng.random() < 0.5
        crop = img.crop((x, y, x + s, y + s))
        if flip:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        hr = to_uint8(crop, self.channels)
        lr = downsample(hr[None], self.scale, kernel_for(seed, i, self.degradation))[0]
        return lr, hr


def _root(cfg: Any) -> Path:
    if not cfg.root:
        raise DataError("data.name 'sr_folder' needs data.root: a folder of high-resolution images "
                        "(with train/ and test/ subfolders, or all together: the last tenth is then the test split).")  # fmt: skip
    root = Path(cfg.root).expanduser()
    if not root.is_dir():
        raise DataError(f"data.root {root} does not exist or is not a folder (sr_folder needs a folder of images).")
    return root


def split_files(root: Path, split: str, holdout: bool = False) -> list[Path]:
    """The image files of ``split`` (module docstring), sorted."""
    if split not in SPLITS:
        raise DataError(f"split {split!r}: expected one of {', '.join(SPLITS)}.")
    if (root / "train").is_dir():
        if split != "train" and (root / split).is_dir():
            return list_images(root / split)
        if split == "test":
            held = subfolders(root)
            raise DataError(f"{root}: no test folder (it holds {', '.join(held)}); sr_folder with a train/ subfolder "
                            f"takes its test images from {root / 'test'}.")  # fmt: skip
        train = list_images(root / "train")
        holdout = holdout and not (root / "val").is_dir()  # a val/ folder is never part of train
    else:
        files = list_images(root)
        if len(files) < 2:
            raise DataError(f"{root}: {len(files)} image; sr_folder keeps the last tenth (at least one image) for "
                            f"testing, so it needs at least 2 (or train/ and test/ subfolders).")  # fmt: skip
        n_test = max(1, len(files) // TEST_SHARE)
        if split == "test":
            return files[-n_test:]
        train = files[:-n_test]
    out = train[split_slice(split, len(train), holdout)]
    if not out:
        raise DataError(f"{root}: the {split} split is empty ({len(train)} training images keep none for val; "
                        f"add a val/ folder, or more images).")  # fmt: skip
    return out


@SOURCES.register("sr_folder")
class SRFolder(SuperResolution):
    """Super-resolution from a folder of high-resolution images (module docstring); needs ``data.scale``."""

    def dataset(self, cfg: Any, split: str, limit: int | None, holdout: bool = False) -> CropPairs:
        self.checked(cfg)
        files = split_files(_root(cfg), split, holdout)[:limit]
        sizes = image_sizes(files, cfg)
        s = self.hr_size(cfg)
        for f, (w, h) in sizes.items():
            if w < s or h < s:
                raise DataError(f"{f}: {w} x {h} pixels is smaller than the {s} x {s} high-resolution crop "
                                f"(data.image_size); lower data.image_size or remove the image.")  # fmt: skip
        paths = list(sizes)
        items = [CropItem(i, (0, 0, w, h), ((w - s) // 2, (h - s) // 2)) for i, (w, h) in enumerate(sizes.values())]
        c = self.channels(cfg)[0]
        load = _FileLoader(paths, cfg.max_pixels)
        return CropPairs(items, load, s, self.sr_scale(cfg), cfg.degradation, c, not cfg.no_flip)

    def input_files(self, cfg: Any, split: str = "test", limit: int | None = None) -> list[Path]:
        """The image files of ``split`` in the order of :meth:`load_pairs` (to name outputs after them)."""
        return list(self.dataset(cfg, split, limit).load_image.paths)  # type: ignore[attr-defined]

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TranslationSource:  # fmt: skip
        ds = self.dataset(cfg, cfg.split, cfg.limit, holdout and cfg.split == "train")
        return TranslationSource(ds, batch_size, device, seed, cfg.num_workers, rank, world_size)

    def load_pairs(self, cfg: Any, split: str, limit: int | None) -> Pair:
        ds = self.dataset(cfg, split, limit)
        a, b = load_stack(ds, [(i, -1) for i in range(ds.num_items)])
        return a, b


class _FileLoader:
    """Image ``i`` decoded from its file on each call (picklable, for DataLoader workers)."""

    def __init__(self, paths: list[Path], max_pixels: int) -> None:
        self.paths, self.max_pixels = paths, max_pixels

    def __call__(self, index: int) -> Image.Image:
        return open_image(self.paths[index], self.max_pixels)
