"""The class labels of class-conditional samples: loading, checking, and a class-balanced first ``n``.

A class-conditional generator's samples come with the class each was asked for: int64 labels (N,)
aligned with the images. ``gankit sample --per-class M --out x.npy`` writes them beside the images
as ``x.labels.npy`` (:func:`sibling_labels_path`); :func:`gankit.metrics.evaluate` takes them as
``labels=`` or finds that file when ``samples`` is a path to an ``.npy``.

With labels, "the first ``n`` samples" is taken round-robin over the classes
(:func:`first_n_per_class`): samples written class by class (all of class 0, then class 1, ...)
keep every class, and samples already interleaved keep exactly their first ``n``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.errors import DataError, GankitError

SUFFIX = ".labels.npy"
NEEDS_LABELS = (
    "the samples need the class each was generated for: pass labels= (int64 (N,), aligned with the samples), "
    "or evaluate an .npy written by `gankit sample --per-class M --out x.npy`, which writes x.labels.npy beside it"
)


def sibling_labels_path(samples: str | Path) -> Path:
    """``x.labels.npy`` for samples ``x.npy``: where ``gankit sample --per-class`` writes the labels."""
    p = Path(samples).expanduser()
    return p.with_name(p.name[: -len(".npy")] + SUFFIX if p.name.lower().endswith(".npy") else p.name + SUFFIX)


def load_labels_file(path: str | Path) -> torch.Tensor:
    """An ``.npy`` of integer labels (N,) as an int64 tensor; pickled arrays are refused."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise DataError(f"labels {p} not found; {NEEDS_LABELS}.")
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise DataError(f"{p}: not a plain numpy array of labels ({e}).") from None
    return as_labels(arr, str(p))


def as_labels(labels: Any, what: str = "labels") -> torch.Tensor:
    """Labels (a tensor, numpy array or ``.npy`` path) as an int64 tensor (N,), or a clear error."""
    if isinstance(labels, (str, Path)):
        return load_labels_file(labels)
    if isinstance(labels, np.ndarray):
        labels = torch.from_numpy(np.ascontiguousarray(labels))
    if not torch.is_tensor(labels):
        raise GankitError(f"{what} must be a tensor, a numpy array or an .npy path; got {type(labels).__name__}.")
    if labels.dtype.is_floating_point or labels.dtype.is_complex or labels.dtype == torch.bool or labels.dim() != 1:
        raise GankitError(f"{what} must be integer class ids of shape (N,); got a {labels.dtype} tensor of shape {tuple(labels.shape)}.")
    return labels.detach().cpu().to(torch.int64)


def check_labels(labels: torch.Tensor, n_samples: int, num_classes: int, what: str = "labels") -> None:
    """One label per sample, each a class id in ``0..num_classes-1``."""
    if len(labels) != n_samples:
        raise GankitError(f"{what} has {len(labels)} entries but there are {n_samples} samples; they must be aligned.")
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
        raise GankitError(
            f"{what} must be class ids 0..{num_classes - 1} (the classes of the Fashion-MNIST classifier and of "
            f"the labelled references); got values in [{int(labels.min())}, {int(labels.max())}]."
        )


def first_n_per_class(labels: torch.Tensor, n: int) -> torch.Tensor | None:
    """Sorted indices of the first ``n`` samples taken round-robin over classes; None when all are kept.

    Sample ``i`` of class ``k`` gets rank ``r`` = how many earlier samples are of class ``k``; the
    ``n`` kept are those of smallest (rank, position). Interleaved samples keep their first ``n``.
    """
    total = len(labels)
    if n >= total:
        return None
    lab = labels.numpy()
    rank = np.empty(total, dtype=np.int64)
    for k in np.unique(lab):
        where = np.flatnonzero(lab == k)
        rank[where] = np.arange(len(where))
    order = np.lexsort((np.arange(total), rank))
    return torch.from_numpy(np.sort(order[:n]))


def class_counts(labels: torch.Tensor | np.ndarray, num_classes: int) -> tuple[int, ...]:
    """Samples per class 0..num_classes-1 (the per-class ``n`` of a protocol)."""
    lab = labels.numpy() if torch.is_tensor(labels) else np.asarray(labels)
    return tuple(int(c) for c in np.bincount(lab.astype(np.int64), minlength=num_classes)[:num_classes])


__all__ = ["NEEDS_LABELS", "as_labels", "check_labels", "class_counts", "first_n_per_class", "load_labels_file", "sibling_labels_path"]
