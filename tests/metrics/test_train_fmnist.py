"""The training function on a tiny synthetic stand-in for Fashion-MNIST (the real run takes minutes)."""

import json

import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.extractors import train_fmnist as tf
from gankit.metrics.extractors.fmnist import load_fmnist_net


@pytest.fixture()
def tiny_data(monkeypatch):
    """Class c = a bright bar at row 2c: learnable in one epoch."""
    def make(n, seed):
        g = torch.Generator().manual_seed(seed)
        y = torch.randint(0, 10, (n,), generator=g)
        x = torch.rand(n, 1, 28, 28, generator=g) * 0.2
        for i, c in enumerate(y.tolist()):
            x[i, 0, 2 * c + 4 : 2 * c + 6, 4:24] = 1.0
        return x, y

    data = {"train": make(512, 0), "test": make(200, 1)}
    monkeypatch.setattr(tf, "_load_split", lambda split, root: data[split])


def test_training_is_deterministic_and_writes_verified_files(tmp_path, tiny_data):
    a = tf.train_fmnist_classifier(tmp_path / "a.safetensors", epochs=2, seed=3, batch_size=64, progress=False)
    b = tf.train_fmnist_classifier(tmp_path / "b.safetensors", epochs=2, seed=3, batch_size=64, progress=False)
    c = tf.train_fmnist_classifier(tmp_path / "c.safetensors", epochs=2, seed=4, batch_size=64, progress=False)
    assert a["sha256"] == b["sha256"] != c["sha256"]
    meta = json.loads((tmp_path / "a.json").read_text())
    assert meta == json.loads(json.dumps(a))
    for key in ("sha256", "test_accuracy", "n_params", "command", "date"):
        assert key in meta
    assert meta["command"] == "gankit features train fashion-mnist --epochs 2 --seed 3"
    assert meta["test_accuracy"] > 0.5  # learnable toy task
    _, digest = load_fmnist_net(tmp_path / "a.safetensors")  # the hash check passes
    assert digest == a["sha256"]
    assert not list(tmp_path.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_augmentation_shifts_and_flips_within_bounds():
    x = torch.zeros(64, 1, 28, 28)
    x[:, 0, 10:18, 10:18] = 1.0
    y = tf._augment(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and torch.equal(y.sum((1, 2, 3)), x.sum((1, 2, 3)))  # the square stays inside
    rows = y[:, 0].sum(2).nonzero()[:, 1].view(64, 8)[:, 0]
    assert rows.min() >= 8 and rows.max() <= 12 and len(rows.unique()) > 1


def test_fit_refuses_bad_inputs():
    x, y = torch.zeros(8, 1, 28, 28), torch.zeros(8, dtype=torch.int64)
    with pytest.raises(GankitError, match="N x 1 x 28 x 28 images and N labels"):
        tf.fit_fmnist_net(torch.zeros(8, 1, 32, 32), y, epochs=1)
    with pytest.raises(GankitError, match="N x 1 x 28 x 28 images and N labels"):
        tf.fit_fmnist_net(x, y[:7], epochs=1)
    with pytest.raises(GankitError, match=r"class ids in 0..9; got torch.int64 in \[0, 10\]"):
        tf.fit_fmnist_net(x, torch.tensor([0] * 7 + [10]), epochs=1)
    with pytest.raises(GankitError, match="epochs must be at least 1"):
        tf.fit_fmnist_net(x, y, epochs=0)
