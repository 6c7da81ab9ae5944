"""Reference specs (what generated samples are compared with) and loading of sample files.

A reference spec is either a dataset split -- ``fashion-mnist:test``, ``fashion-mnist:val``,
``fashion-mnist:train`` and the same for ``mnist`` (read with :func:`gankit.data.idx.load_idx_dataset`)
-- or a folder of images (read with :func:`gankit.data.folder.load_folder_tensor` at the generated
samples' size and channel count).

``val`` is the last :func:`gankit.data.splits.val_size` images of the training file (5,000 of
Fashion-MNIST's 60,000), the split held out of training for checkpoint selection; ``train`` is the
whole training file, as before. A dataset reference is identified (for the statistics cache) by the
SHA-256 of the file its images come from, see :func:`dataset_fingerprint`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from gankit.errors import DataError
from gankit.core.registry import did_you_mean
from gankit.data.splits import split_slice

DATASETS = ("fashion-mnist", "mnist")
SPLITS = ("train", "val", "test")
VALID_SPECS = tuple(f"{d}:{s}" for d in DATASETS for s in SPLITS)


@dataclass(frozen=True)
class Reference:
    """A parsed reference: ``spec`` is canonical (``"fashion-mnist:test"`` or an absolute folder path)."""

    spec: str
    kind: str  # "dataset" | "folder"
    dataset: str | None = None
    split: str | None = None
    path: Path | None = None


def parse_reference(spec: str | Path) -> Reference:
    """Parse ``name:split`` or a folder path; anything else is a :class:`DataError` saying what is valid."""
    text = str(spec).strip()
    if not text:
        raise DataError(f"empty reference; use one of {', '.join(VALID_SPECS)} or a folder of images.")
    if text in DATASETS:
        raise DataError(f"reference {text!r} needs a split: {text}:test, {text}:val or {text}:train.")
    name, sep, split = text.partition(":")
    if sep and name in DATASETS:
        if split not in SPLITS:
            raise DataError(f"reference {text!r}: unknown split {split!r}; valid: {', '.join(SPLITS)}.")
        return Reference(spec=f"{name}:{split}", kind="dataset", dataset=name, split=split)
    path = Path(text).expanduser()
    if path.is_dir():
        return Reference(spec=str(path.resolve()), kind="folder", path=path.resolve())
    if path.exists():
        raise DataError(f"reference {text!r} is a file; a reference is a dataset split ({', '.join(VALID_SPECS)}) or a folder of images.")
    hint = did_you_mean(text, list(VALID_SPECS)) if sep else f" Valid: {', '.join(VALID_SPECS)}."
    raise DataError(f"reference {text!r} not found: neither a known dataset split nor an existing folder.{hint}")


def file_split(split: str) -> str:
    """The IDX file a split's images are in: ``val`` is carved out of the training file."""
    return "train" if split == "val" else split


def dataset_files(ref: Reference, data_root: str | Path | None = None) -> list[Path]:
    """The image file(s) that :func:`load_reference_images` reads for dataset reference ``ref``.

    Resolved as :func:`gankit.data.idx.load_idx_dataset` does: the folder from
    :func:`gankit.data.fetch.find_dataset`, then the ``.gz`` name if present, else the un-gzipped one.
    """
    from gankit.data.fetch import dataset_spec, find_dataset

    if ref.kind != "dataset":
        raise DataError(f"reference {ref.spec} is a folder, not a dataset split.")
    fsplit = file_split(ref.split)  # type: ignore[arg-type]
    folder = find_dataset(ref.dataset, data_root, split=fsplit)  # type: ignore[arg-type]
    img_name, _ = dataset_spec(ref.dataset).split_files(fsplit)  # type: ignore[arg-type]
    gz = folder / img_name
    return [(gz if gz.exists() else folder / img_name.removesuffix(".gz")).resolve()]


def dataset_fingerprint(ref: Reference, data_root: str | Path | None = None) -> tuple[str, list[dict]]:
    """(fingerprint, files) of dataset reference ``ref``: what its statistics depend on.

    The fingerprint is the SHA-256 of the image files' contents (plus, for ``val``, the slice of the
    training file it takes), so two folders holding different files under one dataset name never
    share cached statistics while copies of the same files do. Hashes are computed once per process
    and file (path, size, mtime); Fashion-MNIST's training images (26 MB) take ~0.1 s. ``files``
    lists path, size, mtime and SHA-256 of each file, for the cache entry's metadata.
    """
    from gankit.metrics._io import sha256_file_cached

    files, h = [], hashlib.sha256()
    for f in dataset_files(ref, data_root):
        try:
            st, digest = f.stat(), sha256_file_cached(f)
        except OSError as e:
            raise DataError(f"{f}: cannot read the dataset file to fingerprint it ({e.strerror or e}).") from None
        files.append({"path": str(f), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest})
        h.update(f"{digest}\n".encode())
    if ref.split == "val":
        from gankit.data.idx import read_idx

        sl = split_slice("val", len(read_idx(files[0]["path"])), holdout=True)
        h.update(f"val[{sl.start}:{sl.stop}]".encode())
    return h.hexdigest(), files


def folder_fingerprint(path: Path) -> tuple[str, int]:
    """(hash of the image files' relative names, sizes and mtimes, number of images): changes when the folder does."""
    from gankit.data.folder import list_images

    files = list_images(path)
    h = hashlib.sha256()
    for f in files:
        st = f.stat()
        h.update(f"{f.relative_to(path)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16], len(files)


def shape_str(shape: tuple[int, ...]) -> str:
    return "x".join(str(int(s)) for s in shape)


def load_reference_images(
    ref: Reference,
    image_shape: tuple[int, int, int] | None = None,
    data_root: str | None = None,
    progress: bool = False,
) -> torch.Tensor:
    """All images of ``ref`` as uint8 N x C x H x W.

    Dataset splits (``val``: the end of the training file) are returned at their native shape; :func:`check_shapes` compares them with the
    samples. Folders are loaded at ``image_shape`` (C, S, S) -- the generated samples' shape.
    """
    if ref.kind == "dataset":
        from gankit.data.idx import load_idx_dataset

        images, _ = load_idx_dataset(ref.dataset, file_split(ref.split), root=data_root)  # type: ignore[arg-type]
        if ref.split == "val":
            images = images[split_slice("val", len(images), holdout=True)]
        return torch.tensor(np.asarray(images)).unsqueeze(1)  # copy: the loader's array is read-only
    from gankit.data.folder import load_folder_tensor

    if image_shape is None:
        raise DataError(f"reference folder {ref.path}: the image size to load it at is unknown (pass the samples' shape).")
    c, h, w = image_shape
    if h != w:
        raise DataError(
            f"generated samples are {shape_str(image_shape)} (not square) but folder references are loaded as square "
            f"images; use square samples or a dataset reference."
        )
    return load_folder_tensor(ref.path, h, c, progress=progress)


def load_reference_labels(ref: Reference, data_root: str | None = None) -> np.ndarray:
    """Class labels (int64 (N,)) of dataset reference ``ref``, aligned with :func:`load_reference_images`.

    Only dataset splits have labels; a folder of images is a :class:`DataError` (the class-conditional
    metrics need to know each real image's class).
    """
    if ref.kind != "dataset":
        raise DataError(
            f"reference {ref.spec} is a folder of images without class labels; the class-conditional metrics "
            f"need a labelled dataset split ({', '.join(VALID_SPECS)})."
        )
    from gankit.data.idx import load_idx_dataset

    _, labels = load_idx_dataset(ref.dataset, file_split(ref.split), root=data_root)  # type: ignore[arg-type]
    if ref.split == "val":
        labels = labels[split_slice("val", len(labels), holdout=True)]
    return np.asarray(labels, dtype=np.int64)


def check_shapes(samples_shape: tuple[int, ...], ref_shape: tuple[int, ...], ref: Reference) -> None:
    """Generated C x H x W must equal the reference's; otherwise a :class:`DataError` naming both."""
    if tuple(samples_shape) != tuple(ref_shape):
        raise DataError(
            f"generated samples are {shape_str(samples_shape)} (C x H x W) but reference {ref.spec} is "
            f"{shape_str(ref_shape)}; evaluate against a reference with the same image size and channels "
            "(e.g. a folder of real images at the samples' size) or generate at the reference's size."
        )


def subset_indices(total: int, n: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded random subset of size ``n``; None when all ``total`` items are used."""
    if n is None or n >= total:
        return None
    return np.sort(np.random.default_rng(seed).choice(total, size=n, replace=False))


_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "La"}


def load_samples(path: str | Path, progress: bool = False) -> torch.Tensor:
    """Load generated samples from a folder of images or a ``.npy`` file.

    * folder: every image (``.png .jpg .jpeg .webp .bmp``, recursive) as uint8 N x C x S x S, where
      S and C come from the first image (shorter side, center crop; grayscale modes -> 1 channel);
    * ``.npy`` uint8: N x C x H x W (C = 1 or 3) or N x H x W (grayscale);
    * ``.npy`` float: N x D points (2D toy data), returned as float32.

    Pickled ``.npy`` files are refused.
    """
    p = Path(path).expanduser()
    if p.is_dir():
        from PIL import Image

        from gankit.data.folder import list_images, load_folder_tensor

        files = list_images(p)  # DataError if the folder has no images
        try:
            with Image.open(files[0]) as im:
                size, mode = min(im.size), im.mode
        except OSError as e:
            raise DataError(f"{files[0]}: cannot read image ({e}).") from None
        channels = 1 if mode in _GRAY_MODES else 3
        return load_folder_tensor(p, size, channels, progress=progress)
    if not p.exists():
        raise DataError(f"samples {p} not found: expected a folder of images or a .npy file.")
    if p.suffix.lower() != ".npy":
        raise DataError(f"samples {p}: unsupported file type {p.suffix!r}; expected a folder of images or a .npy file.")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as e:
        raise DataError(f"{p}: not a plain numpy array ({e}); pickled arrays are refused.") from None
    except OSError as e:
        raise DataError(f"{p}: cannot read ({e}).") from None
    if arr.size == 0 or len(arr) == 0:
        raise DataError(f"{p}: the array is empty (shape {arr.shape}).")
    if arr.dtype == np.uint8:
        if arr.ndim == 3:
            arr = arr[:, None]
        if arr.ndim != 4 or arr.shape[1] not in (1, 3):
            raise DataError(
                f"{p}: uint8 images must be N x C x H x W with C = 1 or 3 (or N x H x W); got shape {arr.shape}."
            )
        return torch.from_numpy(np.ascontiguousarray(arr).copy())
    if np.issubdtype(arr.dtype, np.floating):
        if arr.ndim != 2:
            raise DataError(
                f"{p}: float arrays are read as N x D points, got shape {arr.shape}; save images as uint8 "
                "N x C x H x W (e.g. ((x + 1) * 127.5).round().clip(0, 255).astype(np.uint8))."
            )
        return torch.from_numpy(arr.astype(np.float32))
    raise DataError(f"{p}: unsupported dtype {arr.dtype}; expected uint8 images or float points.")
