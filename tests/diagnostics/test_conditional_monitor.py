"""The Monitor's class consistency for class-conditional runs: through a bare RunView whose G draws
images of a known class (scored by a classifier that reads that class off the image), with the
shipped classifier on real Fashion-MNIST images, and in a real tiny ``task: cgan`` run."""

from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.config import load_config
from gankit.diagnostics import monitor as monitor_mod
from gankit.diagnostics.monitor import Monitor, MonitorSettings
from gankit.diagnostics.report import diagnose
from gankit.diagnostics.thresholds import COLLAPSE_WARMUP_STEPS, labels_ignored_threshold
from gankit.train.engine import Engine
from gankit.train.logger import read_metrics

FAST = ["log.log_every=1", "log.eval_every=10", "log.ckpt_every=1000", "log.tensorboard=false", "train.max_steps=10"]
N = 60
REAL = Path("/usr/share/datasets/fashion-mnist")


def region(k):
    """Where the bright bar of class k sits (the layout of the tests' tiny Fashion-MNIST stand-in)."""
    r, c = 2 + (k // 5) * 12, 2 + (k % 5) * 5
    return slice(r, r + 10), slice(c, c + 4)


def bar_images(classes):
    """Images in [-1, 1] with the bar of each given class id (0..9)."""
    x = -torch.ones(len(classes), 1, 28, 28)
    for i, k in enumerate(classes.tolist()):
        rows, cols = region(k)
        x[i, :, rows, cols] = 1.0
    return x


class BarClassifier:
    """Stands in for the Fashion-MNIST classifier: logits (and features) are the ten bars' brightness."""

    def run(self, images):
        x = torch.as_tensor(images).float()
        means = torch.stack([x[:, 0, rows, cols].mean((1, 2)) for rows, cols in map(region, range(10))], 1)
        return {"features": means.double().numpy(), "logits": means.double().numpy()}


class CondRun:
    """The RunView names the Monitor uses, for a conditional task; ``draw(z, c)`` picks the class
    each sample shows, and every call to ``generate`` is kept."""

    def __init__(self, cfg, num_classes, draw):
        self.cfg = cfg
        self.is_main = True
        self.device = torch.device("cpu")
        self.data_kind = "image"
        self.signature = {"z_dim": cfg.model.z_dim, "num_classes": num_classes}
        self.draw = draw
        self.calls = []
        self.warnings = []

    def generate(self, z, c=None):
        self.calls.append((z.clone(), None if c is None else c.clone()))
        return bar_images(self.draw(z, c))

    def warn(self, message, **numbers):
        self.warnings.append({"message": message, **numbers})


@pytest.fixture()
def bar_classifier(monkeypatch):
    monkeypatch.setattr(monitor_mod, "_load_fmnist_extractor", lambda device: BarClassifier())


def started(tiny_recipe, draw, num_classes=10, over=(), n=N):
    cfg = load_config(tiny_recipe, FAST + list(over))
    run = CondRun(cfg, num_classes, draw)
    mon = Monitor(cfg, MonitorSettings(window=8, n_samples=n))
    mon.on_start(run)
    return mon, run


def from_noise(z, c):
    """A G that ignores its label: the class it draws depends on the noise alone."""
    return (z[:, 0] * 1e4).long().abs() % 10


def test_faithful_generator_scores_one_on_a_fixed_balanced_batch(tiny_recipe, bar_classifier):
    mon, run = started(tiny_recipe, lambda z, c: c)
    out = mon.on_eval(run, 10)
    assert out["class_consistency"] == 1.0 and out["class_consistency_chance"] == pytest.approx(0.1)
    assert "diversity_ratio" in out and "class_kl" in out
    z, c = run.calls[0]
    assert c.dtype == torch.int64 and c.device == run.device and c.tolist() == [i % 10 for i in range(N)]
    mon.on_eval(run, 20)
    assert torch.equal(run.calls[1][0], z) and torch.equal(run.calls[1][1], c)  # the same batch every evaluation


def test_generator_ignoring_its_label_scores_what_it_draws_by_chance(tiny_recipe, bar_classifier):
    mon, run = started(tiny_recipe, from_noise)
    out = mon.on_eval(run, 10)
    z, c = run.calls[0]
    drawn = from_noise(z, c)
    assert len(set(drawn.tolist())) > 5  # G draws many classes, just not the asked ones
    assert out["class_consistency"] == pytest.approx((drawn == c).double().mean().item(), abs=1e-12)
    assert out["class_consistency"] < labels_ignored_threshold(0.1)

    collapsed, run = started(tiny_recipe, lambda z, c: torch.full_like(c, 3))
    assert collapsed.on_eval(run, 10)["class_consistency"] == pytest.approx(6 / N)  # 1/K: the batch asks for class 3 six times


def test_labels_ignored_warns_once_through_the_monitor(tiny_recipe, bar_classifier):
    mon, run = started(tiny_recipe, from_noise)
    for i in range(4):
        mon.on_eval(run, COLLAPSE_WARMUP_STEPS + 500 * i)
    assert [w["rule"] for w in run.warnings] == ["labels_ignored"]
    assert "G ignores the class it is asked for" in run.warnings[0]["message"] and "model.generator.cond" in run.warnings[0]["message"]

    good, run = started(tiny_recipe, lambda z, c: c)
    for i in range(4):
        good.on_eval(run, COLLAPSE_WARMUP_STEPS + 500 * i)
    assert run.warnings == []


def test_a_class_subset_is_scored_against_the_classifiers_classes(tiny_recipe, bar_classifier):
    keep = torch.tensor([0, 7])
    mon, run = started(tiny_recipe, lambda z, c: keep[c], num_classes=2, over=["data.classes=[0, 7]"])
    out = mon.on_eval(run, 10)
    assert out["class_consistency"] == 1.0 and out["class_consistency_chance"] == 0.5
    raw, run = started(tiny_recipe, lambda z, c: c, num_classes=2, over=["data.classes=[0, 7]"])
    score = raw.on_eval(run, 10)["class_consistency"]
    asked = run.calls[0][1]
    assert score == pytest.approx((asked == 0).double().mean().item(), abs=1e-12)  # label 1 drawn as class 1, not the asked 7
    assert 0.4 < score < 0.6


def test_classes_the_classifier_does_not_know_are_not_scored(tiny_recipe, bar_classifier, capsys):
    mon, run = started(tiny_recipe, lambda z, c: c, over=["data.name=mnist"])  # digits: the names do not match
    out = mon.on_eval(run, 10)
    assert "class_consistency" not in out and "diversity_ratio" in out
    assert "class consistency not measured" in capsys.readouterr().err
    assert run.calls[0][1] is not None  # still a class-balanced batch


def test_unconditional_run_logs_no_class_consistency(tiny_recipe, bar_classifier):
    mon, run = started(tiny_recipe, lambda z, c: from_noise(z, None), num_classes=0)
    out = mon.on_eval(run, 10)
    assert "class_consistency" not in out and "class_consistency_chance" not in out and "class_kl" in out
    assert run.calls[0][1] is None and mon.labels is None


@pytest.mark.skipif(not REAL.is_dir(), reason="Fashion-MNIST not installed in /usr/share/datasets")
def test_shipped_classifier_on_real_fashion_mnist_images(tiny_recipe):
    from gankit.data.idx import load_idx_dataset
    from gankit.metrics.extractors.fmnist import DEFAULT_WEIGHTS

    assert DEFAULT_WEIGHTS.is_file()  # shipped with the package: no download
    images, labels = load_idx_dataset("fashion-mnist", "test", REAL)
    by_class = [torch.from_numpy(images[labels == k][:40].astype(np.float32) / 127.5 - 1) for k in range(10)]

    def real_of(classes):
        return torch.stack([by_class[k][i % 40] for i, k in enumerate(classes.tolist())]).unsqueeze(1)

    class RealRun(CondRun):
        def generate(self, z, c=None):
            self.calls.append((z.clone(), c.clone()))
            return real_of(self.draw(z, c))

    cfg = load_config(tiny_recipe, FAST)
    faithful = RealRun(cfg, 10, lambda z, c: c)
    mon = Monitor(cfg, MonitorSettings(n_samples=200))
    mon.on_start(faithful)
    assert mon.probe.space == "fmnist"
    score = mon.on_eval(faithful, 10)["class_consistency"]
    assert 0.85 < score <= 1.0  # the classifier is right on 92.98 % of the test set
    ignoring = RealRun(cfg, 10, from_noise)
    mon.on_start(ignoring)
    assert mon.on_eval(ignoring, 10)["class_consistency"] < labels_ignored_threshold(0.1)


def test_tiny_cgan_run_logs_class_consistency_for_the_doctor(tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe, FAST + ["task=cgan", "model.generator.cond=concat", "model.discriminator.cond=concat"])
    (tmp_path / "run").mkdir()
    Engine(cfg, tmp_path / "run", hooks=[Monitor(cfg)]).fit()  # the shipped classifier, 28x28 grayscale
    (e,) = read_metrics(tmp_path / "run", "eval")
    assert 0.0 <= e["class_consistency"] <= 1.0 and e["class_consistency_chance"] == pytest.approx(0.1)
    rep = diagnose(tmp_path / "run")
    assert rep.final_consistency == pytest.approx(e["class_consistency"])
