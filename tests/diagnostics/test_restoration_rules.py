"""reconstruction_drift and domains_ignored on constructed windows: fire on the symptom, silent otherwise."""

from gankit.diagnostics.checks_restoration import DOMAINS_WARMUP_STEPS, DRIFT_FACTOR, check_domains_ignored, check_reconstruction_drift
from gankit.diagnostics.context import RuleContext
from gankit.diagnostics.records import History

W = 6


def _hist(values: list[dict], start: int = 0) -> History:
    train = [{"kind": "train", "step": start + 10 * i, **v} for i, v in enumerate(values)]
    return History(train=train, evals=[], window=W)


def test_drift_fires_when_the_error_grows_past_the_factor():
    ctx = RuleContext(task_options={"gan_weight": 1e-3, "pretrain_steps": "30%"})
    steady = _hist([{"g_pixel_mse": 0.02}] * (2 * W))
    assert check_reconstruction_drift(steady, ctx) is None
    mild = _hist([{"g_pixel_mse": 0.02}] * W + [{"g_pixel_mse": 0.02 * (DRIFT_FACTOR - 0.5)}] * W)
    assert check_reconstruction_drift(mild, ctx) is None  # the perception-distortion trade-off, not drift
    bad = _hist([{"g_pixel_mse": 0.02}] * W + [{"g_pixel_mse": 0.02 * (DRIFT_FACTOR + 1)}] * W)
    f = check_reconstruction_drift(bad, ctx)
    assert f is not None and f.rule == "reconstruction_drift" and abs(f.evidence["ratio"] - (DRIFT_FACTOR + 1)) < 1e-9
    assert any("task.gan_weight=0.0001" in r for r in f.remedies) and any("pixel_weight" in r for r in f.remedies)
    hole = _hist([{"g_hole_l1_raw": 0.1}] * W + [{"g_hole_l1_raw": 0.5}] * W)
    assert any("hole_weight" in r for r in check_reconstruction_drift(hole, ctx).remedies)


def test_domains_ignored_after_the_warmup():
    ctx = RuleContext(task_options={"cls_weight": 1.0, "rec_weight": 10.0}, n_critic=5)
    ignored = [{"g_target_acc": 0.15, "d_cls_acc": 0.9}] * W
    assert check_domains_ignored(_hist(ignored, start=0), ctx) is None  # too early to judge
    f = check_domains_ignored(_hist(ignored, start=DOMAINS_WARMUP_STEPS), ctx)
    assert f is not None and "ignored" in f.symptom and any("cls_weight=2" in r for r in f.remedies)
    assert any("n_critic: 2" in r for r in f.remedies)
    weak = check_domains_ignored(_hist([{"g_target_acc": 0.1, "d_cls_acc": 0.3}] * W, start=DOMAINS_WARMUP_STEPS), ctx)
    assert weak is not None and "not learned" in weak.symptom
    fine = [{"g_target_acc": 0.85, "d_cls_acc": 0.95}] * W
    assert check_domains_ignored(_hist(fine, start=DOMAINS_WARMUP_STEPS), ctx) is None
