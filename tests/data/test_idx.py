from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from gankit.data.idx import load_idx_dataset, read_idx, write_idx
from gankit.errors import DataError

REAL = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize("suffix", [".gz", ""])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_round_trip(tmp_path: Path, suffix: str, dtype: type) -> None:
    arr = (np.arange(2 * 3 * 5) - 7).astype(dtype).reshape(2, 3, 5)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, arr)
    out = read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)
    assert not out.flags.writeable


def test_header_layout_is_standard(tmp_path: Path) -> None:
    write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    raw = (tmp_path / "x").read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 3])
    assert [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(3)] == [3, 28, 28]
    assert len(raw) == 16 + 3 * 28 * 28


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    arr = np.arange(10, dtype=np.uint8)
    write_idx(tmp_path / "labels.gz", arr)
    renamed = tmp_path / "labels-idx1-ubyte"
    renamed.write_bytes((tmp_path / "labels.gz").read_bytes())
    assert renamed.read_bytes()[:2] == b"\x1f\x8b"
    np.testing.assert_array_equal(read_idx(renamed), arr)


def test_cache_returns_same_array_until_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "a.gz"
    write_idx(path, np.arange(5, dtype=np.uint8))
    first = read_idx(path)
    assert read_idx(path) is first
    with pytest.raises(ValueError):
        first[0] = 9
    write_idx(path, np.arange(6, dtype=np.uint8))
    np.testing.assert_array_equal(read_idx(path), np.arange(6))


def test_truncated_raw_names_file(tmp_path: Path) -> None:
    path = tmp_path / "trunc-idx3-ubyte"
    write_idx(path, np.ones((4, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(DataError, match="trunc-idx3-ubyte.*truncated.*\\(4, 28, 28\\)"):
        read_idx(path)


def test_trailing_bytes_rejected(tmp_path: Path) -> None:
    path = tmp_path / "long"
    write_idx(path, np.ones((2, 2), np.uint8))
    path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(DataError, match="long.*trailing bytes"):
        read_idx(path)


def test_truncated_gzip_names_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.gz"
    write_idx(path, np.random.default_rng(0).integers(0, 255, (50, 28, 28), dtype=np.uint8))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match="broken.gz.*gzip"):
        read_idx(path)


@pytest.mark.parametrize("head", [b"\x01\x00\x08\x01", b"\x00\x00\x07\x01", b"\x00\x00\x08\x00", b"\x00\x00"])
def test_bad_magic(tmp_path: Path, head: bytes) -> None:
    path = tmp_path / "bad.gz"
    path.write_bytes(gzip.compress(head + (1).to_bytes(4, "big") + b"\x05"))
    with pytest.raises(DataError, match="bad.gz"):
        read_idx(path)


def test_truncated_header(tmp_path: Path) -> None:
    path = tmp_path / "hdr"
    path.write_bytes(bytes([0, 0, 8, 3]) + (5).to_bytes(4, "big"))
    with pytest.raises(DataError, match="hdr.*truncated IDX header"):
        read_idx(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="nothere.*not found"):
        read_idx(tmp_path / "nothere")


@pytest.mark.parametrize("gz", [True, False])
def test_load_dataset_from_root(tmp_path: Path, make_idx_folder, gz: bool) -> None:
    data = make_idx_folder(tmp_path, n_train=20, n_test=7, gz=gz)
    for split in ("train", "test"):
        images, labels = load_idx_dataset("mnist", split, tmp_path)
        np.testing.assert_array_equal(images, data[split][0])
        np.testing.assert_array_equal(labels, data[split][1])
        assert images.shape[1:] == (28, 28) and labels.dtype == np.int64
    labels[:] = 99  # the caller's labels are its own copy
    assert load_idx_dataset("mnist", "test", tmp_path)[1].max() == 6


def test_count_mismatch(tmp_path: Path, make_idx_folder) -> None:
    make_idx_folder(tmp_path, n_train=20)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(19, np.uint8))
    with pytest.raises(DataError, match="20 images but train-labels-idx1-ubyte.gz has 19 labels"):
        load_idx_dataset("fashion-mnist", "train", tmp_path)


def test_wrong_image_rank(tmp_path: Path, make_idx_folder) -> None:
    make_idx_folder(tmp_path)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((12, 784), np.uint8))
    with pytest.raises(DataError, match="t10k-images-idx3-ubyte.gz: expected uint8 images"):
        load_idx_dataset("fashion-mnist", "test", tmp_path)


def test_unknown_name_and_split(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="valid: fashion-mnist, mnist"):
        load_idx_dataset("cifar", "train", tmp_path)
    with pytest.raises(DataError, match="valid: train, test"):
        load_idx_dataset("mnist", "val", tmp_path)


@pytest.mark.skipif(not REAL.is_dir(), reason="Fashion-MNIST not installed in /usr/share/datasets")
def test_real_fashion_mnist() -> None:
    for split, n in (("train", 60000), ("test", 10000)):
        images, labels = load_idx_dataset("fashion-mnist", split, REAL)
        assert images.shape == (n, 28, 28) and images.dtype == np.uint8
        assert labels.shape == (n,) and labels.dtype == np.int64
        assert np.array_equal(np.unique(labels), np.arange(10))
        assert np.all(np.bincount(labels) == n // 10)
