from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset

from gankit.data.folder import ImageFolderDataset
from gankit.data.source import DataSource, LoaderSource, TensorSource
from gankit.errors import DataError


class RowDataset(Dataset):
    """Row i is the float vector [i]: batches reveal exactly which indices were drawn."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.calls = 0

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> torch.Tensor:
        self.calls += 1
        return torch.tensor([float(i)])


def _take(src, k: int) -> list[torch.Tensor]:
    return [src.next_batch().x for _ in range(k)]


def _check_resume(make, split: int, total: int = 7) -> None:
    straight = _take(make(), total)
    first = make()
    resumed_head = _take(first, split)
    state = first.state_dict()
    json.dumps(state)
    assert set(state) == {"epoch", "pos"} and all(type(v) is int for v in state.values())
    second = make()
    second.load_state_dict(state)
    got = resumed_head + _take(second, total - split)
    assert all(torch.equal(a, b) for a, b in zip(straight, got, strict=True))


def test_tensor_source_images_resume_across_epoch() -> None:
    data = torch.randint(0, 256, (50, 1, 4, 4), dtype=torch.uint8)  # 6 batches of 8 per epoch
    make = lambda: TensorSource(data, 8, "cpu", seed=5)  # noqa: E731
    _check_resume(make, 3)  # 3 + 4 crosses into epoch 1
    _check_resume(make, 6)  # resume exactly at the epoch boundary
    src = make()
    assert isinstance(src, DataSource)
    assert (src.kind, src.sample_shape, src.num_items) == ("image", (1, 4, 4), 50)
    _take(src, 7)
    assert src.state_dict() == {"epoch": 1, "pos": 1}


def test_tensor_source_scaling_and_epoch_coverage() -> None:
    values = torch.arange(48, dtype=torch.uint8)
    data = values.view(48, 1, 1, 1).expand(48, 1, 2, 2)
    src = TensorSource(data, 16, "cpu", seed=0)
    epochs = []
    for _ in range(2):
        xs = torch.cat(_take(src, 3))
        assert xs.dtype == torch.float32 and xs.min() == -1 and xs.max() <= 1
        ids = ((xs[:, 0, 0, 0] + 1) * 127.5).round().long()
        assert torch.equal(xs[:, :, 1, 1], ids.float().view(-1, 1) / 127.5 - 1)
        assert sorted(ids.tolist()) == list(range(48))  # a permutation of all items
        epochs.append(ids)
    assert not torch.equal(epochs[0], epochs[1])  # a new order each epoch
    again = TensorSource(data, 16, "cpu", seed=0)
    assert torch.equal(torch.cat(_take(again, 3))[:, 0, 0, 0], ((epochs[0].float() / 127.5) - 1))
    other = TensorSource(data, 16, "cpu", seed=1)
    assert not torch.equal(torch.cat(_take(other, 3))[:, 0, 0, 0], ((epochs[0].float() / 127.5) - 1))


def test_vectors_used_as_is_and_drop_last() -> None:
    data = torch.randn(30, 2)
    src = TensorSource(data, 7, "cpu", seed=0)  # 4 batches; 2 items dropped each epoch
    assert (src.kind, src.sample_shape) == ("vector", (2,))
    batch = src.next_batch().x
    assert batch.dtype == torch.float32 and any(torch.equal(batch[0], row) for row in data)
    _take(src, 3)
    assert src.state_dict() == {"epoch": 1, "pos": 0}


@pytest.mark.parametrize("world_size", [2, 3])
def test_rank_slices_are_disjoint_and_cover_the_global_batch(world_size: int) -> None:
    data = torch.arange(60, dtype=torch.float32).view(60, 1)
    single = TensorSource(data, 4 * world_size, "cpu", seed=9)
    ranks = [TensorSource(data, 4, "cpu", seed=9, rank=r, world_size=world_size) for r in range(world_size)]
    for _ in range(6):  # crosses an epoch
        parts = [src.next_batch().x.flatten().tolist() for src in ranks]
        flat = [i for p in parts for i in p]
        assert len(set(flat)) == len(flat) == 4 * world_size
        assert flat == single.next_batch().x.flatten().tolist()


def test_too_small_dataset() -> None:
    with pytest.raises(DataError, match="10 items, fewer than one global batch of 16.*train.batch_size"):
        TensorSource(torch.zeros(10, 2), 8, "cpu", seed=0, world_size=2)
    with pytest.raises(DataError, match="3 items"):
        LoaderSource(RowDataset(3), 4, "cpu", seed=0, num_workers=0)


def test_bad_state() -> None:
    src = TensorSource(torch.zeros(10, 2), 5, "cpu", seed=0)
    with pytest.raises(DataError, match="pos=2 does not fit 2 batches"):
        src.load_state_dict({"epoch": 0, "pos": 2})
    with pytest.raises(DataError, match="not a checkpoint"):
        src.load_state_dict({"step": 3})


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_source_resume_and_matches_tensor_source(num_workers: int) -> None:
    make = lambda: LoaderSource(RowDataset(50), 8, "cpu", seed=3, num_workers=num_workers)  # noqa: E731
    _check_resume(make, 3)
    loader = make()
    assert (loader.kind, loader.sample_shape, loader.num_items) == ("vector", (1,), 50)
    tensor = TensorSource(torch.arange(50, dtype=torch.float32).view(50, 1), 8, "cpu", seed=3)
    for _ in range(8):
        assert torch.equal(loader.next_batch().x, tensor.next_batch().x)


@pytest.mark.parametrize("num_workers", [0, 2])
def test_loader_rewind_while_running(num_workers: int) -> None:
    src = LoaderSource(RowDataset(40), 4, "cpu", seed=2, num_workers=num_workers)
    straight = _take(src, 12)  # 10 batches per epoch
    src.load_state_dict({"epoch": 0, "pos": 4})  # prefetched batches of the live iterator are dropped
    assert all(torch.equal(a, b) for a, b in zip(_take(src, 8), straight[4:12], strict=True))


def test_loader_resume_does_not_decode_skipped_batches() -> None:
    ds = RowDataset(40)
    src = LoaderSource(ds, 4, "cpu", seed=0, num_workers=0)
    ds.calls = 0  # construction reads one item for the sample shape
    src.load_state_dict({"epoch": 2, "pos": 7})
    src.next_batch().x
    assert ds.calls == 4 and src.state_dict() == {"epoch": 2, "pos": 8}


def test_loader_rank_slicing() -> None:
    a = LoaderSource(RowDataset(40), 4, "cpu", seed=1, num_workers=0, rank=0, world_size=2)
    b = LoaderSource(RowDataset(40), 4, "cpu", seed=1, num_workers=0, rank=1, world_size=2)
    for _ in range(5):
        assert not set(a.next_batch().x.flatten().tolist()) & set(b.next_batch().x.flatten().tolist())


def test_loader_random_crops_survive_resume(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(10):
        Image.fromarray(rng.integers(0, 255, (12, 16, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    ds = ImageFolderDataset(tmp_path, 8, 3, crop="random")
    make = lambda: LoaderSource(ds, 4, "cpu", seed=0, num_workers=0)  # noqa: E731
    _check_resume(make, 3)  # 2 batches/epoch: crosses epochs; crops differ per epoch yet replay exactly
    assert make().sample_shape == (3, 8, 8)
