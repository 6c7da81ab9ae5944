"""The remedy recipes in configs/ build (regularizers included) and take a training step."""

from pathlib import Path

import pytest
import torch

from gankit.config import load_config
from gankit.data import sample_shape
from gankit.tasks import build_task
from gankit.train.engine import train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RECIPES = [
    "sngan_fashion_mnist", "stable_fashion_mnist", "r1_fashion_mnist", "dragan_fashion_mnist", "label_smoothing_fashion_mnist",
    "instance_noise_fashion_mnist", "feature_matching_fashion_mnist", "minibatch_fashion_mnist",
    "diffaugment_small_fashion_mnist", "mlp_ring8_unrolled", "mlp_ring8_pacgan",
]  # fmt: skip


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_builds_and_trains_a_step(name, tiny_idx, tmp_path):
    path = CONFIGS / f"{name}.yaml"
    cfg = load_config(path)
    assert cfg.description.strip()
    assert cfg.regularizers or cfg.model.discriminator.params.get("minibatch_std")
    nets = build_task(cfg, sample_shape(cfg.data)).build()
    pac = next((r.params.get("pac", 2) for r in cfg.regularizers if r.name == "pacgan"), 1)
    assert nets["D"](nets["G"](torch.randn(8, cfg.model.z_dim))).shape[0] == 8 // pac  # one score per pack
    over = ["train.max_steps=1", "train.max_minutes=null", "log.progress=false", "log.tensorboard=true", "train.batch_size=16"]
    if cfg.data.name == "fashion-mnist":
        over += [f"data.root={tiny_idx}", "data.limit=null"]
    else:
        over += ["data.n_points=256"]
    assert train(load_config(path, over), tmp_path / name, hooks=[]).step == 1
