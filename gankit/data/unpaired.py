"""Unpaired translation data from folders: the CycleGAN repo's ``unaligned`` layout.

``root/trainA`` and ``root/trainB`` (``testA``/``testB``, ``valA``/``valB`` for the other splits) hold the
two domains' images, in any numbers. An epoch is as long as the larger domain; each domain is drawn in
its own shuffled order and gets its own crop and flip (see :mod:`gankit.data.translation`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from gankit.data.base import SOURCES
from gankit.data.layouts import image_sizes, images_in, layout_root, split_dir
from gankit.data.preprocess import Preprocess, open_image, to_uint8
from gankit.data.translation import (Pair, TranslationDataset, TranslationSource, TranslationSpec, check_uniform, load_stack,
                                     unpaired_keys)  # fmt: skip
from gankit.errors import DataError

SPLITS = ("train", "val", "test")


class Domain:
    """One domain's files and how its images are made into uint8 tensors."""

    def __init__(self, sizes: dict[Path, tuple[int, int]], pre: Preprocess, channels: int, max_pixels: int) -> None:
        self.files, self.pre, self.channels, self.max_pixels = list(sizes), pre, channels, max_pixels

    def __len__(self) -> int:
        return len(self.files)

    def load(self, index: int, seed: int | None) -> torch.Tensor:
        img = open_image(self.files[index], self.max_pixels)
        return to_uint8(self.pre.apply(img, self.pre.draw(*img.size, seed)), self.channels)


class UnpairedDataset(TranslationDataset):
    """Two independent domains: key (a index, b index, a seed, b seed) -> uint8 (a, b)."""

    paired = False

    def __init__(self, a: Domain, b: Domain, size: tuple[int, int] | None) -> None:
        self.a, self.b = a, b
        self.num_items = max(len(a), len(b))
        w, h = size or (a.pre.crop_size, a.pre.crop_size)
        self.shapes = {"a": (a.channels, h, w), "b": (b.channels, h, w)}

    def epoch_keys(self, seed: int, epoch: int) -> torch.Tensor:
        return unpaired_keys(len(self.a), len(self.b), seed, epoch)

    def item(self, key: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        ia, ib, sa, sb = (int(k) for k in key)
        return self.a.load(ia, sa), self.b.load(ib, sb)


@SOURCES.register("unaligned")
class Unaligned(TranslationSpec):
    """CycleGAN's unpaired data: ``data.root``/trainA and trainB; ``data.direction: BtoA`` swaps the domains."""

    paired = False

    def domains(self, cfg: Any, split: str, limit: int | None,
                batch_size: int = 1) -> tuple[Domain, Domain, tuple[int, int] | None]:  # fmt: skip
        """(Batch.a's domain, Batch.b's domain, their common output size or None), direction applied."""
        if split not in SPLITS:
            raise DataError(f"split {split!r}: expected one of {', '.join(SPLITS)}.")
        root = layout_root(self.checked(cfg), "unaligned")
        dir_a, dir_b = split_dir(root, [f"{split}A", f"{split}B"], "unaligned")
        if cfg.direction == "BtoA":
            dir_a, dir_b = dir_b, dir_a
        pre = Preprocess.from_config(cfg)
        sizes_a = image_sizes(images_in(dir_a, "unaligned", limit), cfg, pre)
        sizes_b = image_sizes(images_in(dir_b, "unaligned", limit), cfg, pre)
        size = check_uniform({**sizes_a, **sizes_b}, pre, batch_size, str(root))
        ca, cb = self.channels(cfg)
        return Domain(sizes_a, pre, ca, cfg.max_pixels), Domain(sizes_b, pre, cb, cfg.max_pixels), size

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TranslationSource:  # fmt: skip
        a, b, size = self.domains(cfg, cfg.split, cfg.limit, batch_size)
        return TranslationSource(UnpairedDataset(a, b, size), batch_size, device, seed, cfg.num_workers, rank, world_size)

    def load_pairs(self, cfg: Any, split: str, limit: int | None) -> Pair:
        a, b, _ = self.domains(cfg, split, limit)
        xa = load_stack(_Items(a), [(i,) for i in range(len(a))])[0]
        xb = load_stack(_Items(b), [(i,) for i in range(len(b))])[0]
        return xa, xb


class _Items(TranslationDataset):
    """One domain's images without randomness, for :func:`load_stack`."""

    def __init__(self, domain: Domain) -> None:
        self.domain, self.num_items = domain, len(domain)

    def item(self, key: Sequence[int]) -> torch.Tensor:
        return self.domain.load(int(key[0]), None)
