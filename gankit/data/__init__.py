"""Training data: IDX datasets (Fashion-MNIST, MNIST), image folders and synthetic 2D mixtures.

Each is a :class:`~gankit.data.base.DataSpec` registered by name in ``SOURCES``. The engine sees
only a :class:`DataSource` (batches of :class:`~gankit.core.batch.Batch`) from
:func:`build_source`; evaluation code gets the same real items, resized the same way, from
:func:`load_real_images` (with their labels: :func:`load_real_labeled`). Labelled data fills
``Batch.c``; a task that needs labels calls :func:`require_labels`, and the engine records the
names with :func:`write_classes_json`.

Image-to-image translation data (``aligned``, ``unaligned``, ``single``, ``fmnist-edges2items``,
``fmnist-sandal2sneaker``, ``fmnist-tshirt2shirt``) fills ``Batch.a``/``Batch.b`` instead;
:func:`domain_shapes` gives both items' shapes and :func:`load_translation_pairs` the held-out images.
``FETCH_NAMES`` lists every name ``gankit data fetch`` accepts.

Restoration data is translation data too: super-resolution pairs (``fmnist-sr2x``, ``fmnist-sr4x``,
``sr_folder``, ``skimage-photos``) have ``a`` the low-resolution input and ``b`` the high-resolution target
(:func:`sr_scale` gives the factor; :func:`downsample` / :func:`bicubic_upscale` the degradation and the
classic baseline); ``fmnist-inpaint`` adds ``Batch.mask`` (1 = hole; :func:`make_masks`) and its held-out
triples come from :func:`load_inpaint_triples`. ``fmnist-domains`` is Fashion-MNIST's classes as StarGAN's
domains (``Batch.x``, ``Batch.c``).

The ``fetch`` function is not re-exported here so that ``gankit.data.fetch`` stays the module
(``mock.patch("gankit.data.fetch....")`` keeps working); use ``fetch_dataset`` or
``from gankit.data.fetch import fetch``.
"""

from __future__ import annotations

import torch

from gankit.data.base import SOURCES, DataSpec, data_spec, require_labels
from gankit.data.fetch import DATASETS, SYSTEM_DIRS, default_root, fetch_names, find_dataset, verify_file
from gankit.data.fetch import fetch as fetch_dataset
from gankit.data.folder import IMAGE_EXTENSIONS, FolderLayout, ImageFolderDataset, folder_layout, list_images, load_folder_tensor
from gankit.data.idx import load_idx_dataset, read_idx, write_idx
from gankit.data.labels import CLASSES_FILE, balanced_weights, read_classes_json, select_items, write_classes_json
from gankit.data.source import DataSource, LoaderSource, TensorSource
from gankit.data.toy2d import MIXTURES, mixture_params, sample_mixture
from gankit.data.translation import (TranslationSource, TranslationSpec, domain_shapes, is_paired, load_inpaint_triples,
                                     load_translation_pairs)  # fmt: skip
from gankit.data.degrade import DEGRADATIONS, KERNELS, bicubic_upscale, downsample
from gankit.data.masks import MASK_KINDS, make_masks
from gankit.data.restore_builtin import sr_scale

#: Every dataset name `gankit data fetch` accepts (for the CLI's choices).
FETCH_NAMES: tuple[str, ...] = tuple(fetch_names())

__all__ = [
    "CLASSES_FILE", "DATASETS", "FETCH_NAMES", "IMAGE_EXTENSIONS", "MIXTURES", "SOURCES", "SYSTEM_DIRS", "DataSource", "DataSpec",
    "FolderLayout", "ImageFolderDataset", "LoaderSource", "TensorSource", "balanced_weights", "build_source",
    "class_names", "data_spec", "default_root", "fetch_dataset", "find_dataset", "folder_layout", "list_images",
    "load_folder_tensor", "load_idx_dataset", "load_real_images", "load_real_labeled", "mixture_params",
    "num_classes", "read_classes_json", "read_idx", "require_labels", "sample_mixture", "sample_shape",
    "select_items", "verify_file", "write_classes_json", "write_idx",
    "TranslationSource", "TranslationSpec", "domain_shapes", "fetch_names", "is_paired", "load_translation_pairs",
    "DEGRADATIONS", "KERNELS", "MASK_KINDS", "bicubic_upscale", "downsample", "load_inpaint_triples", "make_masks", "sr_scale",
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


def load_real_labeled(cfg, split: str | None = None, limit: int | None = None, *,
                      seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """(uint8 images (N, C, S, S), int64 labels (N,)): :func:`load_real_images` with labels, e.g. for
    intra-class FID (``images[labels == k]``) and classification accuracy scores. DataError on unlabeled data."""
    return data_spec(cfg.name).load_real_labeled(cfg, split, limit, seed)


def num_classes(cfg) -> int:
    """How many classes the training labels span (after ``data.classes``); 0 for unlabeled data."""
    return data_spec(cfg.name).num_classes(cfg)


def class_names(cfg) -> list[str] | None:
    """Label index -> class name (after ``data.classes``); None for unlabeled data."""
    return data_spec(cfg.name).class_names(cfg)


def sample_shape(cfg) -> tuple[int, ...]:
    """The shape of one training item, known from the config alone."""
    return data_spec(cfg.name).sample_shape(cfg)
