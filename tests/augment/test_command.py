"""``gankit augment`` end to end on tiny trainings: the ImageFolder, the manifest, --run, the filters."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import ImageFolder

import gankit
from gankit.augment.command import AugmentRequest, augment
from gankit.augment.writer import MANIFEST_KEYS
from gankit.cli import main
from gankit.data.folder import ImageFolderDataset, folder_layout

from .conftest import cgan_recipe


def _quiet(**kw) -> AugmentRequest:
    return AugmentRequest(log=lambda _m: None, **kw)


def _pngs(folder) -> torch.Tensor:
    return torch.stack([torch.from_numpy(np.array(Image.open(p))) for p in sorted(folder.glob("*.png"))])


def test_cli_trains_and_writes_an_imagefolder_with_a_complete_manifest(tiny_cgan, tmp_path, capsys):
    out, run = tmp_path / "aug", tmp_path / "run"
    rc = main(["augment", "--data", "fashion-mnist", "--class", "Shirt", "--n", "7", "--recipe", str(tiny_cgan),
               "--set", "data.per_class_limit={6: 3}", "--seed", "4", "--train-out", str(run), "--out", str(out)])  # fmt: skip
    assert rc == 0
    text = capsys.readouterr().out
    assert "wrote 7 images of class 6 (Shirt)" in text and "7 of 7 proposals accepted (100.0%)" in text
    files = sorted((out / "Shirt").iterdir())
    assert [f.name for f in files] == [f"synthetic_{i:06d}.png" for i in range(7)]

    # it loads back as an ImageFolder, in torchvision and in gankit, as class "Shirt"
    tv = ImageFolder(str(out))
    assert tv.classes == ["Shirt"] and len(tv) == 7 and {t for _, t in tv.samples} == {0}
    assert tv[0][0].size == (28, 28)
    layout = folder_layout(out)
    assert layout.names == ["Shirt"] and len(layout.files) == 7
    # the pixels are the run's samples of class 6 at the seed (what `gankit sample RUN --class 6 --seed 4` gives)
    g = gankit.load(run)
    assert torch.equal(_pngs(out / "Shirt"), g.sample(7, seed=4, classes=[6])[:, 0])

    m = json.loads((out / "manifest.json").read_text())
    assert set(MANIFEST_KEYS) <= set(m)
    assert m["class"] == {"id": 6, "name": "Shirt"} and m["n"] == 7 and m["folder"] == "Shirt"
    assert m["run"] == str(run) and m["step"] == 4 == g.step and m["trained"] is True and m["seed"] == 4
    assert m["weights"] == g.weights and m["checkpoint"] == str(g.path)
    assert m["recipe"]["name"] == "tiny_cgan" and m["recipe"]["overrides"] == ["data.per_class_limit={6: 3}"]
    assert m["filter"]["kind"] == "none" and m["proposed"] == m["accepted"] == 7 and m["acceptance_rate"] == 1.0
    assert m["data"]["per_class_limit"] == {"6": 3} and m["data"]["training_counts"][6] == 3
    assert 0.0 <= m["metrics"]["class_consistency"] <= 1.0  # the shipped Fashion-MNIST classifier applies here
    assert m["gankit_version"] == gankit.__version__ and m["created"].endswith("Z") and m["seconds"]["training"] > 0
    assert m["files"] == {"pattern": "Shirt/synthetic_%06d.png", "count": 7, "shape": [1, 28, 28]}


def test_a_folder_dataset_merges_back_with_the_right_labels_and_a_run_is_reused(labelled_folder, tmp_path, capsys):
    recipe = cgan_recipe(tmp_path, {"name": "fashion-mnist", "image_size": 16})
    out, run = tmp_path / "aug", tmp_path / "run"
    m = augment(_quiet(klass="defect", n=5, out=out, data=str(labelled_folder), recipe=str(recipe), train_out=run))
    assert m["class"] == {"id": 1, "name": "defect"} and m["data"]["name"] == "folder"
    assert m["data"]["training_counts"] == [12, 3, 9] and m["files"]["shape"] == [3, 16, 16]
    assert "class_consistency" not in m["metrics"]  # not Fashion-MNIST: the shipped classifier does not apply

    merged = tmp_path / "merged"
    shutil.copytree(labelled_folder, merged)
    for f in (out / "defect").iterdir():
        shutil.copy(f, merged / "defect" / f.name)
    tv = ImageFolder(str(merged))
    synthetic = [t for p, t in tv.samples if "synthetic_" in p]
    assert tv.class_to_idx == {"bolt": 0, "defect": 1, "nut": 2} and synthetic == [1] * 5
    ds = ImageFolderDataset(merged, 16, 3)
    assert ds.class_names == ["bolt", "defect", "nut"]
    assert [lab for f, lab in zip(ds.files, ds.labels) if "synthetic_" in f.name] == [1] * 5

    # --run reuses it: no training, the same step, the run's own data and class names
    again = augment(_quiet(klass="0", n=3, out=tmp_path / "aug2", run=run))
    assert again["trained"] is False and again["step"] == m["step"] and again["class"]["name"] == "bolt"
    assert again["run"] == str(run) and "training" not in again["seconds"]
    assert len(list((tmp_path / "aug2" / "bolt").glob("*.png"))) == 3
    rc = main(["augment", "--run", str(run), "--data", "fashion-mnist", "--class", "1", "--n", "2", "--out", str(tmp_path / "x")])
    assert rc == 2 and "was trained on folder at" in capsys.readouterr().err


def test_the_confidence_filter_end_to_end(tiny_cgan, tmp_path):
    m = augment(_quiet(klass=3, n=6, out=tmp_path / "aug", data="fashion-mnist", recipe=str(tiny_cgan), train_out=tmp_path / "run",
                       filter="confidence:0.02", classifier_epochs=1))  # fmt: skip
    assert m["filter"]["kind"] == "confidence" and m["filter"]["threshold"] == 0.02
    assert m["proposed"] >= 6 and 0 < m["accepted"] <= m["proposed"]
    assert m["acceptance_rate"] == pytest.approx(m["accepted"] / m["proposed"])
    fc = m["metrics"]["filter_classifier"]
    assert fc["n_train"] == 256 and fc["epochs"] == 1 and fc["kept_mean_p"] >= 0.02
    assert len(list((tmp_path / "aug" / "Dress").glob("*.png"))) == 6


def test_drs_filter_through_gankit_sampling(tiny_cgan, tmp_path):
    pytest.importorskip("gankit.sampling")
    m = augment(_quiet(klass=1, n=4, out=tmp_path / "aug", data="fashion-mnist", recipe=str(tiny_cgan), train_out=tmp_path / "run",
                       filter="drs:-100"))  # fmt: skip  (4 steps of training: D rejects nearly all unless gamma is low)
    assert m["filter"]["kind"] == "drs" and m["filter"]["gamma"] == -100 and m["proposed"] >= m["accepted"] >= 4
    assert 0 < m["acceptance_rate"] <= 1 and len(list((tmp_path / "aug" / "Trouser").glob("*.png"))) == 4
