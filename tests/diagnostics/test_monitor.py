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
from gankit.diagnostics.thresholds import COLLAPSE_WARMUP_STEPS
from gankit.train.logger import read_metrics
from gankit.train.engine import Engine

FAST = ["log.log_every=1", "log.eval_every=10", "log.ckpt_every=1000", "log.tensorboard=false", "train.max_steps=40"]
# "A D trained on real data against a frozen noise G": G's learning rate is ~0, D's is high.
FROZEN_G = ["optim.g.lr=1e-12", "optim.d.lr=2e-3"]
SETTINGS = MonitorSettings(window=8, features="pixels")


def run(tiny_recipe, run_dir, overrides, settings=SETTINGS, resume_from=None):
    cfg = load_config(tiny_recipe, FAST + overrides)
    run_dir.mkdir(parents=True, exist_ok=True)
    mon = Monitor(cfg, settings)
    Engine(cfg, run_dir, resume_from=resume_from, hooks=[mon]).fit()
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
    Engine(cfg, tmp_path / "run", hooks=[Monitor(cfg)]).fit()
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
    Engine(cfg, tmp_path / "run", hooks=[mon]).fit()
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
    Engine(cfg, tmp_path / "run", hooks=[mon]).fit()
    assert mon.probe.space == "pixels" and "pixel space" in capsys.readouterr().err
    (e,) = read_metrics(tmp_path / "run", "eval")
    assert "diversity_ratio" in e and "class_kl" not in e


def test_points_space_on_a_2d_mixture(tiny_recipe, tmp_path):
    over = ["data.name=ring8", "data.root=null", "data.n_points=512", "model.z_dim=4", "model.generator={name: mlp, hidden: 16, layers: 2}",
            "model.discriminator={name: mlp, hidden: 16, layers: 2}", "log.grid_size=16", "train.max_steps=10"]  # fmt: skip
    cfg = load_config(tiny_recipe, FAST + over)
    (tmp_path / "run").mkdir()
    mon = Monitor(cfg, MonitorSettings(n_samples=64))
    Engine(cfg, tmp_path / "run", hooks=[mon]).fit()
    assert mon.probe.space == "points"
    (e,) = read_metrics(tmp_path / "run", "eval")
    assert e["diversity_ratio"] > 0


def test_disabled_monitor_does_nothing(tiny_recipe, tmp_path):
    _, warnings = run(tiny_recipe, tmp_path / "run", FROZEN_G + ["train.max_steps=30"], MonitorSettings(enabled=False))
    assert warnings == [] and read_metrics(tmp_path / "run", "eval") == []


# --------------------------------------------------------------------------- the hook on a bare RunView


class FakeRun:
    """The :class:`~gankit.core.hooks.RunView` names the Monitor may use, without an engine."""

    def __init__(self, cfg, data_kind="image", is_main=True, generate=None):
        self.cfg = cfg
        self.is_main = is_main
        self.device = torch.device("cpu")
        self.data_kind = data_kind
        self.signature = {"z_dim": cfg.model.z_dim}
        self.warnings = []
        self._generate = generate

    def generate(self, z, c=None):
        return self._generate(z)

    def warn(self, message, **numbers):
        self.warnings.append({"message": message, **numbers})


def overpowered(i):
    return {"d_loss": 0.03, "g_loss": 3.0 + 0.2 * i, "d_real": 0.99, "d_fake": 0.01, "acc_real": 1.0, "acc_fake": 0.98,
            "grad_norm_d": 3.0, "grad_norm_g": 1.0}  # fmt: skip


def test_monitor_uses_only_the_run_view(tiny_recipe):
    from gankit.data import load_real_images

    cfg = load_config(tiny_recipe, FAST)
    shape = tuple(load_real_images(cfg.data, limit=2, seed=cfg.seed).shape[1:])
    run = FakeRun(cfg, generate=lambda z: torch.zeros(z.shape[0], *shape))  # a collapsed G: every sample alike
    mon = Monitor(cfg, MonitorSettings(window=8, features="pixels", n_samples=32))
    mon.on_start(run)
    assert mon.probe is not None and mon.probe.space == "pixels"
    assert mon.z.shape == (32, cfg.model.z_dim) and mon.z.device == run.device

    for i in range(8):
        mon.on_log(run, 10 * (i + 1), overpowered(i))
    assert [w["rule"] for w in run.warnings] == ["overpowering"] and "optim.d.lr" in run.warnings[0]["message"]

    first = mon.on_eval(run, COLLAPSE_WARMUP_STEPS)
    assert first["diversity_ratio"] == pytest.approx(0.0, abs=1e-6)
    mon.on_eval(run, COLLAPSE_WARMUP_STEPS + 500)
    assert [w["rule"] for w in run.warnings] == ["overpowering", "mode_collapse"]
    assert [f.rule for f in mon.findings] == ["overpowering", "mode_collapse"]


def test_monitor_on_vector_data_and_off_the_main_rank(tiny_recipe):
    over = ["data.name=ring8", "data.root=null", "data.n_points=512", "model.z_dim=4"]
    cfg = load_config(tiny_recipe, FAST + over)
    mon = Monitor(cfg, MonitorSettings(n_samples=64))
    run = FakeRun(cfg, data_kind="vector", generate=lambda z: torch.randn(z.shape[0], 2))
    mon.on_start(run)
    assert mon.probe.space == "points" and mon.z.shape == (64, 4)
    assert mon.on_eval(run, 10)["diversity_ratio"] > 0

    other = Monitor(cfg, MonitorSettings(n_samples=64))
    rank1 = FakeRun(cfg, data_kind="vector", is_main=False, generate=lambda z: pytest.fail("rank 1 generated"))
    other.on_start(rank1)
    assert other.probe is None and other.on_eval(rank1, 10) == {}


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
