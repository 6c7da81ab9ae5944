"""The GPU presets stylegan2_folder_64 / _256: the paper's settings, and they train on an RGB folder (shrunk here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import gankit
from gankit.config import load_config
from gankit.tasks import build_task
from gankit.train.engine import train

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SHRINK = ["model.z_dim=16", "model.generator.w_dim=16", "model.generator.max_channels=8", "model.generator.min_channels=4",
          "model.discriminator.max_channels=8", "model.discriminator.min_channels=4"]  # fmt: skip


@pytest.mark.parametrize("name, size, gamma, half_life", [("stylegan2_folder_64", 64, 0.025, 10000), ("stylegan2_folder_256", 256, 1.0, 20000)])
def test_presets_keep_the_paper_settings(name, size, gamma, half_life):
    cfg = load_config(CONFIGS / f"{name}.yaml")
    assert cfg.task.name == "stylegan2" and cfg.data.name == "folder" and (cfg.data.image_size, cfg.data.channels) == (size, 3)
    g = cfg.model.generator.params
    assert (g["mapping_layers"], g["w_dim"], g["max_channels"]) == (8, 512, 512)
    regs = {r.name: r.params for r in cfg.regularizers}
    assert regs["r1"] == {"gamma": gamma, "every": 16} and regs["ema"] == {"half_life_images": half_life} and "ada" in regs
    assert (cfg.optim["g"].lr, tuple(cfg.optim["g"].betas)) == (0.0025, (0.0, 0.99))
    nets = build_task(load_config(CONFIGS / f"{name}.yaml", SHRINK), (3, size, size)).build()
    x = nets["G"](torch.randn(2, 16))
    assert x.shape == (2, 3, size, size) and nets["D"](x).shape[0] == 2


def test_folder_64_preset_trains_and_samples(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(8):  # 80x72 RGB: the preset's centre crop and resize make them 64x64
        Image.fromarray(rng.integers(0, 256, (72, 80, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    over = [*SHRINK, f"data.root={folder}", "data.num_workers=0", "train.batch_size=4", "train.max_steps=3",
            "log.progress=false", "log.tensorboard=false"]  # fmt: skip
    res = train(load_config(CONFIGS / "stylegan2_folder_64.yaml", over), tmp_path / "run", hooks=[])
    assert res.step == 3
    assert gankit.load(tmp_path / "run").sample(2, seed=0).shape == (2, 3, 64, 64)
