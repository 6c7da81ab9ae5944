"""Training data: IDX datasets (Fashion-MNIST, MNIST), image folders and synthetic 2D mixtures.

Each is a :class:`~gankit.data.base.DataSpec` registered by name in ``SOURCES``. The engine sees
only a :class:`DataSource` (batches of :class:`~gankit.core.batch.Batch`) from
:func:`build_source`; evaluation code gets the same real items, resized the same way, from
:func:`load_real_images`.

The ``fetch`` function is not re-exported here so that ``gankit.data.fetch`` stays the module
(``mock.patch("gankit.data.fetch....")`` keeps working); use ``fetch_dataset`` or
``from gankit.data.fetch import fetch``.
"""

from __future__ import annotations

import torch

from gankit.data.base import SOURCES, DataSpec, data_spec
from gankit.data.fetch import DATASETS, SYSTEM_DIRS, default_root, find_dataset, verify_file
from gankit.data.fetch import fetch as fetch_dataset
from gankit.data.folder import IMAGE_EXTENSIONS, ImageFolderDataset, list_images, load_folder_tensor
from gankit.data.idx import load_idx_dataset, read_idx, write_idx
from gankit.data.source import DataSource, LoaderSource, TensorSource
from gankit.data.toy2d import MIXTURES, mixture_params, sample_mixture

__all__ = [
    "DATASETS", "IMAGE_EXTENSIONS", "MIXTURES", "SOURCES", "SYSTEM_DIRS", "DataSource", "DataSpec",
    "ImageFolderDataset", "LoaderSource", "TensorSource", "build_source", "data_spec", "default_root",
    "fetch_dataset", "find_dataset", "list_images", "load_folder_tensor", "load_idx_dataset",
    "load_real_images", "mixture_params", "read_idx", "sample_mixture", "sample_shape", "verify_file", "write_idx",
]  # fmt: skip


def build_source(cfg, batch_size: int, device: torch.device | str, seed: int, rank: int = 0, world_size: int = 1,
                 holdout: bool = False) -> DataSource:  # fmt: skip
    """The engine's batches for ``cfg`` (a ``DataConfig``); ``holdout`` leaves the validation items out."""
    return data_spec(cfg.name).build_source(cfg, batch_size, torch.device(device), seed, rank, world_size, holdout)


def load_real_images(cfg, split: str | None = None, limit: int | None = None, *, seed: int = 0) -> torch.Tensor:
    """All real items on CPU for evaluation: uint8 (N, C, S, S), or float32 (N, 2) for 2D mixtures.

    Resized exactly as :func:`build_source` does. ``split``/``limit`` default to the config's;
    ``seed`` picks the 2D sample (the training run's seed reproduces its training points).
    """
    return data_spec(cfg.name).load_real(cfg, split, limit, seed)


def sample_shape(cfg) -> tuple[int, ...]:
    """The shape of one training item, known from the config alone."""
    return data_spec(cfg.name).sample_shape(cfg)
