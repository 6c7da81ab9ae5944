"""What image-to-image translation data is to the rest of gankit: batches of ``Batch.a`` / ``Batch.b``.

``a`` is the input domain and ``b`` the target (after ``data.direction``). A paired source (``aligned``,
``fmnist-edges2items``) gives each ``a`` its own ``b``; an unpaired one (``unaligned``, ``fmnist-sandal2sneaker``,
``fmnist-tshirt2shirt``) draws the two domains independently; ``single`` gives ``a`` alone (inference).

Exact resume works as for the other sources: each epoch's keys -- which item(s) each position shows and
the seed of its crop and flip -- are a pure function of (seed, epoch), so the data state is (epoch, pos).
A paired epoch is one permutation of the pairs (the same order a LoaderSource would give). An unpaired
epoch is as long as the larger domain (as in the repo); each domain gets its own permutation, and the
smaller one is cycled through fresh permutations until the epoch is full.

A future task reads the two shapes from :meth:`TranslationSpec.domain_shapes`; ``sample_shape`` is
``b``'s (what a generator outputs). Held-out images for metrics come from :func:`load_translation_pairs`.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ClassVar, Iterator, Literal, Sequence

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from gankit.core.batch import Batch
from gankit.data.base import SOURCES, DataSpec, check_label_switches, data_spec
from gankit.data.preprocess import Preprocess
from gankit.data.source import _check_layout, _ResumableMixin, _to_float, epoch_generator, rank_batches
from gankit.errors import DataError

Pair = tuple[torch.Tensor, torch.Tensor | None]


def item_seed(value: int) -> int | None:
    """A key's crop seed: negative means evaluation (center crop, no flip), i.e. None."""
    return None if value < 0 else int(value)


def paired_keys(n: int, seed: int, epoch: int) -> torch.Tensor:
    """(n, 2) int64 rows (item, crop seed): one permutation of the pairs."""
    g = epoch_generator(seed, epoch)
    perm = torch.randperm(n, generator=g)
    return torch.stack([perm, torch.randint(0, 1 << 62, (n,), generator=g)], 1)


def _cycled(n: int, length: int, g: torch.Generator) -> torch.Tensor:
    """``length`` indices of ``range(n)``: fresh permutations back to back (one alone when n == length)."""
    return torch.cat([torch.randperm(n, generator=g) for _ in range(math.ceil(length / n))])[:length]


def unpaired_keys(n_a: int, n_b: int, seed: int, epoch: int) -> torch.Tensor:
    """(max(n_a, n_b), 4) int64 rows (a item, b item, a crop seed, b crop seed), the domains independent."""
    g = epoch_generator(seed, epoch)
    n = max(n_a, n_b)
    ia, ib = _cycled(n_a, n, g), _cycled(n_b, n, g)
    seeds = torch.randint(0, 1 << 62, (n, 2), generator=g)
    return torch.cat([ia[:, None], ib[:, None], seeds], 1)


class TranslationDataset(Dataset):
    """Map-style: a key row of :meth:`epoch_keys` -> uint8 ``(a, b)`` (or ``a`` alone for ``single``, or
    ``(a, b, mask)`` for inpainting: mask uint8 (1, H, W) in {0, 1}, 1 = hole).

    Subclasses set ``num_items`` (the epoch length), ``shapes`` ({"a": (C, H, W), "b": ...}) and
    implement :meth:`epoch_keys` and :meth:`item`.
    """

    num_items: int
    shapes: dict[str, tuple[int, ...]]

    def __len__(self) -> int:
        return self.num_items

    def epoch_keys(self, seed: int, epoch: int) -> torch.Tensor:
        return paired_keys(self.num_items, seed, epoch)

    def item(self, key: Sequence[int]) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def __getitem__(self, key: Sequence[int]) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        return self.item(key)


class _KeySampler(Sampler[list[tuple[int, ...]]]):
    """This rank's batches of key rows for epoch ``epoch`` from batch ``start`` on (set before each iter)."""

    def __init__(self, dataset: TranslationDataset, batch_size: int, seed: int, rank: int, world_size: int) -> None:
        self.dataset, self.batch_size, self.seed, self.rank, self.world_size = dataset, batch_size, seed, rank, world_size
        self.batches_per_epoch = dataset.num_items // (batch_size * world_size)
        self.epoch = self.start = 0

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start

    def __iter__(self) -> Iterator[list[tuple[int, ...]]]:
        keys = self.dataset.epoch_keys(self.seed, self.epoch)
        rows = rank_batches(torch.arange(len(keys)), self.batch_size, self.rank, self.world_size)[self.start :]
        for r in rows:
            yield [tuple(k) for k in keys[r].tolist()]


class TranslationSource(_ResumableMixin):
    """Batches of ``a``/``b`` in [-1, 1] from a :class:`TranslationDataset`, resumable from (epoch, pos).

    Workers decode and preprocess uint8 images; the scaling to float happens on the device.
    """

    def __init__(self, dataset: TranslationDataset, batch_size: int, device: torch.device | str, seed: int,
                 num_workers: int = 0, rank: int = 0, world_size: int = 1) -> None:  # fmt: skip
        self.device = torch.device(device)
        self.dataset = dataset
        self.num_items = dataset.num_items
        self.batches_per_epoch = _check_layout(self.num_items, batch_size, rank, world_size)
        self.kind: Literal["image", "vector"] = "image"
        self.shapes = dict(dataset.shapes)
        self.sample_shape = self.shapes.get("b", self.shapes["a"])
        self.paired = bool(getattr(dataset, "paired", True))
        self.epoch = self.pos = 0
        self._pin = self.device.type == "cuda"
        self._sampler = _KeySampler(dataset, batch_size, seed, rank, world_size)
        self._loader = DataLoader(dataset, batch_sampler=self._sampler, num_workers=num_workers,
                                  persistent_workers=num_workers > 0, pin_memory=self._pin)  # fmt: skip
        self._it: Iterator[Any] | None = None

    def next_batch(self) -> Batch:
        batch = self._next_from_loader()
        parts = list(batch) if isinstance(batch, (tuple, list)) else [batch]
        a, b, mask = (parts + [None, None])[:3]
        move = lambda t: _to_float(t.to(self.device, non_blocking=self._pin))  # noqa: E731
        # A hole mask stays {0, 1} (1 = hole), as float on the device: it weighs and composites, it is no image.
        m = None if mask is None else mask.to(self.device, non_blocking=self._pin).float()
        return Batch(a=move(a), b=None if b is None else move(b), mask=m)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._set_state(state)
        self._it = None


def check_uniform(sizes: dict[Path, tuple[int, int]], pre: Preprocess, batch_size: int, where: str) -> tuple[int, int] | None:
    """The common output (w, h), or None when sizes vary; a DataError when they vary and batches hold more than one."""
    out = {p: pre.output_size(*s) for p, s in sizes.items()}
    distinct = sorted(set(out.values()))
    if len(distinct) <= 1:
        return distinct[0] if distinct else None
    if batch_size > 1:
        first = {}
        for p, s in out.items():
            first.setdefault(s, p)
        (s1, p1), (s2, p2) = list(first.items())[:2]
        raise DataError(
            f"{where}: data.preprocess {pre.mode!r} keeps each image's own size, and the images differ "
            f"({p1.name} becomes {s1[0]} x {s1[1]}, {p2.name} {s2[0]} x {s2[1]}); a batch of {batch_size} "
            f"needs one size: use train.batch_size 1 (as the repo does), or a cropping preprocess "
            f"(resize_and_crop, scale_width_and_crop, crop)."
        )
    return None


class TranslationSpec(DataSpec):
    """A translation data family: ``Batch.a``/``Batch.b`` rather than ``Batch.x``, no class labels."""

    paired: ClassVar[bool] = True
    #: What ``data.channels_a``/``channels_b`` mean when left at None.
    default_channels: ClassVar[int] = 3
    #: Batch fields this family fills.
    fields: ClassVar[tuple[str, ...]] = ("a", "b")

    def channels(self, cfg: Any) -> tuple[int, int]:
        """(channels of Batch.a, channels of Batch.b): the config's, else this family's default."""
        return cfg.channels_a or self.default_channels, cfg.channels_b or self.default_channels

    def domain_shapes(self, cfg: Any) -> dict[str, tuple[int, ...]]:
        """{"a": (C, S, S), "b": (C, S, S)} from the config alone (nominal for ``scale_width``/``none``)."""
        ca, cb = self.channels(cfg)
        shapes = {"a": (ca, cfg.image_size, cfg.image_size), "b": (cb, cfg.image_size, cfg.image_size)}
        return {k: v for k, v in shapes.items() if k in self.fields}

    def sample_shape(self, cfg: Any) -> tuple[int, ...]:
        shapes = self.domain_shapes(cfg)
        return shapes.get("b", shapes["a"])

    def load_pairs(self, cfg: Any, split: str, limit: int | None) -> Pair:
        """Held-out (a, b) uint8 (N, C, H, W), preprocessed without randomness (center crop, no flip)."""
        raise NotImplementedError

    def load_real(self, cfg: Any, split: str | None, limit: int | None, seed: int) -> torch.Tensor:
        """The target domain's images (what a generator should produce); ``a`` for ``single``."""
        a, b = self.load_pairs(cfg, split or cfg.split, limit if limit is not None else cfg.limit)
        return a if b is None else b

    def missing_labels(self, cfg: Any) -> str:
        return f"data.name {cfg.name!r} is image-to-image translation data (Batch.a / Batch.b) and has none"

    def checked(self, cfg: Any) -> Any:
        check_label_switches(self, cfg)
        return cfg


def load_stack(dataset: TranslationDataset, keys: Sequence[Sequence[int]]) -> list[torch.Tensor]:
    """Items of ``keys`` decoded in threads (PIL releases the GIL), stacked per field."""
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        items = list(pool.map(dataset.item, keys))
    if not items:
        return []
    if isinstance(items[0], torch.Tensor):
        return [torch.stack(items)]  # type: ignore[arg-type]
    return [torch.stack([it[j] for it in items]) for j in range(len(items[0]))]


def translation_spec(cfg: Any) -> TranslationSpec:
    """The spec of ``cfg.name`` (a ``DataConfig``), or a DataError when it is not translation data."""
    spec = data_spec(cfg.name)
    if not isinstance(spec, TranslationSpec):
        names = [n for n in SOURCES.names() if isinstance(data_spec(n), TranslationSpec)]
        raise DataError(f"data.name {cfg.name!r} has no A/B domains (image-to-image data is one of {', '.join(names)}).")
    return spec


def load_translation_pairs(cfg: Any, split: str = "test", limit: int | None = None) -> Pair:
    """Held-out images for evaluation: (a, b) uint8 (N, C, H, W) on CPU, direction applied.

    Paired sources: row i of ``a`` and ``b`` is one pair. Unpaired: each domain's own images of the
    split (N differs). ``single``: (inputs, None). Center crop, no flip; the same bytes every call.
    """
    return translation_spec(cfg).load_pairs(cfg, split, limit)


def domain_shapes(cfg: Any) -> dict[str, tuple[int, ...]]:
    """{"a": shape, "b": shape} of a translation source's items, from the config alone."""
    return translation_spec(cfg).domain_shapes(cfg)


def is_paired(cfg: Any) -> bool:
    """Whether ``Batch.a[i]`` and ``Batch.b[i]`` belong together (pix2pix) or not (CycleGAN)."""
    return translation_spec(cfg).paired


def load_inpaint_triples(cfg: Any, split: str = "test", limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Held-out inpainting items: (a masked, b full, mask) uint8 (N, C, H, W), (N, C, H, W), (N, 1, H, W).

    ``a`` is ``b`` with the hole (mask == 1) set to 128; the masks are fixed per item index, so every
    call (and every evaluated model) sees the same holes. A DataError for data without hole masks.
    """
    spec = translation_spec(cfg)
    load = getattr(spec, "load_masked", None)
    if load is None:
        raise DataError(f"data.name {cfg.name!r} has no hole masks; inpainting evaluation needs fmnist-inpaint.")
    return load(cfg, split, limit)
