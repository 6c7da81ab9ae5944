"""The IDX datasets (Fashion-MNIST, MNIST) as data sources, with labels and a validation split.

IDX datasets are 28x28 grayscale; other ``data.image_size`` values are met by one bilinear
(antialiased) resize at load time and ``data.channels: 3`` repeats the gray channel, so the
32/64-pixel RGB architectures train on Fashion-MNIST unchanged. With ``holdout`` the last
``VAL_SIZE`` training images (``val``) are left out of training. Then, through
:func:`~gankit.data.labels.select_items`: ``data.classes`` keeps those classes (labels remapped to
0..k-1), ``data.limit`` keeps the first N items left, and -- for the training source only --
``data.per_class_limit`` caps classes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gankit.data.base import SOURCES, DataSpec
from gankit.data.idx import load_idx_dataset
from gankit.data.labels import balanced_weights, check_class_ids, select_items
from gankit.data.source import TensorSource
from gankit.data.splits import split_slice
from gankit.errors import DataError


def resize_uint8(x: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """Bilinear, antialiased resize of uint8 (N, C, H, W), in chunks to bound float memory."""
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
    for i in range(0, len(x), chunk):
        y = F.interpolate(x[i : i + chunk].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i : i + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


def idx_split(cfg: Any, split: str, limit: int | None, holdout: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, H, W), labels (N,)) of ``train``/``val``/``test``; val is the end of the train file."""
    if split == "test":
        images, labels = load_idx_dataset(cfg.name, "test", cfg.root)
    elif split in ("train", "val"):
        images, labels = load_idx_dataset(cfg.name, "train", cfg.root)
        cut = split_slice(split, len(images), holdout)
        images, labels = images[cut], labels[cut]
    else:
        raise DataError(f"data.split {split!r}: expected train, val or test.")
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images, labels


def _images(cfg: Any, split: str, limit: int | None, holdout: bool = False,
            training: bool = False) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """uint8 (N, 1, S, S) and int64 labels on CPU; ``training`` applies ``data.per_class_limit``."""
    images, labels = idx_split(cfg, split, None, holdout)
    index, labels = select_items(labels, cfg.classes, limit, cfg.per_class_limit if training else None)
    x = torch.from_numpy(images[index]).unsqueeze(1)  # fancy indexing copies: the cached array is read-only
    if x.shape[-1] != cfg.image_size or x.shape[-2] != cfg.image_size:
        x = resize_uint8(x, cfg.image_size)
    return x, torch.from_numpy(np.ascontiguousarray(labels)).long()


class IdxDataset(DataSpec):
    has_labels = True
    #: Label index -> class name, as the dataset's authors publish them.
    names: tuple[str, ...] = ()

    def _checked(self, cfg: Any) -> Any:
        check_class_ids(cfg.classes, cfg.per_class_limit, self.names, cfg.name)
        return cfg

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TensorSource:  # fmt: skip
        cfg = self._checked(cfg)
        gray, labels = _images(cfg, cfg.split, cfg.limit, holdout and cfg.split == "train", training=True)
        gray = gray.to(device)
        data = gray.expand(-1, cfg.channels, -1, -1)  # expand after the move: no 3x copy
        weights = balanced_weights(labels) if cfg.balance else None
        return TensorSource(data, batch_size, device, seed, rank, world_size, labels=labels, weights=weights)

    def load_real(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> torch.Tensor:
        return self.load_real_labeled(cfg, split, limit, seed)[0]

    def load_real_labeled(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self._checked(cfg)
        gray, labels = _images(cfg, split or cfg.split, limit if limit is not None else cfg.limit)
        return gray.expand(-1, cfg.channels, -1, -1).contiguous(), labels

    def reference(self, cfg: Any, split: str) -> str | None:
        return None if cfg.classes is not None else f"{cfg.name}:{split}"

    def num_classes(self, cfg: Any) -> int:
        return len(self._checked(cfg).classes or self.names)

    def class_names(self, cfg: Any) -> list[str] | None:
        cfg = self._checked(cfg)
        return [self.names[c] for c in cfg.classes] if cfg.classes is not None else list(self.names)


@SOURCES.register("fashion-mnist")
class FashionMNIST(IdxDataset):
    """Zalando's 70,000 28x28 clothing images in 10 classes (`gankit data fetch fashion-mnist`)."""

    names = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


@SOURCES.register("mnist")
class MNIST(IdxDataset):
    """LeCun's handwritten digits; IDX files under data.root or the gankit data cache."""

    names = tuple(str(i) for i in range(10))
