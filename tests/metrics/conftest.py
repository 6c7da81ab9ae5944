"""Fixtures for the metrics tests: an isolated cache, real Fashion-MNIST when installed, small image folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("gankit_cache")


@pytest.fixture(autouse=True)
def _isolated_cache(monkeypatch, session_cache):
    """Reference statistics go to a temporary cache shared by the session, never to ~/.cache."""
    monkeypatch.setenv("GANKIT_CACHE", str(session_cache))


def _fmnist(split: str):
    from gankit.data.idx import load_idx_dataset
    from gankit.errors import DataError

    try:
        return load_idx_dataset("fashion-mnist", split)
    except DataError as e:
        pytest.skip(f"Fashion-MNIST not installed: {e}")


@pytest.fixture(scope="session")
def fmnist_test():
    """(uint8 images N x 1 x 28 x 28 tensor, int64 labels) of the Fashion-MNIST test split; skips if absent."""
    images, labels = _fmnist("test")
    return torch.tensor(np.asarray(images)).unsqueeze(1), torch.from_numpy(np.asarray(labels))


@pytest.fixture(scope="session")
def fmnist_train():
    images, labels = _fmnist("train")
    return torch.tensor(np.asarray(images)).unsqueeze(1), torch.from_numpy(np.asarray(labels))


def write_png_folder(folder: Path, images: torch.Tensor) -> Path:
    """Save uint8 N x C x H x W images as PNGs under ``folder``."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(images):
        a = img.numpy()
        pil = Image.fromarray(a[0], mode="L") if a.shape[0] == 1 else Image.fromarray(np.transpose(a, (1, 2, 0)), mode="RGB")
        pil.save(folder / f"{i:05d}.png")
    return folder


def random_images(n: int, shape=(1, 28, 28), seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, *shape), generator=g, dtype=torch.uint8)


@pytest.fixture(name="random_images")
def _random_images_fixture():
    """The :func:`random_images` helper (test modules cannot import conftest with importlib mode)."""
    return random_images


@pytest.fixture(name="png_folder")
def _png_folder_fixture():
    """The :func:`write_png_folder` helper."""
    return write_png_folder


def labelled_blobs(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(uint8 N x 1 x 28 x 28, int64 labels): a bright bar whose position encodes the class, labels cycling 0..9.

    Cycling labels make every slice (the val split, the first n) class-balanced; one epoch learns it.
    """
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    imgs = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
    for i, lab in enumerate(labels):
        r, c = 2 + (lab // 5) * 12, 2 + (lab % 5) * 5
        imgs[i, r : r + 10, c : c + 4] = 220
    return torch.from_numpy(imgs).unsqueeze(1), torch.from_numpy(labels.astype(np.int64))


@pytest.fixture(name="labelled_blobs")
def _labelled_blobs_fixture():
    """The :func:`labelled_blobs` helper."""
    return labelled_blobs


@pytest.fixture(scope="session")
def blob_idx(tmp_path_factory) -> Path:
    """A Fashion-MNIST-shaped IDX folder of labelled blobs: 500 train (50 per class; val = the last 50), 200 test."""
    from gankit.data.idx import write_idx

    root = tmp_path_factory.mktemp("blob_idx")
    for split, n, seed in (("train", 500, 0), ("t10k", 200, 1)):
        x, y = labelled_blobs(n, seed)
        write_idx(root / f"{split}-images-idx3-ubyte.gz", x[:, 0].numpy())
        write_idx(root / f"{split}-labels-idx1-ubyte.gz", y.numpy().astype(np.uint8))
    return root
