"""Hostile input files: each is a clear error naming the file, or skipped and counted."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from gankit.data.folder import ImageFolderDataset, load_image_uint8
from gankit.data.idx import read_idx
from gankit.errors import DataError


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A valid PNG signature and IHDR declaring ``width x height``, with almost no pixel data: a bomb's header."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def _good(root: Path, n: int = 2) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("L", (16, 16), 40 * i).save(root / f"ok{i}.png")


def test_zero_byte_image_is_named_and_can_be_skipped(tmp_path: Path) -> None:
    _good(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.png.*empty \(0 bytes\)"):
        ImageFolderDataset(tmp_path, 8, 1)
    with pytest.warns(UserWarning, match="skipped 1 unreadable"):
        ds = ImageFolderDataset(tmp_path, 8, 1, skip_bad_files=True)
    assert len(ds) == 2 and [p.name for p in ds.skipped] == ["empty.png"]


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    """10,000 x 10,000 passes PIL's own bomb check (it only warns below 179 Mpx) and would decode ~100 MB; the
    pixel limit refuses it while listing the folder, before any pixel is decoded."""
    _good(tmp_path)
    _png_header_only(tmp_path / "bomb.png", 10_000, 10_000)
    with pytest.raises(DataError, match=r"bomb\.png.*100,000,000 pixels, over the limit of 40,000,000"):
        ImageFolderDataset(tmp_path, 8, 1)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert len(ImageFolderDataset(tmp_path, 8, 1, skip_bad_files=True)) == 2


def test_pixel_limit_is_a_recipe_switch(tmp_path: Path) -> None:
    Image.new("L", (40, 40), 9).save(tmp_path / "big.png")
    with pytest.raises(DataError, match="1,600 pixels, over the limit of 1,000"):
        ImageFolderDataset(tmp_path, 8, 1, max_pixels=1000)
    assert len(ImageFolderDataset(tmp_path, 8, 1, max_pixels=1600)) == 1


def test_sixteen_bit_greyscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    ramp = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)  # 0 .. 65472
    Image.fromarray(ramp).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"
    got = load_image_uint8(tmp_path / "g16.png", 32, 1)[0].numpy().astype(int)
    want = ramp.astype(np.int64) * 255 // 65535
    assert np.abs(got - want).max() <= 1  # PIL's convert("L") would make 99 % of it 255
    rgb = load_image_uint8(tmp_path / "g16.png", 32, 3).numpy().astype(int)
    assert rgb.shape == (3, 32, 32) and np.abs(rgb[1] - want).max() <= 1


@pytest.mark.parametrize(
    ("mode", "color", "want_rgb"),
    [("CMYK", (0, 255, 255, 0), (255, 0, 0)), ("LA", (200, 0), (200, 200, 200)), ("1", 1, (255, 255, 255)),
     ("RGBA", (10, 20, 30, 255), (10, 20, 30)), ("P", 3, None)],
)  # fmt: skip
def test_other_modes_load_with_the_expected_channels(tmp_path: Path, mode: str, color, want_rgb) -> None:
    path = tmp_path / ("x.jpg" if mode == "CMYK" else "x.png")
    Image.new(mode, (12, 12), color).save(path, **({"quality": 100} if mode == "CMYK" else {}))
    for channels in (1, 3):
        t = load_image_uint8(path, 8, channels)
        assert t.shape == (channels, 8, 8) and t.dtype.is_floating_point is False
    if want_rgb is not None:
        rgb = load_image_uint8(path, 8, 3)[:, 4, 4].tolist()
        assert all(abs(a - b) <= 3 for a, b in zip(rgb, want_rgb)), rgb


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=600))
def test_garbage_idx_is_a_data_error_naming_the_file(tmp_path: Path, raw: bytes) -> None:
    path = tmp_path / "garbage-idx3-ubyte"
    path.write_bytes(raw)
    try:
        arr = read_idx(path)
    except DataError as e:
        assert "garbage-idx3-ubyte" in str(e)
    else:  # a few byte strings are valid IDX files; then they decode to what their header says
        assert isinstance(arr, np.ndarray) and arr.size * arr.itemsize + 4 + 4 * arr.ndim == len(raw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(min_size=0, max_size=300), name=st.sampled_from(["a.png", "b.jpg", "c.webp", "d.bmp"]))
def test_garbage_image_is_a_data_error_naming_the_file(tmp_path: Path, raw: bytes, name: str) -> None:
    root = tmp_path / "garbage"
    root.mkdir(exist_ok=True)
    for f in root.iterdir():
        f.unlink()
    _good(root, 1)
    (root / name).write_bytes(raw)
    try:
        ds = ImageFolderDataset(root, 8, 1)
        for i in range(len(ds)):
            ds[i]
    except DataError as e:
        assert name in str(e)
