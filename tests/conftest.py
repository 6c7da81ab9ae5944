"""Shared fixtures: tiny datasets the tests make themselves, and tiny recipes."""

from __future__ import annotations

from pathlib import Path

import os
import tempfile

import numpy as np
import pytest
import yaml

import torch

# Reference statistics and data caches of the tests never touch the user's ~/.cache.
os.environ.setdefault("GANKIT_CACHE", tempfile.mkdtemp(prefix="gankit-test-cache-"))
# Tiny models run fastest on one thread, and two threads stall badly when the other core is busy.
torch.set_num_threads(1)


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """28x28 images of a bright square whose position encodes one of 10 labels."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    imgs = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, lab in enumerate(labels):
        r, c = 2 + (lab // 5) * 12, 2 + (lab % 5) * 5
        imgs[i, r : r + 10, c : c + 4] = 220
    return imgs, labels.astype(np.uint8)


@pytest.fixture(scope="session")
def tiny_idx(tmp_path_factory) -> Path:
    """A Fashion-MNIST-shaped IDX folder with 256 train / 64 test images."""
    from gankit.data.idx import write_idx

    root = tmp_path_factory.mktemp("tiny_idx")
    for split, n, seed in (("train", 256, 0), ("t10k", 64, 1)):
        imgs, labels = _blobs(n, seed)
        write_idx(root / f"{split}-images-idx3-ubyte.gz", imgs)
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", labels)
    return root


@pytest.fixture()
def tiny_recipe(tmp_path, tiny_idx) -> Path:
    """A DCGAN recipe small enough to run 20 steps in a couple of seconds."""
    recipe = {
        "name": "tiny",
        "data": {"name": "fashion-mnist", "root": str(tiny_idx)},
        "model": {"z_dim": 8, "generator": {"name": "dcgan", "base_channels": 4}, "discriminator": {"name": "dcgan", "base_channels": 4}},
        "train": {"batch_size": 16, "max_steps": 20},
        "log": {"log_every": 5, "eval_every": 10, "ckpt_every": 10, "progress": False, "grid_size": 16},
        "eval": {"n_samples": 64, "n_reference": 64},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path
