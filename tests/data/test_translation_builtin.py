"""The built-in Fashion-MNIST translation tasks, on the tiny IDX folder (256 train / 64 test, labels 0..9)."""

from __future__ import annotations

import importlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from gankit.config import DataConfig
from gankit.data import build_source, load_translation_pairs, sample_shape
from gankit.data.idx import load_idx_dataset

B = importlib.import_module("gankit.data.translate_builtin")


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "translation"


def test_edges2items_is_canny_of_the_item(tiny_idx: Path, cache: Path) -> None:
    images, _ = load_idx_dataset("fashion-mnist", "train", tiny_idx)
    d = B.builtin_domains("fmnist-edges2items", tiny_idx, "train", cache=False)
    edges, items = d["a"].numpy(), d["b"].numpy()
    assert edges.shape == items.shape == (256, 28, 28) and np.array_equal(items, images)
    assert set(np.unique(edges)) <= {0, 255} and 0 < (edges > 0).mean() < 0.5  # binary maps, mostly empty
    expect = cv2.Canny(cv2.GaussianBlur(images[3], (3, 3), 0), 50, 150, L2gradient=True)
    assert np.array_equal(edges[3], expect)
    cfg = DataConfig(name="fmnist-edges2items", root=str(tiny_idx), no_flip=True)
    a, b = load_translation_pairs(cfg, "test")
    test_images, _ = load_idx_dataset("fashion-mnist", "test", tiny_idx)
    assert a.shape == b.shape == (64, 1, 28, 28) and a.dtype == torch.uint8 and sample_shape(cfg) == (1, 28, 28)
    assert np.array_equal(b[:, 0].numpy(), test_images)  # test pairs come from the test file


@pytest.mark.parametrize("task", B.TASKS)
def test_deterministic_and_cached(tiny_idx: Path, cache: Path, task: str, monkeypatch: pytest.MonkeyPatch) -> None:
    one = B.builtin_domains(task, tiny_idx, "test", cache=False)
    two = B.builtin_domains(task, tiny_idx, "test", cache=False)
    assert all(one[k].numpy().tobytes() == two[k].numpy().tobytes() for k in one)
    first = B.builtin_domains(task, tiny_idx, "test")
    (entry,) = cache.iterdir()
    blob = entry.read_bytes()
    with monkeypatch.context() as m:
        m.setattr(B, "generate", lambda *a: pytest.fail("a cache hit must not regenerate"))
        hit = B.builtin_domains(task, tiny_idx, "test")
    assert all(torch.equal(first[k], hit[k]) and torch.equal(first[k], one[k]) for k in one)
    assert entry.read_bytes() == blob
    entry.write_bytes(b"damaged")  # a corrupt entry is regenerated and replaced, not trusted
    assert torch.equal(B.builtin_domains(task, tiny_idx, "test")["a"], one["a"])
    assert entry.read_bytes() == blob


@pytest.mark.parametrize("task,classes", [("fmnist-sandal2sneaker", (5, 7)), ("fmnist-tshirt2shirt", (0, 6))])
def test_unpaired_domains_are_their_classes(tiny_idx: Path, cache: Path, task: str, classes: tuple[int, int]) -> None:
    cfg = DataConfig(name=task, root=str(tiny_idx))
    for split, file in (("train", "train"), ("test", "test")):
        images, labels = load_idx_dataset("fashion-mnist", file, tiny_idx)
        a, b = load_translation_pairs(cfg, split)
        assert np.array_equal(a[:, 0].numpy(), images[labels == classes[0]])
        assert np.array_equal(b[:, 0].numpy(), images[labels == classes[1]])
    d = B.builtin_domains(task, tiny_idx, "train")
    assert not set(d["a_index"].tolist()) & set(d["b_index"].tolist())  # disjoint images
    a_val, _ = load_translation_pairs(cfg, "val")  # the last tenth of the training file (25 of 256)
    _, labels = load_idx_dataset("fashion-mnist", "train", tiny_idx)
    assert len(a_val) == int((labels[-25:] == classes[0]).sum())
    b_swapped, a_swapped = load_translation_pairs(cfg.model_copy(update={"direction": "BtoA"}), "test")
    assert torch.equal(a_swapped, load_translation_pairs(cfg, "test")[0])


def test_builtin_sources_resume_exactly(tiny_idx: Path, cache: Path) -> None:
    for task in ("fmnist-edges2items", "fmnist-sandal2sneaker"):
        cfg = DataConfig(name=task, root=str(tiny_idx), image_size=24, load_size=28, channels_b=3)
        src = build_source(cfg, 4, "cpu", 5)
        first = src.next_batch()
        assert first.a.shape == (4, 1, 24, 24) and first.b.shape == (4, 3, 24, 24)
        for _ in range(6):
            src.next_batch()
        state = src.state_dict()
        ahead = [src.next_batch() for _ in range(3)]
        again = build_source(cfg, 4, "cpu", 5)
        again.load_state_dict(state)
        for x, y in zip(ahead, [again.next_batch() for _ in range(3)]):
            assert torch.equal(x.a, y.a) and torch.equal(x.b, y.b)
