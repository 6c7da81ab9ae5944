"""``--data``: the recipe's data section, the classes, and training items with exact per-class counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from gankit.augment.data import adapt_data, class_names, folder_channels, resolve_class, training_counts, training_items
from gankit.config import validate
from gankit.data import build_source
from gankit.data.folder import ImageFolderDataset
from gankit.data.idx import load_idx_dataset
from gankit.errors import ConfigError
from gankit.train.eval_hook import holds_out_val

from .conftest import FOLDER_CLASSES


def _cfg(data: dict, **sections):
    return validate({"data": {"num_workers": 0, **data}, "train": {"max_steps": 1}, "eval": {"fid": "off"}, **sections})


def _source_labels(cfg) -> torch.Tensor:
    """The labels of every item the GAN's training source holds (the engine's view of the data)."""
    d = cfg.data
    src = build_source(d, 7, "cpu", seed=0, holdout=holds_out_val(cfg))
    if d.name == "folder":  # the dataset the folder's source loads from, built as the spec builds it
        ds = ImageFolderDataset(d.root, d.image_size, d.channels, limit=d.limit, classes=d.classes, per_class_limit=d.per_class_limit)
        labels = torch.tensor(ds.labels)
    else:
        labels = src.labels
    assert len(labels) == src.num_items
    return labels.cpu()


def test_a_per_class_limit_builds_exactly_the_requested_counts(tiny_idx):
    full = np.bincount(load_idx_dataset("fashion-mnist", "train", tiny_idx)[1], minlength=10)
    limit = {6: 3, 2: 0, 9: 1}
    cfg = _cfg({"name": "fashion-mnist", "root": str(tiny_idx), "per_class_limit": limit})
    x, y = training_items(cfg)
    want = [limit.get(c, int(full[c])) for c in range(10)]
    assert np.bincount(y.numpy(), minlength=10).tolist() == want
    assert training_counts(cfg, 10) == want
    assert x.shape == (sum(want), 1, 28, 28) and x.dtype == torch.uint8
    assert np.bincount(_source_labels(cfg).numpy(), minlength=10).tolist() == want  # what the GAN trains on
    # the first items of the class in file order, as the data layer documents
    images, labels = load_idx_dataset("fashion-mnist", "train", tiny_idx)
    sixes = np.flatnonzero(labels == 6)[:3]
    assert torch.equal(x[y == 6][:, 0], torch.from_numpy(images[sixes]))


def test_the_classifier_sees_what_the_gan_sees_when_training_holds_out_val(tiny_idx):
    cfg = _cfg({"name": "fashion-mnist", "root": str(tiny_idx), "per_class_limit": {6: 3, 2: 0}}, eval={"fid": "on"})
    assert holds_out_val(cfg)  # checkpoint selection on val: the last items of the file never train
    _, y = training_items(cfg)
    engine = np.bincount(_source_labels(cfg).numpy(), minlength=10).tolist()
    assert np.bincount(y.numpy(), minlength=10).tolist() == engine == training_counts(cfg, 10)
    assert engine[6] == 3 and engine[2] == 0
    everything = training_counts(_cfg({"name": "fashion-mnist", "root": str(tiny_idx), "per_class_limit": {6: 3, 2: 0}}), 10)
    assert sum(engine) < sum(everything)  # the validation items are left out of both


def test_a_per_class_limit_on_a_folder(labelled_folder):
    cfg = _cfg({"name": "folder", "root": str(labelled_folder), "image_size": 8, "channels": 3, "per_class_limit": {1: 2}})
    x, y = training_items(cfg)
    assert np.bincount(y.numpy(), minlength=3).tolist() == [12, 2, 9]  # bolt, defect (capped), nut
    assert training_counts(cfg, 3) == [12, 2, 9] and x.shape == (23, 3, 8, 8)
    assert np.bincount(_source_labels(cfg).numpy(), minlength=3).tolist() == [12, 2, 9]
    levels = x.float().mean((1, 2, 3))
    for k, name in enumerate(sorted(FOLDER_CLASSES)):
        assert (levels[y == k] - FOLDER_CLASSES[name][0]).abs().max() < 8


def test_adapt_data_for_a_dataset_and_a_folder(tiny_idx, labelled_folder, tmp_path):
    raw = {"data": {"name": "fashion-mnist", "root": str(tiny_idx)}}
    assert adapt_data(raw, "fashion-mnist")["data"] == {"name": "fashion-mnist", "root": str(tiny_idx)}  # its own copy kept
    assert adapt_data(raw, "mnist")["data"] == {"name": "mnist"}  # another dataset: the data cache
    d = adapt_data(raw, str(labelled_folder))["data"]
    assert d == {"name": "folder", "root": str(labelled_folder.resolve()), "channels": 3}
    gray = tmp_path / "gray"
    for name in ("a", "b"):
        (gray / name).mkdir(parents=True)
        Image.new("L", (5, 5), 9).save(gray / name / "x.png")
    assert folder_channels(gray) == 1 and folder_channels(labelled_folder) == 3
    with pytest.raises(ConfigError, match="neither a built-in dataset .*fashion-mnist.* nor a folder"):
        adapt_data(raw, str(tmp_path / "nowhere"))


def test_classes_by_id_or_name_and_clear_errors(labelled_folder, tmp_path):
    names = class_names(_cfg({"name": "fashion-mnist"}))
    assert resolve_class("6", names) == 6 and resolve_class("Shirt", names) == 6 and resolve_class("ankle BOOT", names) == 9
    with pytest.raises(ConfigError, match=r"--class 12: no such class; the data has 10 classes, 0: T-shirt/top, .*9: Ankle boot"):
        resolve_class("12", names)
    with pytest.raises(ConfigError, match=r"--class 'sock'.*0: T-shirt/top"):
        resolve_class("sock", names)
    assert class_names(_cfg({"name": "folder", "root": str(labelled_folder)})) == ["bolt", "defect", "nut"]
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(3):
        Image.new("L", (5, 5), i).save(flat / f"{i}.png")
    with pytest.raises(ConfigError, match=r"gankit augment needs class labels, but .*own subfolder"):
        class_names(_cfg({"name": "folder", "root": str(flat)}))
    one = tmp_path / "one" / "only"
    one.mkdir(parents=True)
    Image.new("L", (5, 5), 1).save(one / "x.png")
    with pytest.raises(ConfigError, match="at least two classes"):
        class_names(_cfg({"name": "folder", "root": str(one.parent)}))
