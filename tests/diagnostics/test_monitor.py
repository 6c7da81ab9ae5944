"""The Monitor hook in real tiny training runs, and the diversity measure."""

import math

import numpy as np
import pytest
import torch

from gankit.config import load_config
from gankit.diagnostics import monitor as monitor_mod
from gankit.diagnostics.monitor import (
    DiversityProbe,
    Monitor,
    MonitorSettings,
    mean_pairwise_distance,
    pixel_features,
)
from gankit.train.logger import read_metrics
from gankit.train.trainer import Trainer

FAST = ["log.log_every=1", "log.eval_every=10", "log.ckpt_every=1000", "log.tensorboard=false", "train.max_steps=40"]
# "A D trained on real data against a frozen noise G": G's learning rate is ~0, D's is high.
FROZEN_G = ["optim.g.lr=1e-12", "optim.d.lr=2e-3"]
SETTINGS = MonitorSettings(window=8, features="pixels")


def run(tiny_recipe, run_dir, overrides, settings=SETTINGS, resume_from=None):
    cfg = load_config(tiny_recipe, FAST + overrides)
    run_dir.mkdir(parents=True, exist_ok=True)
    mon = Monitor(cfg, settings)
    Trainer(cfg, run_dir, resume_from=resume_from, hooks=[mon]).fit()
    return mon, read_metrics(run_dir, "warning")


def test_frozen_noise_generator_triggers_overpowering_once(tiny_recipe, tmp_path, capsys):
    mon, warnings = run(tiny_recipe, tmp_path / "run", FROZEN_G)
    over = [w for w in warnings if w["rule"] == "overpowering"]
    assert len(over) == 1
    w = over[0]
    assert w["d_accuracy_min"] >= 0.95 and w["d_loss"] < 0.1 and w["g_loss_last"] > w["g_loss_first"]
    assert "discriminator overpowering" in w["message"] and "optim.d.lr" in w["message"] and "spectral_norm" in w["message"]
    assert "WARNING: discriminator overpowering" in capsys.readouterr().err
    assert [f.rule for f in mon.findings].count("overpowering") == 1


def test_minimax_against_a_frozen_g_shows_vanishing_gradients(tiny_recipe, tmp_path):
    _, warnings = run(tiny_recipe, tmp_path / "run", FROZEN_G + ["loss.name=minimax"])
    rules = [w["rule"] for w in warnings]
    assert "vanishing_gradients" in rules and rules.count("vanishing_gradients") == 1
    w = next(w for w in warnings if w["rule"] == "vanishing_gradients")
    assert w["grad_norm_g"] < 0.05 * w["grad_norm_g_peak"] and "nonsaturating" in w["message"]


def test_healthy_short_run_is_silent_and_logs_diversity(tiny_recipe, tmp_path):
    # default settings (window 10, fmnist features where available): 40 steps logged at every step
    cfg = load_config(tiny_recipe, FAST)
    (tmp_path / "run").mkdir()
    Trainer(cfg, tmp_path / "run", hooks=[Monitor(cfg)]).fit()
    assert read_metrics(tmp_path / "run", "warning") == []
    evals = read_metrics(tmp_path / "run", "eval")
    assert [e["step"] for e in evals] == [10, 20, 30, 40]
    assert all(math.isfinite(e["diversity_ratio"]) and e["diversity_ratio"] >= 0 for e in evals)


def test_resumed_run_does_not_repeat_warnings(tiny_recipe, tmp_path):
    run_dir = tmp_path / "run"
    _, first = run(tiny_recipe, run_dir, FROZEN_G + ["train.max_steps=30"])
    assert [w["rule"] for w in first] == ["overpowering"]
    ckpt = run_dir / "checkpoints" / "step-000030"
    mon, after = run(tiny_recipe, run_dir, FROZEN_G + ["train.max_steps=40"], resume_from=ckpt)
    assert "overpowering" in mon.engine.fired and mon.findings == []  # restored from the checkpoint, not re-fired
    assert [w["rule"] for w in after].count("overpowering") == 1


class FakeExtractor:
    """Features = mean brightness of the 4 quadrants; logits put every image in class 3."""

    def run(self, images):
        x = torch.as_tensor(images).float()
        h = x.shape[-1] // 2
        feats = torch.stack([x[..., :h, :h].mean((1, 2, 3)), x[..., :h, h:].mean((1, 2, 3)),
                             x[..., h:, :h].mean((1, 2, 3)), x[..., h:, h:].mean((1, 2, 3))], 1)  # fmt: skip
        logits = np.full((len(x), 10), -5.0)
        logits[:, 3] = 5.0
        return {"features": feats.double().numpy(), "logits": logits}


def test_fmnist_space_logs_class_kl(tiny_recipe, tmp_path, monkeypatch):
    monkeypatch.setattr(monitor_mod, "_load_fmnist_extractor", lambda device: FakeExtractor())
    cfg = load_config(tiny_recipe, FAST + ["train.max_steps=10"])
    (tmp_path / "run").mkdir()
    mon = Monitor(cfg, MonitorSettings(features="auto"))
    Trainer(cfg, tmp_path / "run", hooks=[mon]).fit()
    assert mon.probe is not None and mon.probe.space == "fmnist"
    (e,) = read_metrics(tmp_path / "run", "eval")
    assert e["class_kl"] == pytest.approx(math.log(10)) and e["class_kl_real"] == pytest.approx(math.log(10))


def test_missing_extractor_falls_back_to_pixels(tiny_recipe, tmp_path, monkeypatch, capsys):
    def boom(device):
        raise RuntimeError("weights not found")

    monkeypatch.setattr(monitor_mod, "_load_fmnist_extractor", boom)
    cfg = load_config(tiny_recipe, FAST + ["train.max_steps=10"])
    (tmp_path / "run").mkdir()
    mon = Monitor(cfg, MonitorSettings(features="auto"))
    Trainer(cfg, tmp_path / "run", hooks=[mon]).fit()
    assert mon.probe.space == "pixels" and "pixel space" in capsys.readouterr().err
    (e,) = read_metrics(tmp_path / "run", "eval")
    assert "diversity_ratio" in e and "class_kl" not in e


def test_points_space_on_a_2d_mixture(tiny_recipe, tmp_path):
    over = ["data.name=ring8", "data.root=null", "data.n_points=512", "model.z_dim=4", "model.generator={name: mlp, hidden: 16, layers: 2}",
            "model.discriminator={name: mlp, hidden: 16, layers: 2}", "log.grid_size=16", "train.max_steps=10"]  # fmt: skip
    cfg = load_config(tiny_recipe, FAST + over)
    (tmp_path / "run").mkdir()
    mon = Monitor(cfg, MonitorSettings(n_samples=64))
    Trainer(cfg, tmp_path / "run", hooks=[mon]).fit()
    assert mon.probe.space == "points"
    (e,) = read_metrics(tmp_path / "run", "eval")
    assert e["diversity_ratio"] > 0


def test_disabled_monitor_does_nothing(tiny_recipe, tmp_path):
    _, warnings = run(tiny_recipe, tmp_path / "run", FROZEN_G + ["train.max_steps=30"], MonitorSettings(enabled=False))
    assert warnings == [] and read_metrics(tmp_path / "run", "eval") == []


# --------------------------------------------------------------------------- the measure itself


def test_mean_pairwise_distance():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 0.0]])
    assert mean_pairwise_distance(x) == pytest.approx((5 + 5 + 0) * 2 / 6)
    with pytest.raises(ValueError):
        mean_pairwise_distance(x[:1])


def test_probe_ratio_is_one_for_real_data_and_zero_for_a_collapsed_generator():
    g = torch.Generator().manual_seed(0)
    real = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8, generator=g)
    probe = DiversityProbe(real, "pixels")
    as_samples = real.float() / 127.5 - 1
    assert probe.measure(as_samples)["diversity_ratio"] == pytest.approx(1.0, abs=1e-3)
    collapsed = as_samples[:1].expand(64, -1, -1, -1)
    assert probe.measure(collapsed)["diversity_ratio"] == pytest.approx(0.0, abs=1e-6)


def test_pixel_features_downsample_large_images():
    x = torch.zeros(2, 3, 128, 128, dtype=torch.uint8)
    assert pixel_features(x).shape == (2, 3 * 64 * 64)


def test_settings_from_config_section():
    class Cfg:
        def __init__(self):
            self.monitor = {"window": 5, "features": "pixels", "unknown_future_key": 1}

    s = MonitorSettings.from_config(Cfg())
    assert s.window == 5 and s.features == "pixels" and s.n_samples == 256
    assert MonitorSettings.from_config(object()) == MonitorSettings()
