"""Reference statistics (mu, sigma in float64; features and logits for KID, PR, IS), cached on disk.

Cache location: ``$GANKIT_CACHE/refstats/`` if ``GANKIT_CACHE`` is set, else
``~/.cache/gankit/refstats/``. One safetensors file per key (no pickle), written atomically.

The key is a hash of every protocol field that affects reference statistics: the reference
(canonical spec, plus a fingerprint of its files: for a dataset split the SHA-256 of the IDX image
file's contents -- so two ``data_root`` folders with different files never share an entry -- and
for a folder the image files' names, sizes and mtimes), the extractor name and the full
SHA-256 of its weights, the number of reference samples used, the seed choosing them, the resize
method, the image shape and the cache format version. (The number of *generated* samples is a
protocol field too but does not change reference statistics, so it is not in the key.) Changing
any of these makes a new entry; a corrupt entry is recomputed and replaced. The entry's metadata
holds the fields (``fields``) and, for a dataset, each file's path, size, mtime and SHA-256
(``files``); a hit is used only if its stored fields equal the ones just computed.

Per-class statistics (``label=k``, for intra-FID) use only the reference images of class ``k``; the
key then also holds the class and the SHA-256 of the reference's labels (the image file's
fingerprint alone does not say which images are of class ``k``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from gankit.errors import GankitError
from gankit.utils.io import atomic_path
from gankit.metrics.extractors import Extractor
from gankit.metrics.fid import feature_statistics
from gankit.metrics.reference import (
    Reference,
    check_shapes,
    dataset_fingerprint,
    folder_fingerprint,
    load_reference_images,
    load_reference_labels,
    parse_reference,
    subset_indices,
)

CACHE_VERSION = 2  # 2: fmnist features computed channels-last (float32 rounding differs from 1)


def cache_dir() -> Path:
    base = os.environ.get("GANKIT_CACHE")
    root = Path(base).expanduser() if base else Path.home() / ".cache" / "gankit"
    return root / "refstats"


def cache_key(fields: dict[str, Any]) -> str:
    """Hash of the protocol fields (order-independent)."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]


@dataclass
class RefStats:
    """Statistics of ``n`` reference images under ``extractor``."""

    mu: np.ndarray  # (F,) float64
    sigma: np.ndarray  # (F, F) float64
    features: np.ndarray  # (n, F) float64
    logits: np.ndarray  # (n, K) float64
    n: int
    reference: str
    image_shape: tuple[int, int, int]
    resize: str
    seed: int
    extractor: str
    extractor_hash: str
    key: str
    path: Path | None
    hit: bool  # loaded from the cache
    label: int | None = None  # the class the statistics are restricted to (None: all images)


def _diff(stored: Any, fields: dict[str, Any]) -> str:
    if not isinstance(stored, dict):
        return "no protocol fields stored"
    keys = sorted(k for k in set(stored) | set(fields) if stored.get(k) != fields.get(k))
    return "differs in " + ", ".join(keys)


class _Lazy:
    """Load reference images once, on first use."""

    def __init__(self, fn: Callable[[], torch.Tensor]):
        self.fn, self.value = fn, None

    def __call__(self) -> torch.Tensor:
        if self.value is None:
            self.value = self.fn()
        return self.value


def _check_aligned(images: torch.Tensor, labels: np.ndarray, ref: Reference) -> torch.Tensor:
    if len(images) != len(labels):
        raise GankitError(f"reference {ref.spec}: {len(images)} images but {len(labels)} labels; they must be aligned.")
    return images


def get_reference_stats(
    reference: str | Reference,
    extractor: Extractor,
    *,
    n: int | None = 10000,
    seed: int = 0,
    image_shape: tuple[int, int, int] | None = None,
    data_root: str | None = None,
    cache: bool = True,
    batch_size: int | None = None,
    progress: bool = False,
    load_images: Callable[[], torch.Tensor] | None = None,
    label: int | None = None,
    load_labels: Callable[[], np.ndarray] | None = None,
) -> RefStats:
    """Statistics of ``reference`` (a spec or :class:`Reference`) for ``extractor``, from the cache when possible.

    ``n``: use a seeded random subset of ``n`` images (None or >= size: all). ``image_shape``: the
    generated samples' C x H x W -- checked against a dataset reference (mismatch -> DataError
    naming both) and used to load a folder reference; None accepts the dataset's own shape.
    ``load_images``: a callable returning all reference images, to share one load with other metrics.
    ``label``: only the images of this class (a dataset reference; ``n`` then subsets those), with
    the labels from ``load_labels`` (default :func:`load_reference_labels`).
    """
    ref = reference if isinstance(reference, Reference) else parse_reference(reference)
    loader = _Lazy(load_images or (lambda: load_reference_images(ref, image_shape, data_root, progress)))
    labels_sha = None
    if label is not None:
        labels = np.asarray((load_labels or (lambda: load_reference_labels(ref, data_root)))(), dtype=np.int64)
        labels_sha = hashlib.sha256(np.ascontiguousarray(labels).tobytes()).hexdigest()
        of_class = torch.from_numpy(np.flatnonzero(labels == int(label)))
        if len(of_class) == 0:
            raise GankitError(f"reference {ref.spec} has no images of class {label}.")
        loader = _Lazy(lambda all_images=loader: _check_aligned(all_images(), labels, ref)[of_class])
    if ref.kind == "dataset":
        images = loader()  # cheap (cached IDX read) and needed for the shape check and the size
        ref_shape = tuple(int(s) for s in images.shape[1:])
        if image_shape is not None:
            check_shapes(image_shape, ref_shape, ref)
        total = len(images)
        fingerprint, files = dataset_fingerprint(ref, data_root)
    else:
        if image_shape is None:
            raise GankitError(f"reference folder {ref.spec}: pass image_shape (the generated samples' C x H x W).")
        ref_shape = tuple(int(s) for s in image_shape)
        fingerprint, total = folder_fingerprint(ref.path)  # type: ignore[arg-type]
        files = []
    n_used = total if n is None else min(int(n), total)
    resize = extractor.resize_method(ref_shape)
    fields = {
        "version": CACHE_VERSION,
        "reference": ref.spec,
        "fingerprint": fingerprint,
        "extractor": extractor.name,
        "extractor_sha256": extractor.sha256,
        "n_reference": n_used,
        "seed": seed,
        "resize": resize,
        "image_shape": list(ref_shape),
    }
    if label is not None:
        fields.update({"class": int(label), "labels_sha256": labels_sha})
    key = cache_key(fields)
    slug = ref.spec.replace(":", "-") if ref.kind == "dataset" else f"folder-{Path(ref.spec).name}"
    if label is not None:
        slug += f"-class{int(label)}"
    path = cache_dir() / f"{slug}-{extractor.name}-{key}.safetensors"

    def make(feats: np.ndarray, logits: np.ndarray, hit: bool, where: Path | None, mu=None, sigma=None) -> RefStats:
        if mu is None or sigma is None:
            mu, sigma = feature_statistics(feats)
        return RefStats(mu, sigma, feats, logits, n_used, ref.spec, ref_shape, resize, seed, extractor.name,  # type: ignore[arg-type]
                        extractor.hash, key, where, hit, None if label is None else int(label))  # fmt: skip

    if cache and path.is_file():
        try:
            with safe_open(str(path), framework="numpy") as f:
                stored = json.loads((f.metadata() or {}).get("fields", "null"))
                data = {k: f.get_tensor(k) for k in ("mu", "sigma", "features", "logits")}
            feats, logits = data["features"].astype(np.float64), data["logits"].astype(np.float64)
            if stored != fields:
                warnings.warn(f"reference cache {path} was made for other inputs ({_diff(stored, fields)}); recomputing", stacklevel=2)
            elif len(feats) == n_used:
                return make(feats, logits, True, path, data["mu"].astype(np.float64), data["sigma"].astype(np.float64))
            else:
                warnings.warn(f"reference cache {path} has {len(feats)} items, expected {n_used}; recomputing", stacklevel=2)
        except (SafetensorError, KeyError, OSError, ValueError) as e:
            warnings.warn(f"reference cache {path} is unreadable ({e}); recomputing", stacklevel=2)

    images = loader()
    if ref.kind == "folder":
        check_shapes(ref_shape, tuple(images.shape[1:]), ref)
    pick = subset_indices(len(images), n_used, seed)
    if pick is not None:
        images = images[torch.from_numpy(pick)]
    out = extractor.run(images, batch_size=batch_size, progress=progress)
    feats = out["features"].astype(np.float32).astype(np.float64)  # what a cache hit returns, exactly
    logits = out["logits"].astype(np.float32).astype(np.float64)
    mu, sigma = feature_statistics(feats)
    where = None
    if cache:
        meta = {
            "fields": json.dumps(fields, sort_keys=True),
            "files": json.dumps(files),
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            with atomic_path(path) as tmp:
                save_file(
                    {
                        "mu": mu,
                        "sigma": sigma,
                        "features": feats.astype(np.float32),
                        "logits": logits.astype(np.float32),
                    },
                    str(tmp),
                    metadata=meta,
                )
            where = path
        except OSError as e:
            warnings.warn(f"cannot write the reference cache {path} ({e}); set GANKIT_CACHE to a writable folder", stacklevel=2)
    return make(feats, logits, False, where, mu, sigma)
