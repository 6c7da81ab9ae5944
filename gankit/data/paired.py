"""Paired translation data from folders: the pix2pix repo's ``aligned`` layout, and ``single`` for inference.

``aligned``: each file of ``root/train`` (``val``, ``test``) is A|B side by side, A the left half and B the
right half (how the repo's facades, maps, edges2shoes ... ship; :func:`combine_aligned` makes such files
from two folders of same-named images). Both halves share one crop and flip. ``single``: every image
under ``root`` is an input (the repo's ``single`` mode); batches carry ``a`` only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch
from PIL import Image

from gankit.data.base import SOURCES
from gankit.data.layouts import image_sizes, images_in, layout_root, split_dir
from gankit.data.preprocess import Preprocess, open_image, to_uint8
from gankit.data.translation import (Pair, TranslationDataset, TranslationSource, TranslationSpec, check_uniform, item_seed,
                                     load_stack)  # fmt: skip
from gankit.errors import DataError
from gankit.utils.io import atomic_path

SPLITS = ("train", "val", "test")


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"split {split!r}: expected one of {', '.join(SPLITS)}.")
    return split


class AlignedDataset(TranslationDataset):
    """A|B files: key (index, seed) -> uint8 (a, b), cut, preprocessed alike, then ``direction`` applied."""

    paired = True

    def __init__(self, sizes: dict[Path, tuple[int, int]], pre: Preprocess, channels: tuple[int, int],
                 direction: str, max_pixels: int, size: tuple[int, int] | None) -> None:  # fmt: skip
        self.files, self.sizes = list(sizes), list(sizes.values())
        self.pre, self.channels, self.swap, self.max_pixels = pre, channels, direction == "BtoA", max_pixels
        self.num_items = len(self.files)
        w, h = size or (pre.crop_size, pre.crop_size)
        self.shapes = {"a": (channels[0], h, w), "b": (channels[1], h, w)}

    def item(self, key: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        path = self.files[int(key[0])]
        img = open_image(path, self.max_pixels)
        w, h = img.size
        if w % 2:  # the header said otherwise: the file changed since the source was built
            raise DataError(f"{path}: {w} px wide; an aligned A|B image needs an even width.")
        half = w // 2
        left, right = img.crop((0, 0, half, h)), img.crop((half, 0, w, h))
        d = self.pre.draw(half, h, item_seed(key[1]))
        a, b = (right, left) if self.swap else (left, right)
        return to_uint8(self.pre.apply(a, d), self.channels[0]), to_uint8(self.pre.apply(b, d), self.channels[1])


def aligned_sizes(files: list[Path], cfg: Any, pre: Preprocess) -> dict[Path, tuple[int, int]]:
    """Each A|B file's *half* size, checked: an even width, and the crop fits the halves."""
    halves = {}
    for f, (w, h) in image_sizes(files, cfg).items():
        if w % 2:
            raise DataError(
                f"{f}: {w} x {h} pixels; an aligned A|B image needs an even width (A the left half, B the "
                f"right half, equally wide). Re-save it with an even width, or make the A|B files from two "
                f"folders with gankit.data.paired.combine_aligned."
            )
        pre.check(w // 2, h, f"{f} (each half)")
        halves[f] = (w // 2, h)
    return halves


@SOURCES.register("aligned")
class Aligned(TranslationSpec):
    """pix2pix's paired data: A|B images in ``data.root``/train (val, test); ``data.direction`` picks the input."""

    def dataset(self, cfg: Any, split: str, limit: int | None, batch_size: int = 1) -> AlignedDataset:
        root = layout_root(self.checked(cfg), "aligned")
        (folder,) = split_dir(root, [_check_split(split)], "aligned")
        pre = Preprocess.from_config(cfg)
        sizes = aligned_sizes(images_in(folder, "aligned", limit), cfg, pre)
        size = check_uniform(sizes, pre, batch_size, str(folder))
        return AlignedDataset(sizes, pre, self.channels(cfg), cfg.direction, cfg.max_pixels, size)

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TranslationSource:  # fmt: skip
        # holdout changes nothing: val is its own folder, never part of train.
        ds = self.dataset(cfg, cfg.split, cfg.limit, batch_size)
        return TranslationSource(ds, batch_size, device, seed, cfg.num_workers, rank, world_size)

    def load_pairs(self, cfg: Any, split: str, limit: int | None) -> Pair:
        ds = self.dataset(cfg, split, limit)
        a, b = load_stack(ds, [(i, -1) for i in range(ds.num_items)])
        return a, b


class SingleDataset(TranslationDataset):
    """Input images alone: key (index, seed) -> uint8 a."""

    paired = True

    def __init__(self, sizes: dict[Path, tuple[int, int]], pre: Preprocess, channels: int, max_pixels: int,
                 size: tuple[int, int] | None) -> None:  # fmt: skip
        self.files, self.pre, self.channels, self.max_pixels = list(sizes), pre, channels, max_pixels
        self.num_items = len(self.files)
        w, h = size or (pre.crop_size, pre.crop_size)
        self.shapes = {"a": (channels, h, w)}

    def item(self, key: Sequence[int]) -> torch.Tensor:
        img = open_image(self.files[int(key[0])], self.max_pixels)
        return to_uint8(self.pre.apply(img, self.pre.draw(*img.size, item_seed(key[1]))), self.channels)


@SOURCES.register("single")
class Single(TranslationSpec):
    """The repo's ``single`` mode: every image under ``data.root`` is an input (``Batch.a``), for inference.

    ``data.split`` is not used (the folder is the set). ``channels_a`` sets the inputs' channels.
    """

    fields = ("a",)

    def dataset(self, cfg: Any, limit: int | None, batch_size: int = 1) -> SingleDataset:
        root = layout_root(self.checked(cfg), "single")
        pre = Preprocess.from_config(cfg)
        sizes = image_sizes(images_in(root, "single", limit), cfg, pre)
        size = check_uniform(sizes, pre, batch_size, str(root))
        return SingleDataset(sizes, pre, self.channels(cfg)[0], cfg.max_pixels, size)

    def input_files(self, cfg: Any, limit: int | None = None) -> list[Path]:
        """The input files, in the order of :meth:`load_pairs` (to name the outputs after them)."""
        return self.dataset(cfg, limit).files

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TranslationSource:  # fmt: skip
        ds = self.dataset(cfg, cfg.limit, batch_size)
        return TranslationSource(ds, batch_size, device, seed, cfg.num_workers, rank, world_size)

    def load_pairs(self, cfg: Any, split: str, limit: int | None) -> Pair:
        ds = self.dataset(cfg, limit)
        return load_stack(ds, [(i, -1) for i in range(ds.num_items)])[0], None


def combine_aligned(folder_a: str | Path, folder_b: str | Path, out: str | Path) -> list[Path]:
    """Write A|B images into ``out`` from same-named images of ``folder_a`` and ``folder_b`` (the repo's
    ``combine_A_and_B``), so paired data kept as two folders trains with ``data.name: aligned``.

    Each pair must have the same height (the halves are set side by side) and the same width (so the
    A|B cut at half the width finds them again). PNG, written atomically; returns the written files.
    """
    fa, fb, dest = Path(folder_a).expanduser(), Path(folder_b).expanduser(), Path(out).expanduser()
    files_a = {p.relative_to(fa).with_suffix(""): p for p in images_in(fa, "aligned")}
    files_b = {p.relative_to(fb).with_suffix(""): p for p in images_in(fb, "aligned")}
    only = sorted(set(files_a) ^ set(files_b))
    if only:
        side = "A" if only[0] in files_a else "B"
        raise DataError(
            f"{len(only)} image(s) have no counterpart, e.g. {only[0]} is only in {fa if side == 'A' else fb}; "
            f"paired images need the same name in {fa} and {fb}."
        )
    written = []
    for stem in sorted(files_a):
        a, b = open_image(files_a[stem], 1 << 62), open_image(files_b[stem], 1 << 62)
        if a.size != b.size:
            which = "height" if a.height != b.height else "width"
            raise DataError(
                f"{files_a[stem]} is {a.width} x {a.height} but {files_b[stem]} is {b.width} x {b.height}: "
                f"the halves of an A|B pair differ in {which}; resize one to the other's size first."
            )
        ab = Image.new("RGB", (a.width * 2, a.height))
        ab.paste(a, (0, 0))
        ab.paste(b, (a.width, 0))
        target = dest / stem.with_suffix(".png")
        with atomic_path(target) as tmp:
            ab.save(tmp, format="PNG")
        written.append(target)
    return written
