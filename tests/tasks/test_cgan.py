"""The class-conditional task: labels through G, D, the class losses, sampling and the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.cli import main
from gankit.config import load_config, validate
from gankit.core.phase import PhaseContext
from gankit.errors import ConfigError
from gankit.train.engine import Engine, train
from gankit.train.grids import grid_inputs

CGAN = ["task=cgan", "model.generator.cond=concat", "model.discriminator.cond=projection"]
ACGAN = ["task=cgan", "model.generator.cond=concat", "model.discriminator.aux_classifier=true"]


@pytest.fixture()
def cgan_run(tiny_recipe, tmp_path):
    res = train(load_config(tiny_recipe, CGAN + ["train.max_steps=4"]), tmp_path / "c", hooks=[])
    return res.run_dir


def test_conditional_run_signature_classes_and_grid(cgan_run):
    g = gankit.load(cgan_run)
    assert g.signature["num_classes"] == 10 and g.signature["task"] == "cgan"
    assert json.loads((cgan_run / "classes.json").read_text())["9"] == "Ankle boot"
    x = g.sample(6, seed=0, classes=[2])
    assert x.shape == (6, 1, 28, 28) and torch.equal(x, g.sample(6, seed=0, classes=[2]))
    assert not torch.equal(x, g.sample(6, seed=0, classes=[5]))  # the class changes the samples
    with pytest.raises(ConfigError, match="classes 0..9"):
        g.sample(2, classes=[10])


def test_sample_cli_class_forms(cgan_run, tmp_path):
    out = tmp_path / "k.npy"
    assert main(["sample", str(cgan_run), "--n", "5", "--class", "3", "--out", str(out)]) == 0
    assert np.load(out).shape == (5, 1, 28, 28) and np.load(out).dtype == np.uint8
    assert np.load(tmp_path / "k.labels.npy").tolist() == [3] * 5
    assert main(["sample", str(cgan_run), "--per-class", "2", "--out", str(tmp_path / "p.npy")]) == 0
    assert np.load(tmp_path / "p.labels.npy").tolist() == [k for k in range(10) for _ in range(2)]
    assert main(["sample", str(cgan_run), "--n", "6", "--classes", "0,3,7", "--out", str(tmp_path / "g.png")]) == 0
    from PIL import Image

    img = Image.open(tmp_path / "g.png")
    assert img.height == 3 * 30 + 2  # one row per class (28 px cells, 2 px padding)
    assert main(["sample", str(cgan_run), "--n", "2", "--class", "12", "--out", str(tmp_path / "bad.npy")]) == 2


def test_in_loop_grid_is_class_by_sample_with_shared_noise():
    z, c, cols = grid_inputs(torch.randn(64, 8), 10)
    assert cols == 8 and z.shape == (80, 8) and c.tolist() == [k for k in range(10) for _ in range(8)]
    assert torch.equal(z[:8], z[8:16])  # the same z in each column, across classes


def test_acgan_class_terms_equal_cross_entropy(tiny_recipe, tmp_path):
    e = Engine(load_config(tiny_recipe, ACGAN + ["task.aux_weight=0.5"]), tmp_path / "a", hooks=[])
    logits_r, logits_f = torch.randn(4, 10), torch.randn(4, 10)
    c = torch.tensor([1, 0, 9, 3])
    ctx = PhaseContext(e.clock, e.nets, e.raw, e.optimizers, e.device)
    terms: dict = {}
    e.task._class_terms(terms, ctx, "d", ((logits_r,), (logits_f,)), c)
    want = 0.5 * (F.cross_entropy(logits_r, c) + F.cross_entropy(logits_f, c))
    assert terms["cls"].item() == pytest.approx(want.item(), rel=1e-6)
    terms = {}
    e.task._class_terms(terms, ctx, "g", (logits_f,), c)
    assert terms["cls"].item() == pytest.approx(0.5 * F.cross_entropy(logits_f, c).item(), rel=1e-6)
    out, totals = e.train_step(want=True)
    assert {"d_cls", "g_cls", "acc_class_real"} <= set(out) and all(torch.isfinite(v) for v in totals.values())


def test_conditional_recipe_without_labels_is_a_clear_error(tmp_path):
    cfg = validate({"task": "cgan", "data": {"name": "ring8"}, "model": {"generator": {"name": "mlp"}, "discriminator": {"name": "mlp"}}})
    with pytest.raises(ConfigError, match="labels"):
        Engine(cfg, tmp_path / "r", hooks=[])


def test_unknown_task_option_is_named(tiny_recipe, tmp_path):
    with pytest.raises(ConfigError, match="task.aux_wieght.*aux_weight"):
        Engine(load_config(tiny_recipe, CGAN + ["task.aux_wieght=1"]), tmp_path / "x", hooks=[])


def test_eval_of_a_conditional_run_samples_every_class_and_checks_it(cgan_run, capsys):
    assert main(["eval", str(cgan_run), "--metrics", "class_consistency", "--n", "60", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    names = {m["name"]: m for m in rep["metrics"]}
    assert 0.0 <= names["class_consistency"]["value"] <= 1.0
    assert names["class_consistency"]["protocol"]["n_generated_per_class"] == [6] * 10
