from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.data.folder import IMAGE_EXTENSIONS, ImageFolderDataset, list_images, load_folder_tensor
from gankit.errors import DataError


def _save(path: Path, color, size=(12, 10), mode="RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lossy = path.suffix.lower() in (".jpg", ".jpeg", ".webp")
    Image.new(mode, size, color).save(path, **({"quality": 100} if lossy else {}))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "imgs"
    _save(root / "a.png", (255, 0, 0))
    _save(root / "sub" / "b.JPG", (0, 0, 255))
    _save(root / "sub" / "deeper" / "c.webp", (0, 255, 0))
    _save(root / "d.bmp", 128, mode="L")
    (root / "notes.txt").write_text("not an image")
    _save(root / "._a.png", (1, 2, 3))  # macOS metadata twin: ignored
    return root


def test_list_images_recursive_sorted(folder: Path) -> None:
    names = [p.relative_to(folder).as_posix() for p in list_images(folder)]
    assert names == ["a.png", "d.bmp", "sub/b.JPG", "sub/deeper/c.webp"]
    assert IMAGE_EXTENSIONS == {".png", ".jpg", ".jpeg", ".webp", ".bmp"}


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.txt").write_text("")
    with pytest.raises(DataError, match="empty contains no images.*\\.jpeg.*\\.webp"):
        list_images(tmp_path / "empty")
    with pytest.raises(DataError, match="missing does not exist"):
        list_images(tmp_path / "missing")


def test_rgb_values_and_shapes(folder: Path) -> None:
    ds = ImageFolderDataset(folder, image_size=8, channels=3)
    assert len(ds) == 4 and ds.skipped == []
    red, gray, blue, green = (ds[i] for i in range(4))
    for x in (red, gray, blue, green):
        assert x.shape == (3, 8, 8) and x.dtype == torch.float32
        assert x.min() >= -1 and x.max() <= 1
    assert torch.equal(red, torch.tensor([1.0, -1.0, -1.0]).view(3, 1, 1).expand(3, 8, 8))
    torch.testing.assert_close(gray, torch.full((3, 8, 8), 128 / 127.5 - 1), atol=1e-6, rtol=0)
    assert blue[2].mean() > 0.95 and blue[:2].max() < -0.95  # JPEG: close, not exact
    assert green[1].mean() > 0.95 and green[[0, 2]].max() < -0.95


def test_grayscale(folder: Path) -> None:
    ds = ImageFolderDataset(folder, image_size=6, channels=1)
    red = ds[0]
    assert red.shape == (1, 6, 6)
    torch.testing.assert_close(red, torch.full((1, 6, 6), 76 / 127.5 - 1), atol=1e-6, rtol=0)  # ITU-R 601 luma of red


def test_resize_shorter_side_then_center_crop(tmp_path: Path) -> None:
    strip = np.zeros((10, 30), np.uint8)
    strip[:, 10:20] = 255  # only the middle third is white
    Image.fromarray(strip).save(tmp_path / "strip.png")
    ds = ImageFolderDataset(tmp_path, image_size=10, channels=1)
    assert torch.equal(ds[0], torch.ones(1, 10, 10))
    small = ImageFolderDataset(tmp_path, image_size=5, channels=1)[0]  # 30x10 -> 15x5, crop cols 5..10
    assert small.shape == (1, 5, 5) and small[:, :, 1:4].min() > 0.9


def test_random_crop_is_seeded(tmp_path: Path) -> None:
    Image.fromarray(np.arange(40, dtype=np.uint8).reshape(1, 40).repeat(10, 0) * 6).save(tmp_path / "ramp.png")
    ds = ImageFolderDataset(tmp_path, image_size=10, channels=1, crop="random")
    a, b = ds[(0, 123)], ds[(0, 123)]
    assert torch.equal(a, b)
    lefts = {int(ds[(0, s)][0, 0, 0].add(1).mul(127.5).round().item()) // 6 for s in range(30)}
    assert len(lefts) > 5 and max(lefts) <= 30


def test_corrupt_file_is_named(folder: Path) -> None:
    (folder / "sub" / "broken.png").write_bytes(b"definitely not a png")
    with pytest.raises(DataError, match="broken.png.*data.skip_bad_files: true"):
        ImageFolderDataset(folder, 8, 3)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        ds = ImageFolderDataset(folder, 8, 3, skip_bad_files=True)
    assert len(ds) == 4 and ds.skipped == [folder / "sub" / "broken.png"]


def test_truncated_file_at_load_time(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", (10, 20, 30), size=(64, 64))
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "b.png")
    raw = (tmp_path / "b.png").read_bytes()
    (tmp_path / "b.png").write_bytes(raw[: len(raw) // 2])  # header fine, pixels missing
    _save(tmp_path / "c.png", (200, 200, 200))
    ds = ImageFolderDataset(tmp_path, 8, 3)
    assert len(ds) == 3
    with pytest.raises(DataError, match="b.png.*data.skip_bad_files: true"):
        ds[1]
    ds = ImageFolderDataset(tmp_path, 8, 3, skip_bad_files=True)
    with pytest.warns(UserWarning, match="b.png"):
        x = ds[1]
    assert torch.equal(x, ds[2])  # deterministic fallback: the next index


def test_limit(folder: Path) -> None:
    assert len(ImageFolderDataset(folder, 8, 3, limit=2)) == 2


def test_load_folder_tensor_matches_dataset(folder: Path) -> None:
    x = load_folder_tensor(folder, 8, 3, progress=False)
    assert x.shape == (4, 3, 8, 8) and x.dtype == torch.uint8
    ds = ImageFolderDataset(folder, 8, 3)
    for i in range(4):
        assert torch.equal(x[i].float() / 127.5 - 1, ds[i])
    assert load_folder_tensor(folder, 8, 1, limit=2, progress=False).shape == (2, 1, 8, 8)
    (folder / "zzz.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="zzz.png"):
        load_folder_tensor(folder, 8, 3, progress=False)
    with pytest.warns(UserWarning, match="zzz.png"):
        assert len(load_folder_tensor(folder, 8, 3, skip_bad_files=True, progress=False)) == 4
