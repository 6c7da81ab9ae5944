"""Training data: IDX datasets (Fashion-MNIST, MNIST), image folders and synthetic 2D mixtures.

The trainer sees only a :class:`DataSource` from :func:`build_source`; evaluation code gets the
same real items, resized the same way, from :func:`load_real_images`.

The ``fetch`` function is not re-exported here so that ``gankit.data.fetch`` stays the module
(``mock.patch("gankit.data.fetch....")`` keeps working); use ``fetch_dataset`` or
``from gankit.data.fetch import fetch``.
"""

from __future__ import annotations

import hashlib

import torch
import torch.nn.functional as F

from gankit.config import DataConfig
from gankit.data.fetch import DATASETS, SYSTEM_DIRS, default_root, find_dataset, verify_file
from gankit.data.fetch import fetch as fetch_dataset
from gankit.data.folder import IMAGE_EXTENSIONS, ImageFolderDataset, list_images, load_folder_tensor
from gankit.data.idx import load_idx_dataset, read_idx, write_idx
from gankit.data.source import DataSource, LoaderSource, TensorSource
from gankit.data.toy2d import MIXTURES, mixture_params, sample_mixture
from gankit.errors import DataError

__all__ = [
    "DATASETS",
    "IMAGE_EXTENSIONS",
    "MIXTURES",
    "SYSTEM_DIRS",
    "DataSource",
    "ImageFolderDataset",
    "LoaderSource",
    "TensorSource",
    "build_source",
    "default_root",
    "fetch_dataset",
    "find_dataset",
    "list_images",
    "load_folder_tensor",
    "load_idx_dataset",
    "load_real_images",
    "mixture_params",
    "read_idx",
    "sample_mixture",
    "verify_file",
    "write_idx",
]

_IDX = ("fashion-mnist", "mnist")


def _resize_uint8(x: torch.Tensor, size: int, chunk: int = 2048) -> torch.Tensor:
    """Bilinear, antialiased resize of uint8 (N, C, H, W), in chunks to bound float memory."""
    out = torch.empty((x.shape[0], x.shape[1], size, size), dtype=torch.uint8)
    for i in range(0, len(x), chunk):
        y = F.interpolate(x[i : i + chunk].float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        out[i : i + chunk] = y.round_().clamp_(0, 255).to(torch.uint8)
    return out


def _idx_images(cfg: DataConfig, split: str, limit: int | None) -> torch.Tensor:
    """uint8 (N, C, S, S) on CPU; 3 channels are an expanded (memory-free) view of the gray one."""
    images, _ = load_idx_dataset(cfg.name, split, cfg.root)
    if limit is not None:
        images = images[:limit]
    x = torch.tensor(images).unsqueeze(1)  # copy: the cached array is read-only
    if x.shape[-1] != cfg.image_size or x.shape[-2] != cfg.image_size:
        x = _resize_uint8(x, cfg.image_size)
    return x.expand(-1, cfg.channels, -1, -1)


def _toy_seed(seed: int) -> int:
    """A data seed unrelated to the permutation seeds (seed * 1_000_003 + epoch)."""
    return int.from_bytes(hashlib.sha256(f"gankit-toy2d:{seed}".encode()).digest()[:8], "little")


def _toy_points(cfg: DataConfig, seed: int, limit: int | None) -> torch.Tensor:
    n = min(cfg.n_points, limit) if limit is not None else cfg.n_points
    return sample_mixture(cfg.name, n, torch.Generator().manual_seed(_toy_seed(seed)))


def _folder_root(cfg: DataConfig) -> str:
    if not cfg.root:
        raise DataError("data.name 'folder' needs data.root: the folder holding the training images.")
    return cfg.root


def build_source(
    cfg: DataConfig,
    batch_size: int,
    device: torch.device | str,
    seed: int,
    rank: int = 0,
    world_size: int = 1,
) -> DataSource:
    """The trainer's batches for ``cfg``.

    IDX datasets are 28x28 grayscale; other ``data.image_size`` values are met by one bilinear
    (antialiased) resize at load time and ``data.channels: 3`` repeats the gray channel, so the
    32/64-pixel RGB architectures train on Fashion-MNIST unchanged. ``data.limit`` keeps the
    first N items. 2D mixtures draw ``data.n_points`` points once, from ``seed``.
    """
    device = torch.device(device)
    if cfg.name in _IDX:
        gray = _idx_images(cfg, cfg.split, cfg.limit)[:, :1].to(device)  # expand after the move: no 3x copy
        data = gray.expand(-1, cfg.channels, -1, -1)
        return TensorSource(data, batch_size, device, seed, rank, world_size)
    if cfg.name in MIXTURES:
        return TensorSource(_toy_points(cfg, seed, cfg.limit), batch_size, device, seed, rank, world_size)
    if cfg.name == "folder":
        dataset = ImageFolderDataset(
            _folder_root(cfg), cfg.image_size, cfg.channels, cfg.crop, cfg.skip_bad_files, limit=cfg.limit
        )
        return LoaderSource(dataset, batch_size, device, seed, cfg.num_workers, rank, world_size)
    raise DataError(f"unknown data.name {cfg.name!r}.")


def load_real_images(
    cfg: DataConfig, split: str | None = None, limit: int | None = None, *, seed: int = 0
) -> torch.Tensor:
    """All real items on CPU for evaluation: uint8 (N, C, S, S), or float32 (N, 2) for 2D mixtures.

    Resized exactly as :func:`build_source` does. ``split``/``limit`` default to the config's;
    ``seed`` picks the 2D sample (the training run's seed reproduces its training points).
    """
    limit = limit if limit is not None else cfg.limit
    if cfg.name in _IDX:
        return _idx_images(cfg, split or cfg.split, limit).contiguous()
    if cfg.name in MIXTURES:
        return _toy_points(cfg, seed, limit)
    if cfg.name == "folder":
        return load_folder_tensor(
            _folder_root(cfg), cfg.image_size, cfg.channels, limit=limit, skip_bad_files=cfg.skip_bad_files
        )
    raise DataError(f"unknown data.name {cfg.name!r}.")
