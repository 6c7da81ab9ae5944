"""Tiny conditional recipes and labelled image folders for the augment tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image


def cgan_recipe(tmp_path: Path, data: dict, steps: int = 4, name: str = "tiny_cgan") -> Path:
    """A class-conditional DCGAN small enough to train a few steps in about a second; no FID, no monitor."""
    recipe = {
        "name": name,
        "task": "cgan",
        "data": {"num_workers": 0, **data},
        "model": {"z_dim": 8, "generator": {"name": "dcgan", "base_channels": 4, "cond": "concat"},
                  "discriminator": {"name": "dcgan", "base_channels": 4, "cond": "concat"}},
        "train": {"batch_size": 16, "max_steps": steps},
        "log": {"log_every": 2, "eval_every": 1000, "ckpt_every": 1000, "progress": False, "grid_size": 4, "tensorboard": False},
        "eval": {"fid": "off", "n_samples": 16, "n_reference": 16},
        "monitor": {"enabled": False},
    }  # fmt: skip
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


@pytest.fixture()
def tiny_cgan(tmp_path, tiny_idx) -> Path:
    """tests/conftest.py's tiny Fashion-MNIST-shaped IDX data, conditional."""
    return cgan_recipe(tmp_path, {"name": "fashion-mnist", "root": str(tiny_idx)})


#: class name -> (gray level, images); names sorted as strings give the ids: bolt 0, defect 1, nut 2.
FOLDER_CLASSES = {"nut": (200, 9), "defect": (120, 3), "bolt": (40, 12)}


@pytest.fixture()
def labelled_folder(tmp_path) -> Path:
    """An ImageFolder of three classes (one a rare 'defect'), 12x12 RGB, each class its own gray level."""
    root = tmp_path / "parts"
    rng = np.random.default_rng(0)
    for name, (level, n) in FOLDER_CLASSES.items():
        (root / name).mkdir(parents=True)
        for i in range(n):
            arr = np.clip(level + rng.integers(-10, 10, (12, 12, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"{name}_{i:02d}.png")
    return root
