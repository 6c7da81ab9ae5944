"""The IDX datasets (Fashion-MNIST, MNIST) as data sources, with labels and a validation split.

IDX datasets are 28x28 grayscale; other ``data.image_size`` values are met by one bilinear
(antialiased) resize at load time and ``data.channels: 3`` repeats the gray channel, so the
32/64-pixel RGB architectures train on Fashion-MNIST unchanged. ``data.limit`` keeps the first N
items. With ``holdout`` the last ``VAL_SIZE`` training images (``val``) are left out of training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from gankit.data.base import SOURCES, DataSpec
from gankit.data.idx import load_idx_dataset
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


def _images(cfg: Any, split: str, limit: int | None, holdout: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (N, 1, S, S) and int64 labels on CPU."""
    images, labels = idx_split(cfg, split, limit, holdout)
    x = torch.tensor(images).unsqueeze(1)  # copy: the cached array is read-only
    if x.shape[-1] != cfg.image_size or x.shape[-2] != cfg.image_size:
        x = resize_uint8(x, cfg.image_size)
    return x, torch.from_numpy(np.ascontiguousarray(labels)).long()


class IdxDataset(DataSpec):
    has_labels = True

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TensorSource:  # fmt: skip
        gray, labels = _images(cfg, cfg.split, cfg.limit, holdout and cfg.split == "train")
        gray = gray.to(device)
        data = gray.expand(-1, cfg.channels, -1, -1)  # expand after the move: no 3x copy
        return TensorSource(data, batch_size, device, seed, rank, world_size, labels=labels)

    def load_real(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> torch.Tensor:
        gray, _ = _images(cfg, split or cfg.split, limit if limit is not None else cfg.limit)
        return gray.expand(-1, cfg.channels, -1, -1).contiguous()

    def reference(self, cfg: Any, split: str) -> str | None:
        return f"{cfg.name}:{split}"


@SOURCES.register("fashion-mnist")
class FashionMNIST(IdxDataset):
    """Zalando's 70,000 28x28 clothing images in 10 classes (`gankit data fetch fashion-mnist`)."""


@SOURCES.register("mnist")
class MNIST(IdxDataset):
    """LeCun's handwritten digits; IDX files under data.root or the gankit data cache."""
