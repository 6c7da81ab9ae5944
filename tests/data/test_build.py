from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import LoaderSource, TensorSource, build_source, load_real_images
from gankit.data.idx import write_idx
from gankit.errors import DataError


@pytest.mark.parametrize("name,gz", [("fashion-mnist", True), ("mnist", False)])
def test_idx_native_size(tmp_path: Path, make_idx_folder, name: str, gz: bool) -> None:
    data = make_idx_folder(tmp_path, n_train=20, n_test=9, gz=gz)
    cfg = DataConfig(name=name, root=str(tmp_path))
    src = build_source(cfg, batch_size=4, device="cpu", seed=0)
    assert isinstance(src, TensorSource)
    assert (src.kind, src.sample_shape, src.num_items) == ("image", (1, 28, 28), 20)
    batch = src.next_batch().x
    assert batch.shape == (4, 1, 28, 28) and batch.dtype == torch.float32
    images = torch.from_numpy(data["train"][0]).float() / 127.5 - 1
    for x in batch:  # every item is one of the file's images, scaled to [-1, 1]
        assert any(torch.equal(x[0], img) for img in images)
    real = load_real_images(cfg, split="test")
    assert real.dtype == torch.uint8 and torch.equal(real[:, 0], torch.from_numpy(data["test"][0]))


def test_idx_resized_to_rgb(tmp_path: Path, make_idx_folder) -> None:
    make_idx_folder(tmp_path, n_train=20)
    images = np.full((20, 28, 28), 200, np.uint8)
    images[:, :14] = 10
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    cfg = DataConfig(root=str(tmp_path), image_size=32, channels=3, limit=8)
    src = build_source(cfg, batch_size=4, device="cpu", seed=0)
    assert (src.sample_shape, src.num_items) == ((3, 32, 32), 8)
    batch = src.next_batch().x
    assert batch.shape == (4, 3, 32, 32)
    assert torch.equal(batch[:, 0], batch[:, 1]) and torch.equal(batch[:, 0], batch[:, 2])
    assert torch.all(batch[:, :, :10] == 10 / 127.5 - 1) and torch.all(batch[:, :, -10:] == 200 / 127.5 - 1)
    real = load_real_images(cfg)
    assert real.shape == (8, 3, 32, 32) and real.is_contiguous()
    assert torch.equal(real[:4].float() / 127.5 - 1, build_source(cfg, 8, "cpu", 0).data[:4].float() / 127.5 - 1)


def test_idx_missing_points_to_fetch(isolated_data: Path) -> None:
    with pytest.raises(DataError, match="gankit data fetch fashion-mnist"):
        build_source(DataConfig(), 4, "cpu", 0)


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_toy2d(name: str, k: int) -> None:
    cfg = DataConfig(name=name, n_points=200)
    src = build_source(cfg, batch_size=16, device="cpu", seed=7)
    assert (src.kind, src.sample_shape, src.num_items) == ("vector", (2,), 200)
    assert src.next_batch().x.shape == (16, 2)
    points = load_real_images(cfg, seed=7)
    assert points.dtype == torch.float32 and torch.equal(points, src.data)
    assert not torch.equal(points, load_real_images(cfg, seed=8))
    assert len(load_real_images(cfg, limit=50)) == 50
    assert build_source(cfg.model_copy(update={"limit": 32}), 16, "cpu", 7).num_items == 32


def test_folder(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (20, 24, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    cfg = DataConfig(name="folder", root=str(tmp_path), image_size=16, channels=3, num_workers=0)
    src = build_source(cfg, batch_size=2, device="cpu", seed=0)
    assert isinstance(src, LoaderSource) and (src.kind, src.sample_shape, src.num_items) == ("image", (3, 16, 16), 6)
    batch = src.next_batch().x
    assert batch.shape == (2, 3, 16, 16) and batch.min() >= -1 and batch.max() <= 1
    real = load_real_images(cfg, limit=4)
    assert real.shape == (4, 3, 16, 16) and real.dtype == torch.uint8
    with pytest.raises(DataError, match="needs data.root"):
        build_source(DataConfig(name="folder"), 2, "cpu", 0)
