"""Built-in restoration tasks from Fashion-MNIST, so SRGAN, inpainting and StarGAN train offline.

- ``fmnist-sr2x`` / ``fmnist-sr4x`` (paired): ``a`` = the item bicubic-downsampled to 1 x 14 x 14 / 1 x 7 x 7,
  ``b`` = the item, 1 x 28 x 28. The bicubic implementation follows ``data.degradation``
  (:mod:`gankit.data.degrade`): under ``mixed`` each training item's seed picks PIL, OpenCV or torch
  (fresh every epoch), and held-out item ``i`` uses ``KERNELS[i % 3]``. A pair is flipped horizontally
  as one unless ``data.no_flip`` (the flipped low-res image is the mirror of the stored one; for PIL and
  OpenCV that is bit-identical to downsampling the mirrored item, for torch within one grey level).
  The low-res images of all three kernels take about 2 s per 60,000 items to make, so they are cached:
  ``$GANKIT_CACHE/translation/`` (else ``~/.cache/gankit/translation/``), one safetensors file per (task,
  IDX file), keyed by the IDX file's SHA-256 and the Pillow / OpenCV / torch versions, written atomically;
  a corrupt or mismatching entry is remade.
- ``fmnist-inpaint`` (paired, with a mask): ``b`` = the item, ``mask`` = a hole (:mod:`gankit.data.masks`,
  kind ``data.mask``), ``a`` = ``b`` with the hole set to 128 (about 0.0 in [-1, 1]). Training holes come
  from the item's seed (fresh every epoch, resumed exactly); held-out item ``i`` always gets the mask of
  seed ``i``. ``image_size`` / ``load_size`` / ``no_flip`` work as for ``fmnist-edges2items``; the hole is
  drawn at the output size. Masks cost about 0.2 ms each and are made on the fly (nothing cached).
- ``fmnist-domains``: Fashion-MNIST as labelled images (``Batch.x``, ``Batch.c``): StarGAN's ten domains
  are its ten classes. Everything (splits, ``data.classes``, references) is ``fashion-mnist``'s.

Splits as for the other built-in tasks: train from the IDX training file (``val`` its last 5,000), test
from the test file. ``data.root`` is the Fashion-MNIST IDX folder (None: the gankit data cache).
"""

from __future__ import annotations

import hashlib
import json
import random
import warnings
from typing import Any, Callable, ClassVar, Sequence

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from gankit.data.base import SOURCES
from gankit.data.datasets import FashionMNIST, idx_split
from gankit.data.degrade import KERNELS, check_degradation, downsample, kernel_for
from gankit.data.fetch import dataset_spec, find_dataset
from gankit.data.idx import _pick, read_idx
from gankit.data.masks import check_mask_kind, mask_for
from gankit.data.preprocess import Preprocess
from gankit.data.splits import split_slice
from gankit.data.translate_builtin import ArrayDomain, FashionTranslation, cache_dir, file_sha256
from gankit.data.translation import Pair, TranslationDataset, TranslationSpec, item_seed, load_stack, translation_spec
from gankit.errors import ConfigError, DataError
from gankit.utils.io import atomic_path

VERSION = 1  # bump when what a task generates changes: old cache entries are then never read
SR_TASKS = {"fmnist-sr2x": 2, "fmnist-sr4x": 4}
#: What a hole's pixels hold in ``Batch.a`` (uint8; 128 / 127.5 - 1 = 0.004 in [-1, 1]).
HOLE_FILL = 128


def restoration_channels(cfg: Any, default: int) -> int:
    """The one channel count of a restoration pair: input and target are the same image, degraded or not."""
    ca, cb = cfg.channels_a, cfg.channels_b
    if ca and cb and ca != cb:
        raise ConfigError(f"data.name {cfg.name!r} restores an image in its own channels, but data.channels_a {ca} and "
                          f"channels_b {cb} differ; set one of them (or neither: {default}).")  # fmt: skip
    return ca or cb or default


def check_forward(cfg: Any) -> None:
    if cfg.direction != "AtoB":
        raise ConfigError(f"data.direction {cfg.direction}: {cfg.name} pairs a degraded input (a) with its original (b); "
                          f"the other way round is no restoration. Leave data.direction AtoB.")  # fmt: skip


class SuperResolution(TranslationSpec):
    """What every super-resolution source shares: ``a`` = low-res (C, S/s, S/s), ``b`` = high-res (C, S, S),
    one channel count, ``AtoB`` only, ``data.scale`` checked. ``load_pairs`` gives (lr, hr) uint8."""

    #: The scale this source has when ``data.scale`` is None (None: the option is required).
    default_scale: ClassVar[int | None] = None
    #: The one scale this source allows (the fmnist tasks), else None.
    fixed_scale: ClassVar[int | None] = None

    def sr_scale(self, cfg: Any) -> int:
        """The upscaling factor: ``b``'s side over ``a``'s."""
        if self.fixed_scale is not None:
            if cfg.scale not in (None, self.fixed_scale):
                other = {v: k for k, v in SR_TASKS.items()}.get(cfg.scale)
                hint = f"use data.name {other}" if other else "use sr_folder for other factors"
                raise ConfigError(f"data.scale {cfg.scale}: {cfg.name} upscales by {self.fixed_scale}; {hint}, or leave data.scale null.")
            return self.fixed_scale
        scale = cfg.scale or self.default_scale
        if scale is None:
            raise ConfigError(f"data.name {cfg.name!r} needs data.scale (2, 3 or 4): the low-resolution inputs are the "
                              f"images downsampled by that factor.")  # fmt: skip
        return int(scale)

    def hr_size(self, cfg: Any) -> int:
        """The side of ``b`` (high-res crops of ``data.image_size``)."""
        return cfg.image_size

    def channels(self, cfg: Any) -> tuple[int, int]:
        c = restoration_channels(cfg, self.default_channels)
        return c, c

    def checked(self, cfg: Any) -> Any:
        super().checked(cfg)
        check_forward(cfg)
        check_degradation(cfg.degradation)
        scale, size = self.sr_scale(cfg), self.hr_size(cfg)
        if size % scale:
            near = max(scale, size // scale * scale)
            raise ConfigError(f"data.image_size {size} does not divide by data.scale {scale}: the low-resolution image "
                              f"would not be exactly 1/{scale} of it; use image_size {near} (or {near + scale}).")  # fmt: skip
        return cfg

    def domain_shapes(self, cfg: Any) -> dict[str, tuple[int, ...]]:
        self.checked(cfg)
        c, _ = self.channels(cfg)
        s, size = self.sr_scale(cfg), self.hr_size(cfg)
        return {"a": (c, size // s, size // s), "b": (c, size, size)}


def sr_scale(cfg: Any) -> int:
    """The upscaling factor of a super-resolution source's config (``fmnist-sr2x``: 2, ...); ConfigError otherwise."""
    spec = translation_spec(cfg)
    if not isinstance(spec, SuperResolution):
        raise ConfigError(f"data.name {cfg.name!r} is no super-resolution data (fmnist-sr2x, fmnist-sr4x, sr_folder, skimage-photos).")
    return spec.sr_scale(cfg)


def cached(name: str, fields: dict[str, Any], make: Callable[[], dict[str, torch.Tensor]], *,
           cache: bool = True) -> dict[str, torch.Tensor]:  # fmt: skip
    """``make()``'s tensors, stored under the translation cache keyed by ``fields`` (atomic; a bad entry is remade)."""
    key = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:24]
    path = cache_dir() / f"{name}-{key}.safetensors"
    if cache and path.is_file():
        try:
            with safe_open(str(path), framework="pt") as f:
                if json.loads((f.metadata() or {}).get("fields", "null")) == fields:
                    return {k: f.get_tensor(k) for k in f.keys()}
        except (OSError, SafetensorError, ValueError, KeyError):
            pass
    out = make()
    if cache:
        try:
            with atomic_path(path) as tmp:
                save_file({k: v.contiguous() for k, v in out.items()}, str(tmp), metadata={"fields": json.dumps(fields, sort_keys=True)})
        except OSError as e:
            warnings.warn(f"cannot write the translation cache {path} ({e}); set GANKIT_CACHE to a writable folder", stacklevel=2)
    return out


def fmnist_sr_arrays(scale: int, root: Any, file: str, *, cache: bool = True) -> dict[str, torch.Tensor]:
    """``hr`` uint8 (N, 28, 28) of IDX file ``train``/``test`` and ``lr_<kernel>`` (N, 28/s, 28/s) for each kernel."""
    import cv2
    import PIL

    spec = dataset_spec("fashion-mnist")
    img_path = _pick(find_dataset("fashion-mnist", root, split=file), spec.split_files(file)[0])
    images = read_idx(img_path)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise DataError(f"{img_path}: expected Fashion-MNIST's uint8 images (N, 28, 28), got {images.dtype} {images.shape}.")
    hr = torch.from_numpy(images.copy())
    fields = {"task": f"fmnist-sr{scale}x", "version": VERSION, "file": file, "images_sha256": file_sha256(img_path),
              "scale": scale, "pillow": PIL.__version__, "opencv": cv2.__version__, "torch": torch.__version__}  # fmt: skip

    def make() -> dict[str, torch.Tensor]:
        return {f"lr_{k}": downsample(hr[:, None], scale, k)[:, 0] for k in KERNELS}

    lrs = cached(f"fmnist-sr{scale}x-{file}", fields, make, cache=cache)
    if any(lrs.get(f"lr_{k}") is None or len(lrs[f"lr_{k}"]) != len(hr) for k in KERNELS):
        lrs = make()
    return {"hr": hr, **lrs}


class SRArrayPairs(TranslationDataset):
    """In-memory SR pairs: key (index, seed) -> uint8 (lr, hr), the kernel from :func:`kernel_for`."""

    paired = True

    def __init__(self, hr: torch.Tensor, lrs: dict[str, torch.Tensor], degradation: str, channels: int, flip: bool) -> None:
        self.hr, self.lrs, self.degradation, self.c, self.flip = hr, lrs, degradation, channels, flip
        self.num_items = len(hr)
        lr = lrs[KERNELS[0]]
        self.shapes = {"a": (channels, *lr.shape[-2:]), "b": (channels, *hr.shape[-2:])}

    def item(self, key: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        i, seed = int(key[0]), item_seed(key[1])
        a, b = self.lrs[kernel_for(seed, i, self.degradation)][i], self.hr[i]
        if seed is not None and self.flip and random.Random(seed).random() < 0.5:
            a, b = a.flip(-1), b.flip(-1)
        return a[None].expand(self.c, -1, -1).contiguous(), b[None].expand(self.c, -1, -1).contiguous()


class FashionSR(SuperResolution, FashionTranslation):
    """A built-in Fashion-MNIST super-resolution task (module docstring): 28 x 28 targets, fixed scale."""

    def hr_size(self, cfg: Any) -> int:
        return 28

    def checked(self, cfg: Any) -> Any:
        if cfg.image_size != 28 or cfg.load_size not in (None, 28):
            raise ConfigError(f"{cfg.name}'s targets are Fashion-MNIST's 28 x 28 items: leave data.image_size 28 and "
                              f"data.load_size null (got {cfg.image_size} and {cfg.load_size}).")  # fmt: skip
        return super().checked(cfg)

    def dataset(self, cfg: Any, split: str, limit: int | None, holdout: bool = False) -> TranslationDataset:
        self.checked(cfg)
        d = fmnist_sr_arrays(self.sr_scale(cfg), cfg.root, _file_of(split))
        hr, lrs = d["hr"], {k: d[f"lr_{k}"] for k in KERNELS}
        if split != "test":
            cut = split_slice(split, len(hr), holdout)
            hr, lrs = hr[cut], {k: v[cut] for k, v in lrs.items()}
        if limit is not None:
            hr, lrs = hr[:limit], {k: v[:limit] for k, v in lrs.items()}
        return SRArrayPairs(hr, lrs, cfg.degradation, self.channels(cfg)[0], not cfg.no_flip)


def _file_of(split: str) -> str:
    if split not in ("train", "val", "test"):
        raise DataError(f"split {split!r}: expected train, val or test.")
    return "test" if split == "test" else "train"


@SOURCES.register("fmnist-sr2x")
class FashionSR2x(FashionSR):
    """Paired: a Fashion-MNIST item bicubic-downsampled to 14 x 14 (A) -> the 28 x 28 item (B)."""

    task = "fmnist-sr2x"
    fixed_scale = 2


@SOURCES.register("fmnist-sr4x")
class FashionSR4x(FashionSR):
    """Paired: a Fashion-MNIST item bicubic-downsampled to 7 x 7 (A) -> the 28 x 28 item (B)."""

    task = "fmnist-sr4x"
    fixed_scale = 4


class MaskedPairs(TranslationDataset):
    """Key (index, seed) -> uint8 (a with the hole at 128, b, mask (1, S, S)); one crop and flip for a and b."""

    paired = True

    def __init__(self, domain: ArrayDomain, size: int, kind: str) -> None:
        self.domain, self.size, self.kind, self.num_items = domain, size, kind, len(domain)
        self.shapes = {"a": (domain.channels, size, size), "b": (domain.channels, size, size)}

    def item(self, key: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        i, seed = int(key[0]), item_seed(key[1])
        img = self.domain.image(i)
        b = self.domain.transform(img, self.domain.pre.draw(*img.size, seed))
        mask = torch.from_numpy(mask_for(self.kind, i if seed is None else seed, *b.shape[-2:]))[None]
        return b.masked_fill(mask.bool(), HOLE_FILL), b, mask


@SOURCES.register("fmnist-inpaint")
class FashionInpaint(FashionTranslation):
    """Paired with a mask: a Fashion-MNIST item with a hole at 128 (A) -> the item (B); ``Batch.mask`` the hole."""

    task = "fmnist-inpaint"
    fields = ("a", "b", "mask")

    def channels(self, cfg: Any) -> tuple[int, int]:
        c = restoration_channels(cfg, self.default_channels)
        return c, c

    def checked(self, cfg: Any) -> Any:
        super().checked(cfg)
        check_forward(cfg)
        check_mask_kind(cfg.mask)
        return cfg

    def dataset(self, cfg: Any, split: str, limit: int | None, holdout: bool = False) -> TranslationDataset:
        self.checked(cfg)
        images, _ = idx_split(cfg.model_copy(update={"name": "fashion-mnist"}), split, limit, holdout)
        if len(images) == 0:
            raise DataError(f"{cfg.name}: the {split} split has no images.")
        c = self.channels(cfg)[0]
        domain = ArrayDomain(torch.from_numpy(images.copy()), Preprocess.from_config(cfg), c)
        return MaskedPairs(domain, self.domain_shapes(cfg)["b"][-1], cfg.mask)

    def load_masked(self, cfg: Any, split: str, limit: int | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Held-out (a, b, mask) uint8: centre crop, no flip, the mask of seed ``i`` for item ``i``."""
        ds = self.dataset(cfg, split, limit)
        a, b, mask = load_stack(ds, [(i, -1) for i in range(ds.num_items)])
        return a, b, mask

    def load_pairs(self, cfg: Any, split: str, limit: int | None) -> Pair:
        a, b, _ = self.load_masked(cfg, split, limit)
        return a, b


@SOURCES.register("fmnist-domains")
class FashionDomains(FashionMNIST):
    """StarGAN's domains: Fashion-MNIST's ten classes as labelled images (``Batch.x``, ``Batch.c``)."""

    @staticmethod
    def _idx(cfg: Any) -> Any:
        return cfg.model_copy(update={"name": "fashion-mnist"})  # the IDX files and references are fashion-mnist's

    def build_source(self, cfg: Any, batch_size: int, device: torch.device, seed: int, rank: int, world_size: int,
                     holdout: bool) -> Any:  # fmt: skip
        return super().build_source(self._idx(cfg), batch_size, device, seed, rank, world_size, holdout)

    def load_real_labeled(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        return super().load_real_labeled(self._idx(cfg), split, limit, seed)

    def reference(self, cfg: Any, split: str) -> str | None:
        return super().reference(self._idx(cfg), split)
