"""The built-in restoration tasks on the tiny IDX folder (256 train / 64 test): SR pairs, inpainting, domains."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import (build_source, domain_shapes, load_inpaint_triples, load_real_labeled, load_translation_pairs, make_masks,
                         sample_shape, sr_scale)  # fmt: skip
from gankit.data.degrade import downsample
from gankit.data.idx import load_idx_dataset
from gankit.errors import ConfigError, DataError

R = importlib.import_module("gankit.data.restore_builtin")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "translation"


def _resumes(cfg: DataConfig, batch: int = 8) -> list:
    src = build_source(cfg, batch, "cpu", 3)
    for _ in range(5):
        src.next_batch()
    state = src.state_dict()
    ahead = [src.next_batch() for _ in range(3)]
    again = build_source(cfg, batch, "cpu", 3)
    again.load_state_dict(state)
    for x, y in zip(ahead, [again.next_batch() for _ in range(3)]):
        assert all(torch.equal(u, v) for (_, u), (_, v) in zip(x.items(), y.items()))
        assert [k for k, _ in x.items()] == [k for k, _ in y.items()]
    return ahead


@pytest.mark.parametrize("name,scale", [("fmnist-sr2x", 2), ("fmnist-sr4x", 4)])
def test_sr_pairs(tiny_idx: Path, cache: Path, name: str, scale: int) -> None:
    cfg = DataConfig(name=name, root=str(tiny_idx))
    s = 28 // scale
    assert domain_shapes(cfg) == {"a": (1, s, s), "b": (1, 28, 28)} and sample_shape(cfg) == (1, 28, 28) and sr_scale(cfg) == scale
    test_images, _ = load_idx_dataset("fashion-mnist", "test", tiny_idx)
    a, b = load_translation_pairs(cfg, "test")
    assert a.shape == (64, 1, s, s) and b.shape == (64, 1, 28, 28) and a.dtype == b.dtype == torch.uint8
    assert np.array_equal(b[:, 0].numpy(), test_images)
    for i in range(6):  # evaluation: item i uses KERNELS[i % 3]
        assert torch.equal(a[i], downsample(b[i : i + 1], scale, ("pil", "opencv", "torch")[i % 3])[0])
    named = load_translation_pairs(cfg.model_copy(update={"degradation": "opencv"}), "test", limit=5)[0]
    assert torch.equal(named, downsample(b[:5], scale, "opencv"))
    for split, n in (("train", 256), ("val", 25)):
        assert len(load_translation_pairs(cfg, split)[1]) == n
    val_b = load_translation_pairs(cfg, "val")[1]
    train_images, _ = load_idx_dataset("fashion-mnist", "train", tiny_idx)
    assert np.array_equal(val_b[:, 0].numpy(), train_images[-25:])
    (entry,) = cache.glob(f"{name}-test-*.safetensors")  # the low-res arrays are cached
    with pytest.MonkeyPatch.context() as m:
        m.setattr(R, "downsample", lambda *a: pytest.fail("a cache hit must not downsample again"))
        assert torch.equal(load_translation_pairs(cfg, "test")[0], a)
    entry.write_bytes(b"damaged")
    assert torch.equal(load_translation_pairs(cfg, "test")[0], a)


def test_sr_training_items(tiny_idx: Path, cache: Path) -> None:
    cfg = DataConfig(name="fmnist-sr2x", root=str(tiny_idx))
    ds = R.FashionSR2x().dataset(cfg, "train", None)
    hr = ds.hr[:, None]
    lrs = {k: downsample(hr, 2, k) for k in ("pil", "opencv", "torch")}
    flips = 0
    for seed in range(30):  # the seed picks the kernel (seed % 3) and the flip, the same for a and b
        a, b = ds.item((7, seed))
        kernel = ("pil", "opencv", "torch")[seed % 3]
        flipped = not torch.equal(b, hr[7])
        flips += flipped
        assert torch.equal(b, hr[7].flip(-1) if flipped else hr[7])
        assert torch.equal(a, lrs[kernel][7].flip(-1) if flipped else lrs[kernel][7])
    assert 5 < flips < 25
    no_flip = R.FashionSR2x().dataset(cfg.model_copy(update={"no_flip": True}), "train", None)
    assert all(torch.equal(no_flip.item((7, s))[1], hr[7]) for s in range(10))
    batches = _resumes(cfg.model_copy(update={"channels_a": 3}))
    assert batches[0].a.shape == (8, 3, 14, 14) and batches[0].b.shape == (8, 3, 28, 28) and batches[0].mask is None
    assert batches[0].a.min() >= -1 and batches[0].a.max() <= 1


def test_sr_config_errors(tiny_idx: Path, cache: Path) -> None:
    base = DataConfig(name="fmnist-sr2x", root=str(tiny_idx))
    for update, match in (({"scale": 4}, "use data.name fmnist-sr4x"), ({"image_size": 32}, "leave data.image_size 28"),
                          ({"direction": "BtoA"}, "Leave data.direction AtoB"), ({"channels_a": 1, "channels_b": 3}, "differ"),
                          ({"classes": [1]}, "class labels")):  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            domain_shapes(base.model_copy(update=update))
    with pytest.raises(ConfigError, match="no super-resolution data"):
        sr_scale(DataConfig(name="fmnist-edges2items", root=str(tiny_idx)))


def test_inpaint_items(tiny_idx: Path, cache: Path) -> None:
    cfg = DataConfig(name="fmnist-inpaint", root=str(tiny_idx))
    a, b, mask = load_inpaint_triples(cfg, "test")
    assert a.shape == b.shape == (64, 1, 28, 28) and mask.shape == (64, 1, 28, 28) and mask.dtype == torch.uint8
    hole = mask.bool().expand_as(b)
    assert (a[hole] == 128).all() and torch.equal(a[~hole], b[~hole])  # 128 in the hole, b elsewhere
    assert torch.equal(mask, make_masks("mixed", range(64), 28, 28))  # fixed: item i's mask is seed i's
    again = load_inpaint_triples(cfg, "test", limit=10)
    assert all(torch.equal(x[:10], y) for x, y in zip((a, b, mask), again))
    assert torch.equal(load_translation_pairs(cfg, "test")[0], a)
    boxes = load_inpaint_triples(cfg.model_copy(update={"mask": "box"}), "test", limit=4)[2]
    assert torch.equal(boxes, make_masks("box", range(4), 28, 28))
    ds = R.FashionInpaint().dataset(cfg, "train", None)
    ta, tb, tm = ds.item((0, 12345))  # training: the key's seed draws the mask
    assert torch.equal(tm, make_masks("mixed", [12345], 28, 28)[0])
    with pytest.raises(DataError, match="no hole masks"):
        load_inpaint_triples(DataConfig(name="fmnist-edges2items", root=str(tiny_idx)))


def test_inpaint_batches_resume(tiny_idx: Path, cache: Path) -> None:
    cfg = DataConfig(name="fmnist-inpaint", root=str(tiny_idx), image_size=24, load_size=28)
    batch = _resumes(cfg)[0]
    assert batch.a.shape == batch.b.shape == (8, 1, 24, 24) and batch.mask.shape == (8, 1, 24, 24)
    assert batch.mask.dtype == torch.float32 and set(batch.mask.unique().tolist()) == {0.0, 1.0}
    hole = batch.mask.bool().expand_as(batch.a)
    assert torch.allclose(batch.a[hole], torch.tensor(128 / 127.5 - 1), rtol=0, atol=1e-6) and torch.equal(batch.a[~hole], batch.b[~hole])
    src = build_source(cfg, 8, "cpu", 3)  # masks are fresh each epoch: epoch 1's first batch has other holes
    first = src.next_batch().mask
    for _ in range(src.batches_per_epoch - 1):
        src.next_batch()
    assert src.epoch == 1 and not torch.equal(first, src.next_batch().mask)


def test_domains_are_fashion_mnist(tiny_idx: Path, cache: Path) -> None:
    cfg = DataConfig(name="fmnist-domains", root=str(tiny_idx))
    x, c = load_real_labeled(cfg, "test")
    fx, fc = load_real_labeled(cfg.model_copy(update={"name": "fashion-mnist"}), "test")
    assert torch.equal(x, fx) and torch.equal(c, fc)
    from gankit.data import class_names, data_spec, num_classes

    assert num_classes(cfg) == 10 and class_names(cfg)[7] == "Sneaker"
    assert data_spec("fmnist-domains").reference(cfg, "test") == "fashion-mnist:test"
    batch = build_source(cfg, 16, "cpu", 0).next_batch()
    assert batch.x.shape == (16, 1, 28, 28) and batch.c.dtype == torch.int64
