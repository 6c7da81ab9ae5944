"""Built-in translation tasks made from Fashion-MNIST, so pix2pix and CycleGAN train offline.

- ``fmnist-edges2items`` (paired): A = the item's Canny edge map, B = the item. Edges: a 3 x 3 Gaussian
  pre-blur (sigma 0.8, OpenCV's choice for that kernel: it drops single-pixel texture, e.g. a bag's
  print, that would otherwise become noise edges) then ``cv2.Canny`` with hysteresis thresholds 50 / 150
  (Canny's recommended 1:3 ratio) and the L2 gradient norm. Edges are 255 on 0, the items' own polarity.
- ``fmnist-sandal2sneaker`` (unpaired): A = class 5 (Sandal), B = class 7 (Sneaker).
- ``fmnist-tshirt2shirt`` (unpaired): A = class 0 (T-shirt/top), B = class 6 (Shirt).

All 1 x 28 x 28 unless ``data.image_size`` / ``channels_a`` / ``channels_b`` say otherwise. The train split
comes from the IDX training file (with ``val`` its last 5,000 images, as for fashion-mnist), test from the
test file; the two unpaired domains are different classes, so never share an image. ``data.root`` is the
Fashion-MNIST IDX folder (None: the gankit data cache; `gankit data fetch fashion-mnist`).

Generation is deterministic (the same bytes every run) and cached: ``$GANKIT_CACHE/translation/`` (else
``~/.cache/gankit/translation/``), one safetensors file per (task, IDX file), keyed by the SHA-256 of the
IDX files, the generation parameters and the OpenCV version, written atomically. A corrupt or mismatching
entry is regenerated.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np
import torch
from PIL import Image
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from gankit.data.base import SOURCES
from gankit.data.fetch import dataset_spec, find_dataset
from gankit.data.idx import _pick, read_idx
from gankit.data.preprocess import Draw, Preprocess, to_uint8
from gankit.data.splits import split_slice
from gankit.data.translation import Pair, TranslationDataset, TranslationSource, TranslationSpec, item_seed, load_stack
from gankit.data.unpaired import UnpairedDataset
from gankit.errors import DataError
from gankit.utils.io import atomic_path

EDGE_BLUR = 3  # Gaussian kernel size before Canny (sigma from the kernel: 0.8)
EDGE_THRESHOLDS = (50, 150)  # Canny's hysteresis thresholds
VERSION = 1  # bump when what a task generates changes: old cache entries are then never read
#: Unpaired tasks: (class of domain A, class of domain B), Fashion-MNIST's label ids.
UNPAIRED = {"fmnist-sandal2sneaker": (5, 7), "fmnist-tshirt2shirt": (0, 6)}
TASKS = ("fmnist-edges2items", *UNPAIRED)


def canny_edges(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) edge maps in {0, 255} of uint8 (N, H, W) images (the parameters above)."""
    try:
        import cv2
    except ImportError:
        raise DataError("fmnist-edges2items needs OpenCV: pip install 'opencv-python-headless>=4.8,<5'.") from None
    out = np.empty_like(images)
    for i, im in enumerate(images):
        out[i] = cv2.Canny(cv2.GaussianBlur(im, (EDGE_BLUR, EDGE_BLUR), 0), *EDGE_THRESHOLDS, L2gradient=True)
    return out


def generate(task: str, images: np.ndarray, labels: np.ndarray) -> dict[str, torch.Tensor]:
    """The task's domains from one IDX file: uint8 ``a``/``b`` (N, 28, 28), their positions in the file
    (``a_index``/``b_index``) and the file's length ``n`` (where its val split starts)."""
    n = torch.tensor([len(images)])
    if task == "fmnist-edges2items":
        index = torch.arange(len(images))
        return {"a": torch.from_numpy(canny_edges(images)), "b": torch.from_numpy(np.array(images)),
                "a_index": index, "b_index": index.clone(), "n": n}  # fmt: skip
    ka, kb = UNPAIRED[task]
    ia, ib = np.flatnonzero(labels == ka), np.flatnonzero(labels == kb)
    return {"a": torch.from_numpy(images[ia]), "b": torch.from_numpy(images[ib]),
            "a_index": torch.from_numpy(ia).long(), "b_index": torch.from_numpy(ib).long(), "n": n}  # fmt: skip


def cache_dir() -> Path:
    base = os.environ.get("GANKIT_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "gankit") / "translation"


@functools.lru_cache(maxsize=16)
def _sha256(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def file_sha256(path: Path) -> str:
    st = path.stat()
    return _sha256(str(path.resolve()), st.st_mtime_ns, st.st_size)


def _params(task: str) -> dict[str, Any]:
    if task == "fmnist-edges2items":
        import cv2

        return {"blur": EDGE_BLUR, "thresholds": list(EDGE_THRESHOLDS), "l2gradient": True, "opencv": cv2.__version__}
    return {"classes": list(UNPAIRED[task])}


def _read_cache(path: Path, fields: dict[str, Any]) -> dict[str, torch.Tensor] | None:
    try:
        with safe_open(str(path), framework="pt") as f:
            if json.loads((f.metadata() or {}).get("fields", "null")) != fields:
                return None
            return {k: f.get_tensor(k) for k in ("a", "b", "a_index", "b_index", "n")}
    except (OSError, SafetensorError, ValueError, KeyError):
        return None


def builtin_domains(task: str, root: str | Path | None, file: str, *, cache: bool = True) -> dict[str, torch.Tensor]:
    """The task's ``a``/``b`` uint8 (N, 28, 28) and file positions from IDX file ``train`` or ``test``, cached."""
    spec = dataset_spec("fashion-mnist")
    folder = find_dataset("fashion-mnist", root, split=file)
    img_path, lbl_path = (_pick(folder, n) for n in spec.split_files(file))
    fields = {"task": task, "version": VERSION, "file": file, "images_sha256": file_sha256(img_path),
              "labels_sha256": file_sha256(lbl_path), **_params(task)}  # fmt: skip
    key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / f"{task}-{file}-{key}.safetensors"
    if cache and path.is_file():
        hit = _read_cache(path, fields)
        if hit is not None:
            return hit
    images, labels = read_idx(img_path), read_idx(lbl_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8 or len(labels) != len(images):
        raise DataError(f"{folder}: expected Fashion-MNIST's uint8 images (N, 28, 28) and N labels, "
                        f"got {images.dtype} {images.shape} and {labels.shape}.")  # fmt: skip
    out = generate(task, images, labels.astype(np.int64))
    if cache:
        try:
            with atomic_path(path) as tmp:
                meta = {"fields": json.dumps(fields, sort_keys=True)}
                save_file({k: v.contiguous() for k, v in out.items()}, str(tmp), metadata=meta)
        except OSError as e:
            warnings.warn(f"cannot write the translation cache {path} ({e}); set GANKIT_CACHE to a writable folder", stacklevel=2)
    return out


class ArrayDomain:
    """One domain held in memory as uint8 (N, H, W); preprocessed per item like a folder's images."""

    def __init__(self, images: torch.Tensor, pre: Preprocess, channels: int) -> None:
        self.images, self.pre, self.channels = images, pre, channels

    def __len__(self) -> int:
        return len(self.images)

    def image(self, index: int) -> Image.Image:
        return Image.fromarray(self.images[index].numpy())  # 2-D uint8: mode L

    def transform(self, img: Image.Image, d: Draw) -> torch.Tensor:
        return to_uint8(self.pre.apply(img, d), self.channels)

    def load(self, index: int, seed: int | None) -> torch.Tensor:
        img = self.image(index)
        return self.transform(img, self.pre.draw(*img.size, seed))


class ArrayPairs(TranslationDataset):
    """Paired in-memory domains: key (index, seed) -> uint8 (a, b) with one crop and flip for both."""

    paired = True

    def __init__(self, a: ArrayDomain, b: ArrayDomain, size: int) -> None:
        self.a, self.b, self.num_items = a, b, len(a)
        self.shapes = {"a": (a.channels, size, size), "b": (b.channels, size, size)}

    def item(self, key: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        ia, ib = self.a.image(int(key[0])), self.b.image(int(key[0]))
        d = self.a.pre.draw(*ia.size, item_seed(key[1]))
        return self.a.transform(ia, d), self.b.transform(ib, d)


class FashionTranslation(TranslationSpec):
    """A built-in Fashion-MNIST task (module docstring); ``data.num_workers`` is unused: the data is in memory."""

    task: ClassVar[str]
    default_channels = 1

    def split_domains(self, cfg: Any, split: str, limit: int | None, holdout: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """(a, b) uint8 (N, 28, 28) of ``train``/``val``/``test`` (the first ``limit`` of each), direction applied."""
        self.checked(cfg)
        if split not in ("train", "val", "test"):
            raise DataError(f"split {split!r}: expected train, val or test.")
        file = "test" if split == "test" else "train"
        d = builtin_domains(self.task, cfg.root, file)
        a, b = d["a"], d["b"]
        if file == "train":
            cut = split_slice(split, int(d["n"][0]), holdout)
            keep_a = (d["a_index"] >= cut.start) & (d["a_index"] < cut.stop)
            keep_b = (d["b_index"] >= cut.start) & (d["b_index"] < cut.stop)
            a, b = a[keep_a], b[keep_b]
        if limit is not None:
            a, b = a[:limit], b[:limit]
        if len(a) == 0 or len(b) == 0:
            raise DataError(f"{cfg.name}: the {split} split has no images in domain {'A' if len(a) == 0 else 'B'} "
                            f"(the IDX files under {cfg.root or 'the gankit data cache'} lack its class).")  # fmt: skip
        return (b, a) if cfg.direction == "BtoA" else (a, b)

    def dataset(self, cfg: Any, split: str, limit: int | None, holdout: bool = False) -> TranslationDataset:
        a, b = self.split_domains(cfg, split, limit, holdout)
        pre = Preprocess.from_config(cfg)
        ca, cb = self.channels(cfg)
        da, db = ArrayDomain(a, pre, ca), ArrayDomain(b, pre, cb)
        s = self.domain_shapes(cfg)["a"][-1]
        return ArrayPairs(da, db, s) if self.paired else UnpairedDataset(da, db, (s, s))  # type: ignore[arg-type]

    def domain_shapes(self, cfg: Any) -> dict[str, tuple[int, ...]]:
        pre = Preprocess.from_config(cfg)
        s = pre.output_size(28, 28)[0]  # Fashion-MNIST is 28 x 28: every mode keeps it square
        ca, cb = self.channels(cfg)
        return {"a": (ca, s, s), "b": (cb, s, s)}

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> TranslationSource:  # fmt: skip
        ds = self.dataset(cfg, cfg.split, cfg.limit, holdout and cfg.split == "train")
        return TranslationSource(ds, batch_size, device, seed, 0, rank, world_size)

    def load_pairs(self, cfg: Any, split: str, limit: int | None) -> Pair:
        ds = self.dataset(cfg, split, limit)
        if self.paired:
            a, b = load_stack(ds, [(i, -1) for i in range(ds.num_items)])
            return a, b
        assert isinstance(ds, UnpairedDataset)
        return (torch.stack([ds.a.load(i, None) for i in range(len(ds.a))]),
                torch.stack([ds.b.load(i, None) for i in range(len(ds.b))]))  # fmt: skip


@SOURCES.register("fmnist-edges2items")
class Edges2Items(FashionTranslation):
    """Paired: Canny edges of a Fashion-MNIST item (A) -> the item (B)."""

    task = "fmnist-edges2items"


@SOURCES.register("fmnist-sandal2sneaker")
class Sandal2Sneaker(FashionTranslation):
    """Unpaired: Fashion-MNIST sandals (A) <-> sneakers (B)."""

    task = "fmnist-sandal2sneaker"
    paired = False


@SOURCES.register("fmnist-tshirt2shirt")
class Tshirt2Shirt(FashionTranslation):
    """Unpaired: Fashion-MNIST T-shirts/tops (A) <-> shirts (B)."""

    task = "fmnist-tshirt2shirt"
    paired = False
