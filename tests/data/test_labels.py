"""Labels through the data layer on IDX data: Batch.c, class selection, per-class caps, balancing."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.config import Config, DataConfig, load_yaml, to_yaml, validate
from gankit.data import (
    build_source, class_names, data_spec, load_real_images, load_real_labeled, num_classes, read_classes_json,
    require_labels, select_items, write_classes_json,
)  # fmt: skip
from gankit.data.idx import write_idx
from gankit.data.splits import val_size
from gankit.errors import ConfigError, DataError

FMNIST_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _write(folder: Path, train_labels: np.ndarray, n_test: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """IDX files whose training image i carries its own index in pixels (0, 0) and (0, 1): i = 256 a + b."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n = len(train_labels)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    images[:, 0, 0], images[:, 0, 1] = np.arange(n) // 256, np.arange(n) % 256
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", train_labels.astype(np.uint8))
    write_idx(folder / "t10k-images-idx3-ubyte.gz", rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8))
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", (np.arange(n_test) % 10).astype(np.uint8))
    return images, train_labels.astype(np.int64)


def _index(x: torch.Tensor) -> torch.Tensor:
    """The training-file index each image in a [-1, 1] batch carries."""
    px = ((x[:, 0, 0, :2] + 1) * 127.5).round().long()
    return px[:, 0] * 256 + px[:, 1]


def _batches(src, k: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    out = []
    for _ in range(k):
        b = src.next_batch()
        out.append((b.x, b.c))
    return out


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(torch.equal(x1, x2) and torch.equal(c1, c2) for (x1, c1), (x2, c2) in zip(a, b))


@pytest.fixture
def labels_60() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 10, 60)


def test_idx_labels_match_the_label_file_and_survive_resume(tmp_path: Path, labels_60: np.ndarray) -> None:
    _, labels = _write(tmp_path, labels_60)
    cfg = DataConfig(name="mnist", root=str(tmp_path))
    make = lambda: build_source(cfg, 8, "cpu", seed=3)  # noqa: E731 - 7 batches per epoch
    straight = _batches(make(), 10)
    for x, c in straight:
        assert c.dtype == torch.int64 and c.shape == (8,)
        assert torch.equal(c, torch.from_numpy(labels)[_index(x)])
    first = make()
    head = _batches(first, 4)
    second = make()
    second.load_state_dict(json.loads(json.dumps(first.state_dict())))
    assert _same(straight, head + _batches(second, 6))  # crosses the epoch boundary


def test_holdout_keeps_labels_with_their_images(tmp_path: Path) -> None:
    labels = np.random.default_rng(2).integers(0, 10, 200)
    images, labels = _write(tmp_path, labels)
    cfg = DataConfig(name="fashion-mnist", root=str(tmp_path))
    k = val_size(200)
    src = build_source(cfg, 10, "cpu", seed=0, holdout=True)
    assert src.num_items == 200 - k
    batches = [src.next_batch() for _ in range(src.batches_per_epoch)]
    seen = torch.cat([_index(b.x) for b in batches])
    assert seen.max() < 200 - k and len(set(seen.tolist())) == 200 - k
    assert torch.equal(torch.cat([b.c for b in batches]), torch.from_numpy(labels)[seen])
    x, c = load_real_labeled(cfg, split="val")
    assert torch.equal(x[:, 0], torch.from_numpy(images[-k:])) and torch.equal(c, torch.from_numpy(labels[-k:]))
    assert torch.equal(load_real_images(cfg, split="val"), x)


def test_names_and_counts() -> None:
    assert class_names(DataConfig(name="fashion-mnist")) == FMNIST_NAMES
    assert class_names(DataConfig(name="mnist")) == [str(i) for i in range(10)]
    assert num_classes(DataConfig(name="mnist")) == 10
    picked = DataConfig(name="fashion-mnist", classes=[7, 2])
    assert (num_classes(picked), class_names(picked)) == (2, ["Sneaker", "Pullover"])
    for name in ("ring8", "grid25"):
        assert (num_classes(DataConfig(name=name)), class_names(DataConfig(name=name))) == (0, None)


def test_classes_keep_only_those_and_remap_in_listed_order(tmp_path: Path, labels_60: np.ndarray) -> None:
    images, labels = _write(tmp_path, labels_60)
    cfg = DataConfig(name="fashion-mnist", root=str(tmp_path), classes=[7, 2])
    kept = np.flatnonzero((labels == 7) | (labels == 2))
    src = build_source(cfg, 2, "cpu", seed=0)
    assert src.num_items == len(kept)
    for x, c in _batches(src, src.batches_per_epoch):
        original = torch.from_numpy(labels)[_index(x)]
        assert set(original.tolist()) <= {7, 2}
        assert torch.equal(c, (original == 2).long())  # 7 -> 0, 2 -> 1
    x, c = load_real_labeled(cfg, split="train")
    assert torch.equal(x[:, 0], torch.from_numpy(images[kept]))
    assert torch.equal(c, torch.from_numpy((labels[kept] == 2).astype(np.int64)))
    assert len(load_real_images(cfg.model_copy(update={"limit": 3}), split="train")) == 3  # limit counts kept items
    assert data_spec("fashion-mnist").reference(cfg, "test") is None  # full-data statistics would not match
    assert data_spec("fashion-mnist").reference(DataConfig(), "test") == "fashion-mnist:test"


def test_per_class_limit_caps_training_items_first_in_file_order(tmp_path: Path, labels_60: np.ndarray) -> None:
    _, labels = _write(tmp_path, labels_60)
    fours = np.flatnonzero(labels == 4)
    assert len(fours) > 3
    cfg = DataConfig(name="mnist", root=str(tmp_path), per_class_limit={4: 3})
    src = build_source(cfg, 4, "cpu", seed=0)
    assert src.num_items == 60 - (len(fours) - 3)
    seen = torch.cat([_index(b.x) for b in (src.next_batch() for _ in range(src.batches_per_epoch * 3))])
    assert set(seen[torch.from_numpy(labels)[seen] == 4].tolist()) == set(fours[:3].tolist())
    assert len(set(seen.tolist())) == src.num_items  # every other item still trains
    assert int((load_real_labeled(cfg, split="train")[1] == 4).sum()) == len(fours)  # evaluation sees every item


def test_unknown_class_ids_name_the_key(tmp_path: Path, labels_60: np.ndarray) -> None:
    _write(tmp_path, labels_60)
    with pytest.raises(ConfigError, match=r"data.classes: class 10 is not a class of mnist.*ids 0..9"):
        build_source(DataConfig(name="mnist", root=str(tmp_path), classes=[3, 10]), 4, "cpu", 0)
    with pytest.raises(ConfigError, match=r"data.per_class_limit: class 12 .*Ankle boot"):
        num_classes(DataConfig(name="fashion-mnist", per_class_limit={12: 5}))


def test_balance_evens_an_imbalanced_set_and_resumes(tmp_path: Path) -> None:
    labels = np.array([0] * 900 + [1] * 100)
    np.random.default_rng(0).shuffle(labels)
    _write(tmp_path, labels)
    cfg = DataConfig(name="mnist", root=str(tmp_path), balance=True)
    src = build_source(cfg, 50, "cpu", seed=4)
    epoch = torch.cat([src.next_batch().c for _ in range(src.batches_per_epoch)])
    assert len(epoch) == 1000 and abs(epoch.float().mean().item() - 0.5) < 0.06  # ~4 sigma of a fair coin
    plain = build_source(cfg.model_copy(update={"balance": False}), 50, "cpu", seed=4)
    assert torch.cat([plain.next_batch().c for _ in range(20)]).float().mean().item() == pytest.approx(0.1)
    make = lambda: build_source(cfg, 50, "cpu", seed=4)  # noqa: E731
    straight = _batches(make(), 25)  # 20 per epoch: crosses into epoch 1
    first = make()
    head = _batches(first, 13)
    second = make()
    second.load_state_dict(first.state_dict())
    assert _same(straight, head + _batches(second, 12))
    assert not torch.equal(straight[0][0], straight[20][0])  # a fresh draw each epoch


def test_label_switches_on_unlabeled_data_name_the_key() -> None:
    with pytest.raises(ConfigError, match=r"data.balance needs class labels, but data.name 'ring8' has none"):
        build_source(DataConfig(name="ring8", n_points=64, balance=True), 8, "cpu", 0)
    with pytest.raises(ConfigError, match=r"data.classes and data.balance need class labels.*'grid25'"):
        build_source(DataConfig(name="grid25", n_points=64, classes=[1], balance=True), 8, "cpu", 0)
    with pytest.raises(ConfigError, match=r"task 'cgan' needs class labels, but data.name 'ring8' has none"):
        require_labels(Config(data=DataConfig(name="ring8")), "task 'cgan'")  # a whole Config works too
    with pytest.raises(DataError, match=r"need class labels, but data.name 'ring8'"):
        load_real_labeled(DataConfig(name="ring8"))
    assert require_labels(DataConfig(name="mnist", classes=[4, 5, 6]), "task 'cgan'") == 3


def _reference_select(labels, classes, limit, per_class_limit):
    """The documented rule, spelled out item by item."""
    idx = [i for i, y in enumerate(labels) if classes is None or y in classes]
    idx = idx[:limit] if limit is not None else idx
    taken: dict[int, int] = {}
    out = []
    for i in idx:
        y = labels[i]
        taken[y] = taken.get(y, 0) + 1
        if per_class_limit is None or y not in per_class_limit or taken[y] <= per_class_limit[y]:
            out.append(i)
    return out, [classes.index(labels[i]) if classes is not None else labels[i] for i in out]


@pytest.mark.parametrize(
    "classes,limit,per_class",
    [(None, None, None), ([3, 1, 4], None, None), (None, 40, None), (None, None, {2: 3, 5: 0}), ([5, 2], 30, {2: 4})],
)
def test_select_items_matches_the_rule(classes, limit, per_class) -> None:
    labels = np.random.default_rng(5).integers(0, 6, 100)
    index, new = select_items(labels, classes, limit, per_class)
    want_index, want_labels = _reference_select(labels.tolist(), classes, limit, per_class)
    assert index.tolist() == want_index and new.tolist() == want_labels and new.dtype == np.int64


def test_classes_json_round_trip(tmp_path: Path) -> None:
    names = [f"class {i}" for i in range(12)]
    path = write_classes_json(tmp_path / "run", names)
    assert path == tmp_path / "run" / "classes.json"
    assert json.loads(path.read_text()) == {str(i): n for i, n in enumerate(names)}
    assert list(json.loads(path.read_text())) == [str(i) for i in range(12)]  # "10" after "9"
    assert read_classes_json(tmp_path / "run") == names
    assert sorted(p.name for p in path.parent.iterdir()) == ["classes.json"]  # no temp file left
    assert read_classes_json(tmp_path) is None
    path.write_text(json.dumps({"0": "a", "2": "b"}))
    with pytest.raises(DataError, match="classes.json"):
        read_classes_json(tmp_path / "run")


@pytest.mark.parametrize(
    "data,match",
    [
        ({"classes": []}, "'data.classes': an empty list"),
        ({"classes": [7, 2, 7]}, "'data.classes': lists class 7 more than once"),
        ({"classes": [-1]}, "'data.classes': class ids are >= 0"),
        ({"per_class_limit": {6: -5}}, "'data.per_class_limit': class 6: a limit .* >= 0, got -5"),
        ({"classes": [7, 2], "per_class_limit": {6: 60}}, "data.per_class_limit names class 6, which data.classes"),
    ],
)
def test_config_checks_name_the_key(data: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        validate({"data": data})


def test_config_round_trips_through_the_run_folder_yaml() -> None:
    cfg = validate({"data": {"classes": [7, 2], "per_class_limit": {7: 60}, "balance": True}})
    assert validate(load_yaml(to_yaml(cfg))).data == cfg.data  # JSON-mode dump writes the keys as "7"
