"""Batches for the trainer, resumable exactly from two ints (epoch, pos).

An epoch's order is a pure function of (seed, epoch), so a checkpoint needs no RNG state: the
resumed source recomputes the permutation and continues at batch ``pos``. Under DDP every rank
computes the same permutation and takes its own slice of each global batch. With per-item
``weights`` (class balancing) the epoch is ``num_items`` draws with replacement from the same
generator instead of a permutation: still a pure function of (seed, epoch).
"""

from __future__ import annotations

from typing import Any, Iterator, Literal, Protocol, runtime_checkable

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from gankit.core.batch import Batch
from gankit.errors import DataError


@runtime_checkable
class DataSource(Protocol):
    kind: Literal["image", "vector"]
    sample_shape: tuple[int, ...]
    num_items: int

    def next_batch(self) -> Batch: ...
    def state_dict(self) -> dict[str, int]: ...
    def load_state_dict(self, state: dict[str, int]) -> None: ...


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) % (1 << 64))


def check_weights(weights: torch.Tensor | None, num_items: int) -> torch.Tensor | None:
    """Per-item sampling weights as float64 on CPU, or a DataError saying what is wrong with them."""
    if weights is None:
        return None
    if num_items > 1 << 24:  # torch.multinomial's limit on categories
        raise DataError(f"weighted sampling (data.balance) handles at most {1 << 24:,} items; this dataset has {num_items:,}.")
    w = weights.detach().to("cpu", torch.float64)
    if w.shape != (num_items,) or not torch.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise DataError(
            f"sampling weights must be {num_items} finite values >= 0, not all 0 (one per item); "
            f"got shape {tuple(w.shape)}."
        )
    return w


def epoch_indices(num_items: int, generator: torch.Generator, weights: torch.Tensor | None) -> torch.Tensor:
    """The epoch's item order: a permutation, or ``num_items`` weighted draws with replacement."""
    if weights is None:
        return torch.randperm(num_items, generator=generator)
    return torch.multinomial(weights, num_items, replacement=True, generator=generator)


def rank_batches(perm: torch.Tensor, batch_size: int, rank: int, world_size: int) -> torch.Tensor:
    """(batches, batch_size) rows of ``perm`` for ``rank``; the incomplete tail is dropped."""
    global_batch = batch_size * world_size
    nb = len(perm) // global_batch
    return perm[: nb * global_batch].view(nb, world_size, batch_size)[:, rank].contiguous()


def _check_layout(num_items: int, batch_size: int, rank: int, world_size: int) -> int:
    if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"bad batch layout: batch_size={batch_size}, rank={rank}, world_size={world_size}")
    global_batch = batch_size * world_size
    if num_items < global_batch:
        raise DataError(
            f"the dataset has {num_items} items, fewer than one global batch of {global_batch} "
            f"(train.batch_size {batch_size} x {world_size} device(s)); lower train.batch_size or "
            f"raise data.limit / data.n_points."
        )
    return num_items // global_batch


def _to_float(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(127.5).sub_(1.0) if x.dtype == torch.uint8 else x


class _ResumableMixin:
    epoch: int
    pos: int
    batches_per_epoch: int

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "pos": self.pos}

    def _set_state(self, state: dict[str, int]) -> None:
        try:
            epoch, pos = int(state["epoch"]), int(state["pos"])
        except (KeyError, TypeError, ValueError):
            raise DataError(f"data state {state!r} is not a checkpoint's {{'epoch', 'pos'}}.") from None
        if epoch < 0 or not 0 <= pos < self.batches_per_epoch:
            raise DataError(
                f"data state epoch={epoch}, pos={pos} does not fit {self.batches_per_epoch} batches per epoch; "
                f"the dataset, data.limit or batch size changed since the checkpoint was written."
            )
        self.epoch, self.pos = epoch, pos

    def _advance(self) -> None:
        self.pos += 1
        if self.pos == self.batches_per_epoch:
            self.epoch, self.pos = self.epoch + 1, 0

    def _next_from_loader(self) -> Any:
        """The loader's next batch, its iterator (re)started at (epoch, pos): a sampler that resumes by position."""
        if self._it is None:
            self._sampler.epoch, self._sampler.start = self.epoch, self.pos
            self._it = iter(self._loader)
        batch = next(self._it)
        self._advance()
        if self.pos == 0:
            self._it = None  # epoch done; the next call starts the next epoch's order
        return batch


class TensorSource(_ResumableMixin):
    """The whole dataset as one tensor on the training device, batched by index.

    uint8 images stay uint8 (4x less memory) and are scaled to [-1, 1] per batch; float data
    is used as-is. No DataLoader: one gather per batch is the fastest path on CPU.
    """

    def __init__(
        self,
        data: torch.Tensor,
        batch_size: int,
        device: torch.device | str,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
        labels: torch.Tensor | None = None,
        weights: torch.Tensor | None = None,
    ) -> None:
        if data.ndim not in (2, 4):
            raise DataError(f"expected images (N, C, H, W) or points (N, D), got a tensor of shape {tuple(data.shape)}.")
        self.device = torch.device(device)
        self.data = data.to(self.device)
        if labels is not None and len(labels) != len(data):
            raise DataError(f"{len(labels)} labels for {len(data)} items: each item needs exactly one label.")
        self.labels = labels.long().to(self.device) if labels is not None else None
        self.kind: Literal["image", "vector"] = "image" if data.ndim == 4 else "vector"
        self.sample_shape = tuple(int(s) for s in data.shape[1:])
        self.num_items = int(data.shape[0])
        self.batch_size, self.seed, self.rank, self.world_size = batch_size, seed, rank, world_size
        self.batches_per_epoch = _check_layout(self.num_items, batch_size, rank, world_size)
        self.weights = check_weights(weights, self.num_items)
        self.epoch = self.pos = 0
        self._order: torch.Tensor | None = None
        self._order_epoch = -1

    def _epoch_order(self) -> torch.Tensor:
        if self._order_epoch != self.epoch:
            perm = epoch_indices(self.num_items, epoch_generator(self.seed, self.epoch), self.weights)
            self._order = rank_batches(perm, self.batch_size, self.rank, self.world_size).to(self.device)
            self._order_epoch = self.epoch
        assert self._order is not None
        return self._order

    def next_batch(self) -> Batch:
        idx = self._epoch_order()[self.pos]
        self._advance()
        x = self.data.index_select(0, idx)
        c = self.labels.index_select(0, idx) if self.labels is not None else None
        return Batch(x=_to_float(x), c=c)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._set_state(state)


class _EpochBatchSampler(Sampler[list[Any]]):
    """Yields this rank's batches of epoch ``epoch`` from batch ``start`` on (set before each iter)."""

    def __init__(self, n: int, batch_size: int, seed: int, rank: int, world_size: int, with_seeds: bool,
                 weights: torch.Tensor | None = None) -> None:  # fmt: skip
        self.n, self.batch_size, self.seed = n, batch_size, seed
        self.rank, self.world_size, self.with_seeds, self.weights = rank, world_size, with_seeds, weights
        self.batches_per_epoch = n // (batch_size * world_size)
        self.epoch = self.start = 0

    def __len__(self) -> int:
        return self.batches_per_epoch - self.start

    def __iter__(self) -> Iterator[list[Any]]:
        g = epoch_generator(self.seed, self.epoch)
        perm = epoch_indices(self.n, g, self.weights)  # drawn first: same order as TensorSource
        order = rank_batches(perm, self.batch_size, self.rank, self.world_size)[self.start :]
        if not self.with_seeds:
            yield from order.tolist()
            return
        seeds = torch.randint(0, 1 << 62, (self.n,), generator=g)  # per-position crop seeds
        seed_rows = rank_batches(seeds, self.batch_size, self.rank, self.world_size)[self.start :]
        for idx, sd in zip(order.tolist(), seed_rows.tolist()):
            yield list(zip(idx, sd))


class LoaderSource(_ResumableMixin):
    """A DataLoader over a map-style dataset (image folders), with the same resumable order.

    Resuming slices the epoch's index list at ``pos``; skipped batches are never decoded. A
    dataset that returns ``(x, label)`` fills ``Batch.c``.
    """

    def __init__(
        self,
        dataset: Dataset,
        batch_size: int,
        device: torch.device | str,
        seed: int,
        num_workers: int,
        rank: int = 0,
        world_size: int = 1,
        weights: torch.Tensor | None = None,
    ) -> None:
        self.device = torch.device(device)
        self.num_items = len(dataset)  # type: ignore[arg-type]
        self.batches_per_epoch = _check_layout(self.num_items, batch_size, rank, world_size)
        self.kind: Literal["image", "vector"] = "image"
        shape = getattr(dataset, "sample_shape", None)
        if shape is None:
            first = dataset[0]
            shape = (first[0] if isinstance(first, (tuple, list)) else first).shape
        self.sample_shape = tuple(int(s) for s in shape)
        if len(self.sample_shape) == 1:
            self.kind = "vector"
        self.epoch = self.pos = 0
        self._pin = self.device.type == "cuda"
        self.weights = check_weights(weights, self.num_items)
        self._sampler = _EpochBatchSampler(
            self.num_items, batch_size, seed, rank, world_size, getattr(dataset, "takes_sample_seed", False), self.weights
        )
        self._loader = DataLoader(
            dataset,
            batch_sampler=self._sampler,
            num_workers=num_workers,
            persistent_workers=num_workers > 0,
            pin_memory=self._pin,
            generator=torch.Generator().manual_seed(seed % (1 << 63)),
        )
        self._it: Iterator[Any] | None = None

    def next_batch(self) -> Batch:
        batch = self._next_from_loader()
        c = None
        if isinstance(batch, (tuple, list)):
            batch, c = batch[0], (batch[1].to(self.device, non_blocking=self._pin).long() if len(batch) > 1 else None)
        return Batch(x=_to_float(batch.to(self.device, non_blocking=self._pin)), c=c)

    def load_state_dict(self, state: dict[str, int]) -> None:
        self._set_state(state)
        self._it = None
