"""Each rule on constructed metric windows: fires on its symptom, silent otherwise, at most once."""

import json
import math
from types import SimpleNamespace

import pytest

from gankit.config import load_config
from gankit.core.objective import NEUTRAL_PROFILE, LossProfile
from gankit.diagnostics.context import RuleContext, loss_profile, mixture_modes
from gankit.diagnostics.engine import RuleEngine, evaluate_records
from gankit.diagnostics.records import Finding
from gankit.diagnostics.thresholds import COLLAPSE_WARMUP_STEPS, CONFIDENT_D_FAKE, RULES

W = 8  # window used throughout


def rec(step, **over):
    """A healthy non-saturating record: D accuracy ~0.7, losses near equilibrium, steady gradients."""
    wiggle = 0.02 * math.sin(step)
    base = {
        "kind": "train",
        "step": step,
        "d_loss": 1.20 + wiggle,
        "g_loss": 0.90 - wiggle,
        "d_total": 1.20 + wiggle,
        "g_total": 0.90 - wiggle,
        "d_real": 0.62,
        "d_fake": 0.38,
        "acc_real": 0.72,
        "acc_fake": 0.68,
        "grad_norm_d": 3.0 + wiggle,
        "grad_norm_g": 1.0 + wiggle,
        "g_d_loss_ratio": 0.75,
    }
    return base | over


def healthy(n, start=1, every=10):
    return [rec(start + i * every) for i in range(n)]


def feed_all(engine, records):
    out = []
    for r in records:
        out += engine.feed(r)
    return out


def rules_of(findings):
    return [f.rule for f in findings]


def overpowering(step, i):
    return rec(step, acc_real=1.0, acc_fake=0.98, d_loss=0.03, d_total=0.03, d_real=0.99, d_fake=0.01, g_loss=3.0 + 0.2 * i)


# --------------------------------------------------------------------------- healthy


@pytest.mark.parametrize("loss", ["nonsaturating", "minimax", "lsgan", "hinge", "wgan", "wgan_gp"])
def test_healthy_window_is_silent_for_every_loss(loss):
    records = healthy(40)
    if loss == "minimax":
        records = [r | {"g_loss": -r["g_loss"]} for r in records]
    evals = [{"kind": "eval", "step": s, "diversity_ratio": 0.9, "class_kl": 0.05, "class_kl_real": 0.02} for s in (1000, 1500, 2000)]
    assert evaluate_records(records + evals, RuleContext(loss=loss), window=W) == []


def test_no_rule_fires_before_the_window_is_full():
    eng = RuleEngine(RuleContext(), window=W)
    assert feed_all(eng, [overpowering(1 + 10 * i, i) for i in range(W - 1)]) == []
    assert rules_of(eng.feed(overpowering(1 + 10 * W, W))) == ["overpowering"]


# --------------------------------------------------------------------------- overpowering


def test_overpowering_fires_with_evidence_and_config_key_remedies():
    found = evaluate_records(healthy(5) + [overpowering(100 + 10 * i, i) for i in range(W)], window=W)
    assert rules_of(found) == ["overpowering"]
    f = found[0]
    assert f.step == 100 + 10 * (W - 1)
    assert f.evidence["d_accuracy_min"] >= 0.95 and f.evidence["d_loss"] < 0.1
    assert f.evidence["g_loss_last"] > f.evidence["g_loss_first"]
    text = f.message()
    assert "overpowering" in text and "optim.d.lr" in text and "spectral_norm" in text
    assert "instance_noise" in text and "loss.name" in text
    assert all(isinstance(v, float) for v in f.evidence.values())


@pytest.mark.parametrize(
    "change",
    [
        {"acc_fake": 0.80},  # one record below 0.95 breaks "the whole window"
        {"d_loss": 0.6},  # D loss not near 0
    ],
)
def test_overpowering_needs_every_criterion(change):
    records = [overpowering(10 * i, i) for i in range(W)]
    records[3] = records[3] | change
    if "d_loss" in change:
        records = [r | change for r in records]
    assert evaluate_records(records, window=W) == []


def test_overpowering_needs_g_loss_rising_or_saturated():
    flat_low = [overpowering(10 * i, 0) | {"g_loss": 2.0 - 0.01 * i} for i in range(W)]  # falling, below 3.0
    assert evaluate_records(flat_low, window=W) == []
    saturated = [overpowering(10 * i, 0) | {"g_loss": 5.0 - 0.01 * i} for i in range(W)]  # falling but D(G(z)) < 5 %
    assert rules_of(evaluate_records(saturated, window=W)) == ["overpowering"]


def test_overpowering_is_off_for_critic_losses():
    records = [overpowering(10 * i, i) for i in range(W)]
    assert evaluate_records(records, RuleContext(loss="wgan_gp"), window=W) == []


def test_remedies_skip_what_the_recipe_already_has(tiny_recipe):
    cfg = load_config(tiny_recipe, ["regularizers=[{name: spectral_norm}, {name: instance_noise}]", "optim.d.lr=0.001"])
    ctx = RuleContext.from_config(cfg)
    assert ctx.regularizers == ("spectral_norm", "instance_noise") and ctx.lr_d == 0.001
    f = evaluate_records([overpowering(10 * i, i) for i in range(W)], ctx, window=W)[0]
    text = "\n".join(f.remedies)
    assert "spectral_norm" not in text and "instance_noise" not in text
    assert "one_sided_label_smoothing" in text and "optim.d.lr=0.001" in text


def test_context_from_a_run_config_dict():
    raw = {"loss": {"name": "hinge"}, "regularizers": [{"name": "ema"}], "model": {"discriminator": {"name": "dcgan", "dropout": 0.3}},
           "data": {"name": "folder", "limit": 500}, "train": {"n_critic": 2}}  # fmt: skip
    ctx = RuleContext.from_config(raw)
    assert ctx.loss == "hinge" and ctx.has("ema") and ctx.d_options["dropout"] == 0.3 and ctx.n_critic == 2
    f = evaluate_records([overpowering(10 * i, i) for i in range(W)], ctx, window=W)[0]
    text = "\n".join(f.remedies)
    assert "diffaugment" in text and "train.n_critic" in text and "dropout" not in text


@pytest.mark.parametrize(
    "optim",
    [
        {"g": {"lr": 1e-4}, "d": {"lr": 4e-4}},  # a run's config.yaml
        {"g": SimpleNamespace(lr=1e-4), "d": SimpleNamespace(lr=4e-4)},  # cfg.optim["g"].lr
        SimpleNamespace(g=SimpleNamespace(lr=1e-4), d=SimpleNamespace(lr=4e-4)),  # cfg.optim.g.lr
    ],
)
def test_context_reads_learning_rates_by_attribute_or_by_name(optim):
    class Cfg:  # a Config whose optim section is either layout
        def __init__(self):
            self.optim = optim

        def model_dump(self, mode="python"):
            return {}

    for cfg in (Cfg(), {"optim": optim}):
        ctx = RuleContext.from_config(cfg)
        assert ctx.lr_g == 1e-4 and ctx.lr_d == 4e-4


def test_context_without_an_optimizer_has_no_learning_rate():
    ctx = RuleContext.from_config({"optim": {"g": {"lr": 1e-4}, "encoder": {"lr": 1.0}}})
    assert ctx.lr_g == 1e-4 and ctx.lr_d is None
    assert RuleContext.from_config({}).lr_g is None and RuleContext.from_config(None).lr_d is None


# --------------------------------------------------------------------------- loss profiles

# What each loss's numbers mean: each loss class carries these as its ``profile``. They must not change.
EXPECTED_PROFILES = {
    # family, d_scale, g_scale, d_near_zero, g_saturated
    "nonsaturating": ("sigmoid", 1.3862943611198906, 0.6931471805599453, 0.1, 2.995732273553991),  # 2 ln 2, ln 2, -ln 0.05
    "minimax": ("sigmoid", 1.3862943611198906, 0.6931471805599453, 0.1, -0.05129329438755058),  # ln 0.95
    "lsgan": ("least_squares", 0.25, 0.125, 0.02, 0.45125),  # 0.5 * 0.95^2
    "hinge": ("hinge", 2.0, 1.0, 0.1, 1.0),
    "wgan": ("critic", 1.0, 1.0, None, None),
    "wgan_gp": ("critic", 1.0, 1.0, None, None),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PROFILES))
def test_loss_profiles_keep_their_numbers(name):
    prof = loss_profile(name)
    family, *numbers = EXPECTED_PROFILES[name]
    assert isinstance(prof, LossProfile) and prof.family == family
    got = [prof.d_scale, prof.g_scale, prof.d_near_zero, prof.g_saturated]
    assert [v is None for v in got] == [v is None for v in numbers]
    assert [v for v in got if v is not None] == pytest.approx([v for v in numbers if v is not None], rel=1e-12)


def test_saturation_points_match_the_confidence_threshold():
    # the loss files hard-code these; they are D(G(z)) = CONFIDENT_D_FAKE in each loss's formula
    assert loss_profile("nonsaturating").g_saturated == pytest.approx(-math.log(CONFIDENT_D_FAKE), rel=1e-12)
    assert loss_profile("minimax").g_saturated == pytest.approx(math.log(1 - CONFIDENT_D_FAKE), rel=1e-12)
    assert loss_profile("lsgan").g_saturated == pytest.approx(0.5 * (1 - CONFIDENT_D_FAKE) ** 2, rel=1e-12)


def test_unknown_loss_gets_a_neutral_profile():
    assert loss_profile("my_loss") == NEUTRAL_PROFILE
    for name in ("my_critic", "wgan_div"):
        prof = loss_profile(name)
        assert prof.family == "critic" and prof.d_near_zero is None and prof.g_saturated is None


# --------------------------------------------------------------------------- vanishing gradients


def vanishing(n, d_fake=0.01, acc_fake=1.0, start=100):
    return [rec(start + 10 * i, grad_norm_g=0.01, d_fake=d_fake, acc_fake=acc_fake) for i in range(n)]


def test_vanishing_gradients_fires_when_g_grads_collapse_while_d_is_confident():
    found = evaluate_records(healthy(5) + vanishing(W), window=W)
    assert rules_of(found) == ["vanishing_gradients"]
    ev = found[0].evidence
    assert ev["grad_norm_g"] == pytest.approx(0.01) and ev["grad_norm_g_peak"] > 1.0 and ev["fraction_of_peak"] < 0.05
    assert "loss.name" in found[0].message()


def test_vanishing_gradients_silent_when_d_is_not_confident():
    assert evaluate_records(healthy(5) + vanishing(W, d_fake=0.4, acc_fake=0.6), window=W) == []


def test_vanishing_gradients_silent_without_a_collapse():
    assert evaluate_records(healthy(5) + [rec(100 + 10 * i, grad_norm_g=0.2, d_fake=0.01, acc_fake=1.0) for i in range(W)], window=W) == []


def test_vanishing_gradients_minimax_and_wgan_remedies():
    f = evaluate_records(healthy(5) + vanishing(W), RuleContext(loss="minimax"), window=W)[0]
    assert "nonsaturating" in f.remedies[0]
    # a clipped critic: no confidence requirement, and the advice is about clipping
    f = evaluate_records(healthy(5) + vanishing(W, d_fake=0.0, acc_fake=0.5), RuleContext(loss="wgan"), window=W)[0]
    assert f.rule == "vanishing_gradients" and "wgan_gp" in f.remedies[0]


# --------------------------------------------------------------------------- mode collapse


def ev(step, **values):
    return {"kind": "eval", "step": step, **values}


def test_mode_collapse_low_diversity_after_warmup():
    s = COLLAPSE_WARMUP_STEPS
    found = evaluate_records([ev(s, diversity_ratio=0.2), ev(s + 500, diversity_ratio=0.25)], window=W)
    assert rules_of(found) == ["mode_collapse"]
    assert found[0].evidence["diversity_ratio"] == pytest.approx(0.25)
    assert "minibatch_std" in found[0].message()


def test_mode_collapse_waits_for_warmup_and_two_evaluations():
    assert evaluate_records([ev(100, diversity_ratio=0.05), ev(200, diversity_ratio=0.1)], window=W) == []  # a fresh G
    assert evaluate_records([ev(5000, diversity_ratio=0.1)], window=W) == []  # one evaluation only
    assert evaluate_records([ev(5000, diversity_ratio=0.1), ev(5500, diversity_ratio=0.8)], window=W) == []


def test_mode_collapse_drop_from_peak_fires_before_warmup():
    found = evaluate_records([ev(100, diversity_ratio=0.9), ev(200, diversity_ratio=0.3), ev(300, diversity_ratio=0.3)], window=W)
    assert rules_of(found) == ["mode_collapse"] and found[0].evidence["diversity_ratio_peak"] == pytest.approx(0.9)


def test_mode_collapse_class_histogram_concentrating():
    s = COLLAPSE_WARMUP_STEPS
    evals = [
        ev(s, diversity_ratio=0.8, class_kl=1.9, class_kl_real=0.05),
        ev(s + 500, diversity_ratio=0.8, class_kl=2.1, class_kl_real=0.05),
    ]
    found = evaluate_records(evals, window=W)
    assert rules_of(found) == ["mode_collapse"] and "class histogram" in found[0].symptom
    calm = [e | {"class_kl": 0.3} for e in evals]
    assert evaluate_records(calm, window=W) == []


def test_mode_collapse_2d_modes_covered():
    s = COLLAPSE_WARMUP_STEPS
    evals = [ev(s, modes_covered=2.0), ev(s + 500, modes_covered=2.0)]
    assert rules_of(evaluate_records(evals, RuleContext(data="ring8"), window=W)) == ["mode_collapse"]
    assert evaluate_records([e | {"modes_covered": 8.0} for e in evals], RuleContext(data="ring8"), window=W) == []


def test_mode_counts_come_from_the_mixture_definitions():
    from gankit.data.toy2d import MIXTURES

    assert {n: mixture_modes(n) for n in MIXTURES} == {n: len(means) for n, (means, _) in MIXTURES.items()}
    assert mixture_modes("ring8") == 8 and RuleContext(data="ring8").n_modes == 8 and mixture_modes("fashion-mnist") is None
    s = COLLAPSE_WARMUP_STEPS
    evals = [ev(s, modes_covered=10.0), ev(s + 500, modes_covered=10.0)]  # 10 of 25 is under half
    assert rules_of(evaluate_records(evals, RuleContext(data="grid25"), window=W)) == ["mode_collapse"]
    assert evaluate_records([e | {"modes_covered": 13.0} for e in evals], RuleContext(data="grid25"), window=W) == []


# --------------------------------------------------------------------------- oscillation / divergence


def test_oscillation_fires_when_loss_variance_explodes():
    swings = [rec(200 + 10 * i, d_loss=1.2 + (1.0 if i % 2 else -1.0) * 0.9) for i in range(W)]
    found = evaluate_records(healthy(W) + swings, window=W)
    assert rules_of(found) == ["oscillation"]
    assert found[0].evidence["d_loss_std"] > 4 * found[0].evidence["d_loss_std_before"]
    assert "optim.g.lr" in found[0].message() and "train.grad_clip" in found[0].message()


def test_oscillation_ignores_a_steady_trend():
    ramp = [rec(1 + 10 * i, d_loss=1.3 - 0.1 * i, g_loss=0.7 + 0.15 * i) for i in range(2 * W)]
    assert evaluate_records(ramp, window=W) == []


def test_divergence_loss_magnitude_and_gradient_explosion():
    blown = [rec(200 + 10 * i, g_loss=40.0 + 0.01 * i) for i in range(W)]
    assert rules_of(evaluate_records(healthy(W) + blown, window=W)) == ["oscillation"]
    grads = [rec(200 + 10 * i, grad_norm_d=5000.0) for i in range(W)]
    found = evaluate_records(healthy(W) + grads, window=W)
    assert rules_of(found) == ["oscillation"] and "grad_norm_d" in found[0].evidence


def test_critic_g_loss_drift_is_not_oscillation():
    drift = [rec(1 + 10 * i, d_loss=-1.0, g_loss=(0.01 if i < W else 5.0) * (1 + (i % 2))) for i in range(2 * W)]
    assert evaluate_records(drift, RuleContext(loss="wgan_gp"), window=W) == []


# --------------------------------------------------------------------------- NaN


@pytest.mark.parametrize("bad", [{"d_loss": None}, {"g_total": float("nan")}, {"grad_norm_g": float("inf")}])
def test_nan_fires_at_once(bad):
    found = evaluate_records([rec(1), rec(2) | bad], window=W)
    assert rules_of(found) == ["nan"] and found[0].step == 2
    assert "grad_clip" in found[0].message()


def test_nan_from_an_error_record_and_a_null_ratio_is_fine():
    assert evaluate_records([rec(1, g_d_loss_ratio=None)], window=W) == []
    found = evaluate_records([rec(1), {"kind": "error", "step": 7, "message": "diverged", "d_loss": None}], window=W)
    assert rules_of(found) == ["nan"] and found[0].step == 7


# --------------------------------------------------------------------------- engine


def test_each_rule_fires_at_most_once():
    eng = RuleEngine(RuleContext(), window=W)
    out = feed_all(eng, [overpowering(10 * i, i) for i in range(5 * W)])
    out += feed_all(eng, [rec(1000 + i, d_loss=None) for i in range(3)])
    assert rules_of(out) == ["overpowering", "nan"]
    assert eng.fired == {"overpowering": 10 * (W - 1), "nan": 1000}


def test_state_dict_round_trip_keeps_fired_rules_and_window():
    eng = RuleEngine(RuleContext(), window=W)
    feed_all(eng, [overpowering(10 * i, i) for i in range(W)] + [rec(500, g_d_loss_ratio=math.inf)])
    state = json.loads(json.dumps(eng.state_dict(), allow_nan=False))  # strict JSON, as in state.json
    again = RuleEngine(RuleContext(), window=W)
    again.load_state_dict(state)
    assert again.fired == {"overpowering": 10 * (W - 1)} and len(again.train) == W + 1
    assert feed_all(again, [overpowering(1000 + 10 * i, i) for i in range(W)]) == []
    fresh = RuleEngine(RuleContext(), window=W)
    assert rules_of(feed_all(fresh, [overpowering(1000 + 10 * i, i) for i in range(W)])) == ["overpowering"]


def test_warmup_silences_all_rules_but_nan():
    eng = RuleEngine(RuleContext(), window=W, warmup_steps=10_000)
    assert feed_all(eng, [overpowering(10 * i, i) for i in range(2 * W)]) == []
    assert rules_of(eng.feed(rec(200, d_loss=None))) == ["nan"]


def test_engine_validates_its_arguments():
    with pytest.raises(ValueError, match="window"):
        RuleEngine(window=1)
    with pytest.raises(ValueError, match="unknown rules"):
        RuleEngine(rules=["overpowering", "bogus"])
    only = RuleEngine(RuleContext(), window=W, rules=["nan"])
    assert feed_all(only, [overpowering(10 * i, i) for i in range(W)]) == []
    assert set(RULES) == {"overpowering", "vanishing_gradients", "mode_collapse", "labels_ignored", "oscillation", "nan",
                          "augmentation_saturated", "path_length_unstable", "reconstruction_drift", "domains_ignored"}


def test_finding_message_layout():
    f = Finding("nan", "NaN/Inf: training diverged", {"d_loss": float("nan"), "step_count": 3.0}, ["a remedy", "another"], 5)
    lines = f.message().splitlines()
    assert lines[0] == "NaN/Inf: training diverged [nan]"
    assert lines[1] == "  evidence: d_loss=nan, step_count=3"
    assert lines[2:] == ["  try:", "    1. a remedy", "    2. another"]


def test_augmentation_saturated_fires_when_ada_p_stays_high():
    ctx = RuleContext.from_config(load_config("configs/dcgan_fashion_mnist.yaml", ["regularizers=[{name: ada}]"]))
    eng = RuleEngine(ctx, window=W)
    assert feed_all(eng, [rec(10 * i, d_ada_p=0.5 + 0.01 * i) for i in range(2 * W)]) == []  # adapting: healthy
    found = feed_all(RuleEngine(ctx, window=W), [rec(10 * i, d_ada_p=0.85 + 0.005 * i) for i in range(2 * W)])
    assert rules_of(found) == ["augmentation_saturated"]
    f = found[0]
    assert f.evidence["ada_p_min"] >= 0.8 and "add `{name: r1" in " ".join(f.remedies)
    mixed = [rec(10 * i, d_ada_p=0.9 if i % 2 else 0.7) for i in range(2 * W)]
    assert feed_all(RuleEngine(ctx, window=W), mixed) == []



def test_path_length_unstable_fires_when_the_term_dominates_or_lengths_explode():
    ctx = RuleContext.from_config(load_config("configs/stylegan2_fashion_mnist.yaml", ["task={name: stylegan2, pl_weight: 8}"]))
    healthy = [rec(10 * i, g_pl=0.1, g_pl_length=0.75 + 0.01 * i) for i in range(2 * W)]
    assert feed_all(RuleEngine(ctx, window=W), healthy) == []
    heavy = [rec(10 * i, g_pl=1.5, g_pl_length=0.8) for i in range(2 * W)]  # g_loss ~0.9 < 1.5
    found = feed_all(RuleEngine(ctx, window=W), heavy)
    assert rules_of(found) == ["path_length_unstable"]
    assert "outweighs" in found[0].symptom and "task.pl_weight=2 (now 8)" in found[0].remedies[0]
    exploding = [rec(10 * i, g_pl=0.1, g_pl_length=0.5 if i < W else 2.5) for i in range(2 * W)]  # 5x in one window
    found = feed_all(RuleEngine(ctx, window=W), exploding)
    assert rules_of(found) == ["path_length_unstable"] and found[0].evidence["pl_length"] / found[0].evidence["pl_length_before"] == 5
    assert "grew 5.0x" in found[0].symptom and "optim.g.lr" in found[0].remedies[0]
    slow = [rec(10 * i, g_pl=0.1, g_pl_length=0.5 if i < W else 1.9) for i in range(2 * W)]  # 3.8x: under the factor
    assert feed_all(RuleEngine(ctx, window=W), slow) == []
