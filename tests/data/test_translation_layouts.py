"""The CycleGAN/pix2pix folder layouts (aligned, unaligned, single): what they read, preprocessing,
direction, shared crops of a pair, errors, and exact resume of the data order. All images are tiny."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import build_source, domain_shapes, is_paired, load_real_images, load_translation_pairs, sample_shape
from gankit.data.paired import combine_aligned
from gankit.data.preprocess import Preprocess
from gankit.errors import ConfigError, DataError

H = 8  # each half is H x H


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr.astype(np.uint8)).save(path)


def _aligned(root: Path, n: int = 4, split: str = "train") -> list[tuple[int, int]]:
    """n A|B files; pair k has A = gray 10k+5 and B = gray 200-10k; returns their (A, B) values."""
    vals = [(10 * k + 5, 200 - 10 * k) for k in range(n)]
    for k, (va, vb) in enumerate(vals):
        img = np.zeros((H, 2 * H, 3), np.uint8)
        img[:, :H], img[:, H:] = va, vb
        _save(root / split / f"{k}.png", img)
    return vals


def _cfg(name: str, root: Path, **kw) -> DataConfig:
    return DataConfig(name=name, root=str(root), image_size=H, num_workers=0, **kw)


def _u8(x: torch.Tensor) -> torch.Tensor:
    return ((x + 1) * 127.5).round().to(torch.uint8)


def test_aligned_reads_halves_and_direction(tmp_path: Path) -> None:
    vals = _aligned(tmp_path)
    cfg = _cfg("aligned", tmp_path, no_flip=True)
    a, b = load_translation_pairs(cfg, "train")
    assert a.shape == b.shape == (4, 3, H, H) and a.dtype == torch.uint8
    assert [int(v) for v in a[:, 0, 0, 0]] == [va for va, _ in vals]
    assert [int(v) for v in b[:, 0, 0, 0]] == [vb for _, vb in vals]
    assert is_paired(cfg) and domain_shapes(cfg) == {"a": (3, H, H), "b": (3, H, H)}
    assert torch.equal(load_real_images(cfg), b)  # evaluation's real images are the targets
    batch = build_source(cfg, 2, "cpu", 0).next_batch()
    assert batch.x is None and batch.a.shape == (2, 3, H, H)
    pairs = dict(vals)
    for xa, xb in zip(_u8(batch.a), _u8(batch.b)):  # each a keeps its own b
        assert pairs[int(xa[0, 0, 0])] == int(xb[0, 0, 0])
    a2, b2 = load_translation_pairs(cfg.model_copy(update={"direction": "BtoA"}), "train")
    assert torch.equal(a2, b) and torch.equal(b2, a)


def test_aligned_channels_per_side(tmp_path: Path) -> None:
    _aligned(tmp_path, n=2)
    cfg = _cfg("aligned", tmp_path, channels_a=1, channels_b=3)
    a, b = load_translation_pairs(cfg, "train")
    assert a.shape == (2, 1, H, H) and b.shape == (2, 3, H, H)
    assert sample_shape(cfg) == (3, H, H) and domain_shapes(cfg)["a"] == (1, H, H)


def test_pair_gets_the_same_crop_and_flip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    for k in range(4):  # A and B halves identical: a == b exactly iff both got the same crop and flip
        half = rng.integers(0, 256, (12, 12, 3))
        _save(tmp_path / "train" / f"{k}.png", np.concatenate([half, half], 1))
    cfg = _cfg("aligned", tmp_path, load_size=12)  # resize 12 -> 12 (none), random 8 x 8 crops, flips
    src = build_source(cfg, 2, "cpu", 3)
    centers = load_translation_pairs(cfg, "train")[0]
    differs = 0
    for _ in range(8):
        batch = src.next_batch()
        assert torch.equal(batch.a, batch.b)
        differs += sum(not any(torch.equal(x, c) for c in centers) for x in _u8(batch.a))
    assert differs > 0  # the crops and flips really are random, not all the center


@pytest.mark.parametrize(
    "mode,size,expected",
    [
        ("resize_and_crop", (20, 12), (8, 8)),
        ("crop", (20, 12), (8, 8)),
        ("scale_width", (20, 12), (16, 9)),  # width 16, height 16 * 12 / 20 = 9.6 -> 9
        ("scale_width_and_crop", (20, 12), (8, 8)),
        ("none", (22, 13), (24, 12)),  # each side to the nearest multiple of 4
    ],
)
def test_preprocess_output_size(tmp_path: Path, mode: str, size: tuple[int, int], expected: tuple[int, int]) -> None:
    _save(tmp_path / "x.png", np.full((size[1], size[0], 3), 90))
    cfg = _cfg("single", tmp_path, preprocess=mode, load_size=16)
    assert Preprocess.from_config(cfg).output_size(*size) == expected
    a, b = load_translation_pairs(cfg)
    assert b is None and a.shape == (1, 3, expected[1], expected[0])
    batch = build_source(cfg, 1, "cpu", 0).next_batch()
    assert batch.b is None and batch.a.shape == (1, 3, expected[1], expected[0])


def test_sizes_that_differ_need_batch_size_one(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", np.zeros((12, 20, 3)))
    _save(tmp_path / "b.png", np.zeros((16, 16, 3)))
    cfg = _cfg("single", tmp_path, preprocess="none")
    with pytest.raises(DataError, match="a.png becomes 20 x 12, b.png 16 x 16.*batch_size 1"):
        build_source(cfg, 2, "cpu", 0)
    assert build_source(cfg, 1, "cpu", 0).num_items == 2


def _unaligned(root: Path, n_a: int = 5, n_b: int = 3) -> None:
    for k in range(n_a):  # A images are gray 10..14, B images 100..102
        _save(root / "trainA" / f"{k}.png", np.full((H, H), 10 + k))
    for k in range(n_b):
        _save(root / "trainB" / f"{k}.png", np.full((H, H), 100 + k))


def test_unaligned_unequal_counts(tmp_path: Path) -> None:
    _unaligned(tmp_path)
    cfg = _cfg("unaligned", tmp_path)
    assert not is_paired(cfg)
    a, b = load_translation_pairs(cfg, "train")
    assert a.shape == (5, 3, H, H) and b.shape == (3, 3, H, H)
    src = build_source(cfg, 5, "cpu", 0)
    assert src.num_items == 5 and not src.paired  # the larger domain sets the epoch
    seen_b: list[int] = []
    for _ in range(3):  # one batch per epoch: every A once, every B at least once
        batch = src.next_batch()
        assert sorted(_u8(batch.a)[:, 0, 0, 0].tolist()) == [10, 11, 12, 13, 14]
        vb = _u8(batch.b)[:, 0, 0, 0].tolist()
        assert set(vb) == {100, 101, 102}
        seen_b.append(vb)
    assert len({tuple(v) for v in seen_b}) > 1  # each epoch its own order
    a2, b2 = load_translation_pairs(cfg.model_copy(update={"direction": "BtoA"}), "train")
    assert torch.equal(a2, b) and torch.equal(b2, a)


@pytest.mark.parametrize("layout", ["aligned", "unaligned"])
def test_resume_is_exact(tmp_path: Path, layout: str) -> None:
    _aligned(tmp_path, n=5) if layout == "aligned" else _unaligned(tmp_path)
    cfg = _cfg(layout, tmp_path, load_size=10)  # random crops and flips too
    src = build_source(cfg, 2, "cpu", 11)  # 2 batches per epoch: the run below crosses epochs
    for _ in range(3):
        src.next_batch()
    state = src.state_dict()
    ahead = [src.next_batch() for _ in range(4)]
    again = build_source(cfg, 2, "cpu", 11)
    again.load_state_dict(state)
    for x, y in zip(ahead, [again.next_batch() for _ in range(4)]):
        assert torch.equal(x.a, y.a) and torch.equal(x.b, y.b)


def test_errors_say_what_and_where(tmp_path: Path) -> None:
    _save(tmp_path / "odd" / "train" / "x.png", np.zeros((8, 15, 3)))
    with pytest.raises(DataError, match=r"x.png: 15 x 8 pixels; an aligned A\|B image needs an even width"):
        build_source(_cfg("aligned", tmp_path / "odd"), 1, "cpu", 0)
    _aligned(tmp_path / "noval", n=1, split="val")
    with pytest.raises(DataError, match="no train folder \\(it holds val\\).*expects root/train"):
        build_source(_cfg("aligned", tmp_path / "noval"), 1, "cpu", 0)
    (tmp_path / "empty" / "trainA").mkdir(parents=True)
    (tmp_path / "empty" / "trainB").mkdir()
    with pytest.raises(DataError, match="empty/trainA contains no images.*root/trainA and root/trainB"):
        build_source(_cfg("unaligned", tmp_path / "empty"), 1, "cpu", 0)
    _unaligned(tmp_path / "bad", n_a=2, n_b=2)
    (tmp_path / "bad" / "trainB" / "notes.png").write_text("not an image")
    with pytest.raises(DataError, match="notes.png: not a readable image"):
        build_source(_cfg("unaligned", tmp_path / "bad"), 1, "cpu", 0)
    with pytest.warns(UserWarning, match="skipped 1 unreadable image"):
        assert build_source(_cfg("unaligned", tmp_path / "bad", skip_bad_files=True), 1, "cpu", 0).num_items == 2
    with pytest.raises(DataError, match="needs data.root"):
        build_source(DataConfig(name="unaligned"), 1, "cpu", 0)
    with pytest.raises(ConfigError, match="data.load_size 6 is smaller than data.image_size 8"):
        build_source(_cfg("unaligned", tmp_path / "bad", load_size=6), 1, "cpu", 0)
    with pytest.raises(DataError, match="smaller than the 8 x 8 crop"):
        _save(tmp_path / "small" / "s.png", np.zeros((6, 6, 3)))
        build_source(_cfg("single", tmp_path / "small", preprocess="crop"), 1, "cpu", 0)


def test_combine_aligned(tmp_path: Path) -> None:
    _save(tmp_path / "A" / "p.png", np.full((H, H, 3), 30))
    _save(tmp_path / "B" / "p.png", np.full((H, H, 3), 220))
    (written,) = combine_aligned(tmp_path / "A", tmp_path / "B", tmp_path / "ab" / "train")
    a, b = load_translation_pairs(_cfg("aligned", tmp_path / "ab"), "train")
    assert written.name == "p.png" and int(a[0, 0, 0, 0]) == 30 and int(b[0, 0, 0, 0]) == 220
    _save(tmp_path / "B" / "p.png", np.full((H + 2, H, 3), 220))
    with pytest.raises(DataError, match="differ in height"):
        combine_aligned(tmp_path / "A", tmp_path / "B", tmp_path / "ab2")
