"""One tiny StyleGAN2 run and one tiny DCGAN run, shared by the latent-tool and truncation tests."""

from __future__ import annotations

import pytest

import gankit
from gankit.config import load_config
from gankit.train.engine import train

STYLE = [
    "task=stylegan2", "model.z_dim=8",
    "model.generator={name: stylegan2, w_dim: 8, mapping_layers: 1, max_channels: 8, min_channels: 4}",
    "model.discriminator={name: stylegan2, max_channels: 8, min_channels: 4}", "train.batch_size=8",
]  # fmt: skip


@pytest.fixture(scope="session")
def runs(tmp_path_factory, tiny_idx):
    """``{"style": Inference, "dcgan": Inference}``: 2 StyleGAN2 steps, 40 DCGAN steps."""
    import yaml

    root = tmp_path_factory.mktemp("latent")
    recipe = {"name": "t", "data": {"name": "fashion-mnist", "root": str(tiny_idx)},
              "model": {"z_dim": 8, "generator": {"name": "dcgan", "base_channels": 4}, "discriminator": {"name": "dcgan", "base_channels": 4}},
              "train": {"batch_size": 8, "max_steps": 2}, "log": {"progress": False, "tensorboard": False}}  # fmt: skip
    (root / "t.yaml").write_text(yaml.safe_dump(recipe))
    style = train(load_config(root / "t.yaml", STYLE), root / "style", hooks=[]).run_dir
    dcgan = train(load_config(root / "t.yaml", ["train.max_steps=40"]), root / "dcgan", hooks=[]).run_dir
    return {"style": gankit.load(style), "dcgan": gankit.load(dcgan)}
