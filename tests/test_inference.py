"""gankit.load: one inference path for sample, eval, export and serve; old checkpoints stay readable."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

import gankit
from gankit.config import load_config
from gankit.errors import CheckpointError, ConfigError
from gankit.train.engine import Engine, train


@pytest.fixture()
def run(tiny_recipe, tmp_path):
    train(load_config(tiny_recipe, ["train.max_steps=4", "regularizers=[{name: ema, decay: 0.5}]"]), tmp_path / "r", hooks=[])
    return tmp_path / "r"


def test_load_returns_module_signature_and_seeded_uint8_samples(run):
    g = gankit.load(run)
    assert g.weights == "G_ema" and isinstance(g.module, torch.nn.Module)
    assert g.signature == {"task": "gan", "z_dim": 8, "num_classes": 0, "input_shape": None, "output_shape": [1, 28, 28],
                           "value_range": [-1.0, 1.0], "output": "image"}  # fmt: skip
    json.dumps(g.signature)  # plain data
    a, b = g.sample(5, seed=3), g.sample(5, seed=3)
    assert a.dtype == torch.uint8 and a.shape == (5, 1, 28, 28) and torch.equal(a, b)
    assert not torch.equal(a, g.sample(5, seed=4))
    assert gankit.load(run, prefer_ema=False).weights == "G"
    with pytest.raises(ConfigError, match="unconditional"):
        g.sample(2, classes=[1])


def test_load_builds_no_discriminator_or_optimizer(run, monkeypatch):
    import gankit.tasks.gan as gan

    monkeypatch.setattr(gan.GAN, "_d", lambda self, shape: (_ for _ in ()).throw(AssertionError("built a D")))
    monkeypatch.setattr(torch.optim, "Adam", lambda *a, **k: (_ for _ in ()).throw(AssertionError("built an optimizer")))
    assert gankit.load(run).sample(2).shape == (2, 1, 28, 28)


def test_sample_matches_the_training_engines_generator(run, tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe, ["train.max_steps=4", "regularizers=[{name: ema, decay: 0.5}]"])
    e = Engine(cfg, run, resume_from=run / "checkpoints" / "step-000004", hooks=[])
    g = gankit.load(run)
    z = g.noise(6, seed=1)
    assert torch.allclose(e.generate(z), g.generate(z))


def test_vector_runs_give_float_points(tmp_path):
    from gankit.config import validate

    cfg = validate({"name": "ring", "data": {"name": "ring8", "n_points": 256},
                    "model": {"z_dim": 4, "generator": {"name": "mlp", "hidden": 8}, "discriminator": {"name": "mlp", "hidden": 8}},
                    "train": {"batch_size": 32, "max_steps": 2}, "log": {"progress": False}})  # fmt: skip
    train(cfg, tmp_path / "ring", hooks=[])
    pts = gankit.load(tmp_path / "ring").sample(10)
    assert pts.dtype == torch.float32 and pts.shape == (10, 2)


def _as_old_layout(ckpt):
    """Rewrite a checkpoint the way gankit wrote them before Core v2 (fixed optim_g/optim_d, no layout)."""
    meta = json.loads((ckpt / "state.json").read_text())
    items = dict(meta["__dict__"])
    opts = dict(items.pop("optimizers")["__dict__"])
    items["optim_g"], items["optim_d"] = opts["g"], opts["d"]
    for key in ("layout", "task", "task_state", "elapsed_s"):
        items.pop(key, None)
    (ckpt / "state.json").write_text(json.dumps({"__dict__": list(items.items())}))


def test_old_layout_checkpoints_sample_but_do_not_resume(tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe, ["train.max_steps=2"])
    train(cfg, tmp_path / "old", hooks=[])
    ckpt = tmp_path / "old" / "checkpoints" / "step-000002"
    _as_old_layout(ckpt)
    assert gankit.load(ckpt).sample(3).shape == (3, 1, 28, 28)
    with pytest.raises(CheckpointError, match="older checkpoint layout"):
        Engine(cfg, tmp_path / "old", resume_from=ckpt, hooks=[])


def test_a_checkpoint_whose_recipe_no_longer_validates_is_a_clear_error(tiny_recipe, tmp_path):
    train(load_config(tiny_recipe, ["train.max_steps=2"]), tmp_path / "r", hooks=[])
    ckpt = tmp_path / "r" / "checkpoints" / "step-000002"
    bad = tmp_path / "bad" / "checkpoints" / "step-000002"
    shutil.copytree(ckpt, bad)
    meta = (bad / "state.json").read_text().replace('"nonsaturating"', '"retired_loss"')
    (bad / "state.json").write_text(meta)
    with pytest.raises(CheckpointError, match="older checkpoint layout|does not validate"):
        gankit.load(bad)
