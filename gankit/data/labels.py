"""Class labels through the data layer: class selection, per-class caps, balanced order, ``classes.json``.

Every labelled spec (the IDX datasets, image folders with one subfolder per class) runs its labels
through :func:`select_items`, so ``data.classes``, ``data.limit`` and ``data.per_class_limit`` mean
the same on every dataset and are applied in that order. Sources stay label-agnostic: balancing
reaches them as per-item weights (:func:`balanced_weights`), drawn from the epoch's generator, so
the order is still a pure function of (seed, epoch) and resume stays exact.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch

from gankit.errors import ConfigError, DataError
from gankit.utils.io import atomic_write_text

#: The file in a run folder mapping each label the generator was trained on to its class name.
CLASSES_FILE = "classes.json"
#: The recipe keys that only make sense on labelled data.
LABEL_SWITCHES = ("classes", "per_class_limit", "balance")


def label_switches(cfg: Any) -> list[str]:
    """The label switches a ``DataConfig`` sets, as ``data.<key>`` (empty when none is set)."""
    return [f"data.{k}" for k in LABEL_SWITCHES if getattr(cfg, k, None) not in (None, False)]


def check_class_ids(classes: Sequence[int] | None, per_class_limit: Mapping[int, int] | None, names: Sequence[str],
                    dataset: str) -> None:  # fmt: skip
    """``data.classes`` / ``data.per_class_limit`` may only name classes the data has (ids 0..k-1)."""
    k = len(names)
    shown = ", ".join(f"{i}: {n}" for i, n in enumerate(names[:12])) + (", ..." if k > 12 else "")
    for key, ids in (("classes", classes or ()), ("per_class_limit", (per_class_limit or {}).keys())):
        bad = [int(c) for c in ids if not 0 <= int(c) < k]
        if bad:
            raise ConfigError(
                f"data.{key}: class {bad[0]} is not a class of {dataset}, which has {k} classes, "
                f"ids 0..{k - 1} ({shown})."
            )


def select_items(
    labels: np.ndarray | Sequence[int],
    classes: Sequence[int] | None = None,
    limit: int | None = None,
    per_class_limit: Mapping[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(indices of the kept items in file order, their labels int64), in this order of steps:

    ``classes`` keeps only those original ids and remaps them to 0..k-1 in the listed order;
    ``limit`` keeps the first N items left; ``per_class_limit`` (original id -> N) keeps the first
    N items of each named class. Deterministic: file order decides, never a random draw.
    """
    lab = np.asarray(labels, dtype=np.int64)
    index = np.arange(len(lab))
    if classes is not None:
        index = index[np.isin(lab, np.asarray(list(classes), dtype=np.int64))]
    if limit is not None:
        index = index[:limit]
    if per_class_limit:
        kept = lab[index]
        keep = np.ones(len(index), dtype=bool)
        for cls, n in per_class_limit.items():
            keep[np.flatnonzero(kept == int(cls))[int(n) :]] = False
        index = index[keep]
    out = lab[index]
    if classes is not None:
        ids = [int(c) for c in classes]
        table = np.full(max(ids + [int(out.max(initial=0))]) + 1, -1, dtype=np.int64)
        table[ids] = np.arange(len(ids))
        out = table[out]
    return index, out


def balanced_weights(labels: torch.Tensor) -> torch.Tensor:
    """Per-item weights 1 / count(item's class): every class present is drawn equally often.

    float64, so that the draw does not depend on rounding of large counts.
    """
    lab = labels.long().cpu()
    if lab.numel() == 0:
        raise DataError("data.balance: the dataset has no items to balance.")
    counts = torch.bincount(lab).double()
    return 1.0 / counts[lab]


def write_classes_json(run_dir: str | Path, names: Sequence[str]) -> Path:
    """Write ``run_dir/classes.json``: {"0": name, "1": name, ...}, the labels the generator learned.

    Atomic (a crash leaves the old file or none). Keys are in label order, not string order, so
    "10" follows "9" when a person reads the file.
    """
    names = [str(n) for n in names]
    if not names:
        raise ValueError("write_classes_json: no class names; unlabeled data has no classes.json")
    text = json.dumps({str(i): n for i, n in enumerate(names)}, indent=2, ensure_ascii=False) + "\n"
    return atomic_write_text(Path(run_dir) / CLASSES_FILE, text)


def read_classes_json(run_dir: str | Path) -> list[str] | None:
    """The class names a run wrote (index -> name), or None when it trained on unlabeled data."""
    path = Path(run_dir) / CLASSES_FILE
    if not path.is_file():
        return None
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: cannot read the class names ({e}).") from None
    if not isinstance(raw, dict) or set(raw) != {str(i) for i in range(len(raw))}:
        raise DataError(f"{path}: expected an object mapping labels \"0\"..\"{len(raw) - 1}\" to class names.")
    return [str(raw[str(i)]) for i in range(len(raw))]
