"""What ``--data DATASET_OR_DIR`` means: a recipe's data section, its classes and its training items.

A built-in labelled dataset (``fashion-mnist``, ``mnist``) keeps the recipe's ``data.root`` when
the recipe already reads that dataset (a local IDX copy), else uses the gankit data cache. A folder
becomes ``data.name: folder`` at that root, in torchvision's ImageFolder convention (one subfolder
per class, see :mod:`gankit.data.folder`), read at the recipe's ``data.image_size`` and with 1
channel when every inspected image is greyscale, else 3.

:func:`training_items` loads exactly the items the GAN trains on -- after ``data.classes``,
``data.limit`` and ``data.per_class_limit``, without the validation items when training leaves
them out for checkpoint selection -- so the confidence filter's classifier sees the same
imbalanced data as the GAN, and nothing more.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.data.base import SOURCES, data_spec, labels_error
from gankit.errors import ConfigError

#: Folder images inspected to decide between 1 and 3 channels.
CHANNEL_PROBE = 32


def builtin_names() -> list[str]:
    """Registered data sources that always carry labels (the IDX datasets)."""
    return sorted(n for n in SOURCES.names() if getattr(SOURCES.get(n), "has_labels", False))


def is_builtin(text: str) -> bool:
    """A built-in name wins over a folder of that name; write ``./mnist`` for the folder."""
    return text in builtin_names()


def folder_channels(root: Path) -> int:
    """1 when every probed image is greyscale (PIL mode L/LA/I/I;16/1), else 3."""
    from PIL import Image

    from gankit.data.folder import list_images

    files = list_images(root)
    step = max(1, len(files) // CHANNEL_PROBE)
    for f in files[::step][:CHANNEL_PROBE]:
        try:
            with Image.open(f) as im:
                if im.mode.split(";")[0] not in ("L", "LA", "I", "1"):
                    return 3
        except OSError:
            continue  # the data layer reports unreadable files with its own message
    return 1


def adapt_data(raw: dict[str, Any], data: str) -> dict[str, Any]:
    """``raw`` (a loaded recipe) with its data section pointed at ``data`` (module docstring)."""
    section = dict(raw.get("data") or {})
    if is_builtin(data):
        if section.get("name", "fashion-mnist") != data:  # the recipe's root is another dataset's
            section.pop("root", None)
        section["name"] = data
    else:
        root = Path(data).expanduser()
        if not root.is_dir():
            raise ConfigError(f"--data {data}: neither a built-in dataset ({', '.join(builtin_names())}) nor a folder.")
        section.update(name="folder", root=str(root.resolve()), channels=folder_channels(root))
    return {**raw, "data": section}


def class_names(cfg: Any) -> list[str]:
    """The classes the GAN learns (after ``data.classes``); a clear error for data without (enough) classes."""
    spec = data_spec(cfg.data.name)
    names = spec.class_names(cfg.data)
    if not names:
        raise labels_error(["gankit augment"], spec.missing_labels(cfg.data))
    if len(names) < 2:
        raise ConfigError(f"gankit augment needs at least two classes to tell apart; the data has one ({names[0]}).")
    return list(names)


def resolve_class(text: str | int, names: list[str]) -> int:
    """``--class K``: a class id (0..k-1) or a class name (exact, else case-insensitive unique)."""
    shown = ", ".join(f"{i}: {n}" for i, n in enumerate(names[:20])) + (", ..." if len(names) > 20 else "")
    t = str(text).strip()
    if t.lstrip("+").isdigit() and t.isascii():
        k = int(t)
        if 0 <= k < len(names):
            return k
        raise ConfigError(f"--class {t}: no such class; the data has {len(names)} classes, {shown}.")
    if t in names:
        return names.index(t)
    folded = [i for i, n in enumerate(names) if n.casefold() == t.casefold()]
    if len(folded) == 1:
        return folded[0]
    raise ConfigError(f"--class {t!r}: no such class; give an id or a name: {shown}.")


def training_items(cfg: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 N x C x S x S, int64 labels) of the training items, as the GAN's source selects them."""
    from gankit.data.datasets import IdxDataset, idx_split, resize_uint8
    from gankit.data.folder import ImageFolder, folder_layout, load_files, select_files
    from gankit.data.labels import check_class_ids, select_items
    from gankit.train.eval_hook import holds_out_val

    d = cfg.data
    spec = data_spec(d.name)
    if isinstance(spec, IdxDataset):
        check_class_ids(d.classes, d.per_class_limit, spec.names, d.name)
        images, labels = idx_split(d, d.split, None, holds_out_val(cfg))
        index, lab = select_items(labels, d.classes, d.limit, d.per_class_limit)
        x = torch.from_numpy(images[index]).unsqueeze(1)
        if x.shape[-1] != d.image_size:
            x = resize_uint8(x, d.image_size)
        return x.expand(-1, d.channels, -1, -1).contiguous(), torch.from_numpy(np.ascontiguousarray(lab)).long()
    if isinstance(spec, ImageFolder):
        layout = folder_layout(d.root)
        files, lab = select_files(layout, d.classes, d.limit, d.per_class_limit)
        if lab is None:
            raise labels_error(["gankit augment"], layout.missing_labels())
        x, kept = load_files(layout.root, files, d.image_size, d.channels, skip_bad_files=d.skip_bad_files, progress=False)
        return x, torch.tensor([lab[j] for j in kept], dtype=torch.int64)
    raise ConfigError(f"gankit augment reads {', '.join(builtin_names())} or an image folder, not data.name {d.name!r}.")


def training_counts(cfg: Any, num_classes: int) -> list[int]:
    """Training items per class (cheap: labels only, no image is decoded)."""
    from gankit.data.datasets import IdxDataset, idx_split
    from gankit.data.folder import ImageFolder, folder_layout, select_files
    from gankit.data.labels import select_items
    from gankit.train.eval_hook import holds_out_val

    d = cfg.data
    spec = data_spec(d.name)
    if isinstance(spec, IdxDataset):
        lab = select_items(idx_split(d, d.split, None, holds_out_val(cfg))[1], d.classes, d.limit, d.per_class_limit)[1]
    elif isinstance(spec, ImageFolder):
        lab = np.asarray(select_files(folder_layout(d.root), d.classes, d.limit, d.per_class_limit)[1] or [], dtype=np.int64)
    else:
        raise ConfigError(f"gankit augment reads {', '.join(builtin_names())} or an image folder, not data.name {d.name!r}.")
    return np.bincount(lab, minlength=num_classes).tolist()


__all__ = ["adapt_data", "builtin_names", "class_names", "folder_channels", "is_builtin", "resolve_class", "training_counts",
           "training_items"]  # fmt: skip
