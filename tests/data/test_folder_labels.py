"""Image folders in torchvision's ImageFolder convention: one subfolder per class, names sorted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from PIL import Image

from gankit.config import DataConfig
from gankit.data import (
    LoaderSource, TensorSource, build_source, class_names, folder_layout, load_real_images, load_real_labeled,
    num_classes, require_labels,
)  # fmt: skip
from gankit.data.folder import ImageFolderDataset
from gankit.errors import ConfigError, DataError

# Each class is one solid gray level, so a decoded image says which class it came from.
LEVELS = {"dog": 200, "cat": 40, "Zebra": 120, "bird": 90}


def _tree(root: Path, counts: dict[str, int]) -> Path:
    for name, n in counts.items():
        for i in range(n):
            sub = root / name / ("nested" if i % 2 else "")  # torchvision also walks into subfolders
            sub.mkdir(parents=True, exist_ok=True)
            Image.new("L", (6, 6), LEVELS[name]).save(sub / f"{name}{i:02d}.png")
    return root


def _gray(x: torch.Tensor) -> list[int]:
    return ((x[:, 0, 0, 0] + 1) * 127.5).round().long().tolist()


def _cfg(root: Path, **kw) -> DataConfig:
    return DataConfig(name="folder", root=str(root), image_size=4, channels=1, num_workers=0, **kw)


def test_labels_come_from_sorted_subfolders(tmp_path: Path) -> None:
    root = _tree(tmp_path / "imgs", {"dog": 3, "cat": 4, "Zebra": 2, "bird": 3})
    (root / ".thumbs").mkdir()
    Image.new("L", (6, 6), 7).save(root / ".thumbs" / "t.png")  # hidden: not a class
    (root / "empty").mkdir()  # no images: not a class
    names = sorted(n for n in os.listdir(root) if not n.startswith(".") and n != "empty")  # torchvision's rule
    assert names == ["Zebra", "bird", "cat", "dog"]
    cfg = _cfg(root)
    assert (num_classes(cfg), class_names(cfg)) == (4, names)
    src = build_source(cfg, 4, "cpu", seed=1)
    assert isinstance(src, LoaderSource) and src.num_items == 12
    for _ in range(6):  # crosses an epoch
        b = src.next_batch()
        assert b.c.dtype == torch.int64 and b.c.shape == (4,)
        assert b.c.tolist() == [names.index(next(n for n, v in LEVELS.items() if v == g)) for g in _gray(b.x)]
    x, c = load_real_labeled(cfg)
    assert [LEVELS[names[k]] for k in c.tolist()] == _gray(x.float() / 127.5 - 1)
    assert torch.equal(load_real_images(cfg), x)


def test_same_classes_as_torchvision(tmp_path: Path) -> None:
    datasets = pytest.importorskip("torchvision.datasets")
    root = _tree(tmp_path / "imgs", {"dog": 3, "cat": 2, "bird": 3})
    tv = datasets.ImageFolder(str(root))
    layout = folder_layout(root)
    assert layout.names == tv.classes
    assert dict(zip(map(str, layout.files), layout.labels or [])) == {p: k for p, k in tv.samples}


def test_unlabeled_folder_has_no_classes_and_says_how_to_add_them(tmp_path: Path) -> None:
    for i in range(4):
        Image.new("L", (6, 6), 10 * i).save(tmp_path / f"{i}.png")
    cfg = _cfg(tmp_path)
    assert (num_classes(cfg), class_names(cfg)) == (0, None)
    assert build_source(cfg, 2, "cpu", 0).next_batch().c is None  # unconditional training unchanged
    with pytest.raises(ConfigError) as e:
        require_labels(cfg, "task 'cgan'")
    msg = str(e.value)
    assert msg.startswith(f"task 'cgan' needs class labels, but data.name 'folder' at {tmp_path} has none")
    assert f"{tmp_path}/cat/*.png" in msg and "fashion-mnist" in msg
    with pytest.raises(ConfigError, match="data.balance needs class labels"):
        build_source(_cfg(tmp_path, balance=True), 2, "cpu", 0)
    with pytest.raises(ConfigError, match="data.classes needs class labels"):
        load_real_images(_cfg(tmp_path, classes=[0]))
    with pytest.raises(DataError, match="need class labels"):
        load_real_labeled(cfg)


def test_mixed_folder_is_unlabeled_and_the_error_names_both(tmp_path: Path) -> None:
    root = _tree(tmp_path / "imgs", {"cat": 2, "dog": 2})
    Image.new("L", (6, 6), 1).save(root / "loose.png")
    cfg = _cfg(root)
    assert num_classes(cfg) == 0
    assert len(ImageFolderDataset(root, 4, 1)) == 5 and ImageFolderDataset(root, 4, 1)[0].shape == (1, 4, 4)
    with pytest.raises(ConfigError, match=r"1 image\(s\) lie directly in it \(loose.png\) beside the class subfolders \(cat, dog\)"):
        require_labels(cfg, "task 'cgan'")


def test_classes_and_per_class_limit_on_a_folder(tmp_path: Path) -> None:
    root = _tree(tmp_path / "imgs", {"bird": 4, "cat": 5, "dog": 3})  # bird 0, cat 1, dog 2
    cfg = _cfg(root, classes=[2, 1])
    assert class_names(cfg) == ["dog", "cat"]
    ds = ImageFolderDataset(root, 4, 1, classes=[2, 1])
    assert len(ds) == 8 and ds.class_names == ["dog", "cat"]
    for i in range(len(ds)):
        x, c = ds[i]
        assert c == {LEVELS["dog"]: 0, LEVELS["cat"]: 1}[_gray(x[None])[0]]
    capped = ImageFolderDataset(root, 4, 1, per_class_limit={1: 2})
    cats = [p.name for p, k in zip(capped.files, capped.labels or []) if k == 1]
    assert len(capped) == 4 + 2 + 3 and cats == ["cat00.png", "cat02.png"]  # first two in file order (cat01 is nested/)
    with pytest.raises(ConfigError, match=r"data.classes: class 3 is not a class of the image folder .*0: bird, 1: cat, 2: dog"):
        num_classes(_cfg(root, classes=[3]))
    assert len(load_real_labeled(_cfg(root, per_class_limit={1: 2}))[0]) == 12  # evaluation sees every image


def test_balance_on_a_folder_evens_classes_and_resumes(tmp_path: Path) -> None:
    root = _tree(tmp_path / "imgs", {"cat": 18, "dog": 2})
    cfg = _cfg(root, balance=True)
    src = build_source(cfg, 5, "cpu", seed=2)
    c = torch.cat([src.next_batch().c for _ in range(80)])  # 20 epochs of 4 batches
    assert abs(c.float().mean().item() - 0.5) < 0.08  # 400 draws: ~3 sigma; unbalanced would be 0.1
    make = lambda: build_source(cfg, 5, "cpu", seed=2)  # noqa: E731
    straight = [src.next_batch() for src in [make()] for _ in range(7)]  # 4 per epoch: crosses into epoch 1
    first = make()
    head = [first.next_batch() for _ in range(3)]
    resumed = make()
    resumed.load_state_dict(first.state_dict())
    got = head + [resumed.next_batch() for _ in range(4)]
    assert all(torch.equal(p.x, q.x) and torch.equal(p.c, q.c) for p, q in zip(straight, got, strict=True))


def test_weighted_order_is_the_same_in_both_sources() -> None:
    labels = torch.tensor([0] * 27 + [1] * 3)
    weights = 1.0 / torch.bincount(labels).double()[labels]

    class Rows(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 30

        def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
            return torch.tensor([float(i)]), int(labels[i])

    tensor = TensorSource(torch.arange(30.0).view(30, 1), 6, "cpu", seed=8, labels=labels, weights=weights)
    loader = LoaderSource(Rows(), 6, "cpu", seed=8, num_workers=0, weights=weights)
    for _ in range(10):
        t, ld = tensor.next_batch(), loader.next_batch()
        assert torch.equal(t.x, ld.x) and torch.equal(t.c, ld.c) and torch.equal(t.c, labels[t.x[:, 0].long()])
    with pytest.raises(DataError, match="30 finite values >= 0"):
        TensorSource(torch.zeros(30, 1), 6, "cpu", seed=0, weights=torch.ones(29))
