"""Super-resolution from a folder of high-res images (sr_folder) and from scikit-image's photographs."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import build_source, data_spec, domain_shapes, load_translation_pairs, sr_scale
from gankit.data.degrade import KERNELS, downsample
from gankit.errors import ConfigError, DataError


def _write(folder: Path, n: int, seed: int = 0, size: tuple[int, int] = (40, 34)) -> list[np.ndarray]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        im = rng.integers(0, 256, (size[1] + i % 3, size[0] + i, 3), dtype=np.uint8)
        Image.fromarray(im).save(folder / f"img{i:02d}.png")
        out.append(im)
    return out


def _find(img: np.ndarray, crop: np.ndarray) -> tuple[int, int, bool]:
    """Where (x, y, flipped) a crop (H, W, C) lies in an image: the training crop must be a real crop."""
    s = crop.shape[0]
    for flip in (False, True):
        c = crop[:, ::-1] if flip else crop
        for y in range(img.shape[0] - s + 1):
            for x in range(img.shape[1] - s + 1):
                if np.array_equal(img[y : y + s, x : x + s], c):
                    return x, y, flip
    raise AssertionError("not a crop of the image")


def test_flat_folder_splits_and_items(tmp_path: Path) -> None:
    images = _write(tmp_path / "hr", 12)
    cfg = DataConfig(name="sr_folder", root=str(tmp_path / "hr"), image_size=32, scale=4)
    spec = data_spec("sr_folder")
    assert domain_shapes(cfg) == {"a": (3, 8, 8), "b": (3, 32, 32)} and sr_scale(cfg) == 4
    assert [p.name for p in spec.input_files(cfg)] == ["img11.png"]  # the last tenth (at least one) is test
    assert len(spec.dataset(cfg, "train", None)) == 11 and len(spec.dataset(cfg, "train", None, holdout=True)) == 10
    assert [p.name for p in spec.input_files(cfg, "val")] == ["img10.png"]
    a, b = load_translation_pairs(cfg, "train")
    assert a.shape == (11, 3, 8, 8) and b.shape == (11, 3, 32, 32)
    for i in (0, 4, 5):  # held-out: the centre crop, kernel KERNELS[i % 3]
        h, w = images[i].shape[:2]
        top, left = (h - 32) // 2, (w - 32) // 2
        assert np.array_equal(b[i].permute(1, 2, 0).numpy(), images[i][top : top + 32, left : left + 32])
        assert torch.equal(a[i], downsample(b[i : i + 1], 4, KERNELS[i % 3])[0])
    ds = spec.dataset(cfg, "train", None)
    found = set()
    for seed in range(8):  # training: a random crop (and flip) of the image, its low-res by the seed's kernel
        lr, hr = ds.item((3, seed))
        found.add(_find(images[3], hr.permute(1, 2, 0).numpy()))
        assert torch.equal(lr, downsample(hr[None], 4, KERNELS[seed % 3])[0])
    assert len(found) > 4 and {f[2] for f in found} == {False, True}
    gray = load_translation_pairs(cfg.model_copy(update={"channels_b": 1}), "test")
    assert gray[0].shape == (1, 1, 8, 8) and gray[1].shape == (1, 1, 32, 32)


def test_subfolders_resume_and_errors(tmp_path: Path) -> None:
    _write(tmp_path / "d" / "train", 6)
    _write(tmp_path / "d" / "test", 2, seed=1)
    cfg = DataConfig(name="sr_folder", root=str(tmp_path / "d"), image_size=16, scale=2, num_workers=0)
    a, b = load_translation_pairs(cfg, "test")
    assert a.shape == (2, 3, 8, 8) and b.shape == (2, 3, 16, 16)
    batch = build_source(cfg, 2, "cpu", 0).next_batch()
    assert batch.a.shape == (2, 3, 8, 8) and batch.b.shape == (2, 3, 16, 16)
    src = build_source(cfg, 2, "cpu", 1)
    for _ in range(4):
        src.next_batch()
    state, ahead = src.state_dict(), src.next_batch()
    again = build_source(cfg, 2, "cpu", 1)
    again.load_state_dict(state)
    nxt = again.next_batch()
    assert torch.equal(ahead.a, nxt.a) and torch.equal(ahead.b, nxt.b)
    with pytest.raises(ConfigError, match="needs data.scale"):
        domain_shapes(cfg.model_copy(update={"scale": None}))
    with pytest.raises(ConfigError, match="does not divide by data.scale 3"):
        domain_shapes(cfg.model_copy(update={"scale": 3}))
    with pytest.raises(DataError, match=r"img00.png: 40 x 34 pixels is smaller than the 36 x 36"):
        load_translation_pairs(cfg.model_copy(update={"image_size": 36}), "train")
    (tmp_path / "d" / "test").rename(tmp_path / "d" / "other")
    with pytest.raises(DataError, match="no test folder"):
        load_translation_pairs(cfg, "test")
    with pytest.raises(DataError, match="needs data.root"):
        load_translation_pairs(cfg.model_copy(update={"root": None}), "test")


def test_skimage_photos() -> None:
    pytest.importorskip("skimage")
    from gankit.data import photos as P

    cfg = DataConfig(name="skimage-photos", image_size=64)
    assert domain_shapes(cfg) == {"a": (3, 16, 16), "b": (3, 64, 64)} and sr_scale(cfg) == 4  # scale None: 4
    photos = P.load_photos()
    assert [im.size for im in photos] == [(512, 512), (451, 300), (600, 400), (741, 500), (640, 427)]
    a, b = load_translation_pairs(cfg, "test")
    assert a.shape == (53, 3, 16, 16) and b.shape == (53, 3, 64, 64)
    sizes = [im.size for im in photos]
    test, train = P.tile_items(sizes, 64, "test"), P.tile_items(sizes, 64, "train")
    x, y = test[0].eval_at
    assert np.array_equal(b[0].permute(1, 2, 0).numpy(), np.asarray(photos[test[0].image])[y : y + 64, x : x + 64])
    assert torch.equal(a[:3], torch.cat([downsample(b[i : i + 1], 4, KERNELS[i]) for i in range(3)]))
    for p in range(5):  # no training crop can reach a test tile: the training box ends above the test rows
        bottom = max(it.box[3] for it in train if it.image == p)
        assert bottom <= min(it.eval_at[1] for it in test if it.image == p)
    assert len(train) == 230 and len(P.tile_items(sizes, 64, "train", holdout=True)) == 177
    ds = data_spec("skimage-photos").dataset(cfg, "train", None)
    lr, hr = ds.item((0, 99))
    assert hr.shape == (3, 64, 64) and torch.equal(lr, downsample(hr[None], 4, KERNELS[99 % 3])[0])
    with pytest.raises(ConfigError, match="fewer than 3 rows"):
        load_translation_pairs(cfg.model_copy(update={"image_size": 128}))


def test_skimage_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from gankit.data import photos as P

    P.load_photos.cache_clear()
    monkeypatch.setitem(sys.modules, "skimage", None)
    monkeypatch.setitem(sys.modules, "skimage.data", None)
    try:
        with pytest.raises(DataError, match="pip install scikit-image"):
            load_translation_pairs(DataConfig(name="skimage-photos", image_size=64), "test")
    finally:
        P.load_photos.cache_clear()
