"""Named splits of a dataset: ``train``, ``val`` (held out of train for checkpoint selection) and ``test``.

Selecting the best checkpoint by FID on the split that ``gankit eval`` reports on would flatter the
reported number; so the last ``VAL_SIZE`` training images form a validation split, excluded from
training while selection is on (``eval.select_on: val``), and the test split is only reported.
"""

from __future__ import annotations

from gankit.core.errors import DataError

#: Images held out of the end of an IDX training split (Fashion-MNIST, MNIST) as ``val``.
VAL_SIZE = 5000
SPLITS = ("train", "val", "test")


def val_size(n_train: int) -> int:
    """How many items ``val`` takes from the end of a training split of ``n_train`` (a tenth of small sets)."""
    return min(VAL_SIZE, n_train // 10)


def split_slice(split: str, n_train: int, holdout: bool) -> slice:
    """The items of the *training file* a split uses; ``holdout``: train excludes the val items."""
    if split not in ("train", "val"):
        raise DataError(f"split {split!r}: expected one of {', '.join(SPLITS)}.")
    k = val_size(n_train)
    if split == "val":
        return slice(n_train - k, n_train)
    return slice(0, n_train - k) if holdout else slice(0, n_train)
