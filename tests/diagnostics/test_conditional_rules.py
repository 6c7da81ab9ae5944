"""The ``labels_ignored`` rule, its remedies, and the doctor's class-consistency report, on
constructed record streams (the monitor that produces the numbers is in test_conditional_monitor.py)."""

import json
import re
from pathlib import Path

import pytest
import yaml

from gankit.config import load_config
from gankit.diagnostics import plots
from gankit.diagnostics.context import RuleContext
from gankit.diagnostics.engine import RuleEngine, evaluate_records
from gankit.diagnostics.html_report import render_html
from gankit.diagnostics.report import diagnose, summary_text
from gankit.diagnostics.thresholds import COLLAPSE_WARMUP_STEPS, FMNIST_CLASSIFIER_ACCURACY, labels_ignored_threshold

W = 8
S = COLLAPSE_WARMUP_STEPS
CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def ev(step, consistency, chance=0.1, **more):
    return {"kind": "eval", "step": step, "diversity_ratio": 0.8, "class_consistency": consistency,
            "class_consistency_chance": chance, **more}  # fmt: skip


def rules_of(findings):
    return [f.rule for f in findings]


# --------------------------------------------------------------------------- the threshold


def test_threshold_is_a_quarter_of_the_way_from_chance_to_the_ceiling():
    assert labels_ignored_threshold(0.1) == pytest.approx(0.30745, abs=1e-12)  # 0.1 + 0.25 * (0.9298 - 0.1)
    assert labels_ignored_threshold(0.5) == pytest.approx(0.60745, abs=1e-12)  # data.classes with two classes
    assert labels_ignored_threshold(0.1, ceiling=1.0) == pytest.approx(0.325, abs=1e-12)


def test_ceiling_is_the_shipped_classifiers_recorded_accuracy():
    meta = json.loads((Path(__file__).resolve().parents[2] / "gankit" / "assets" / "fmnist_classifier.json").read_text())
    assert FMNIST_CLASSIFIER_ACCURACY == meta["test_accuracy"]


# --------------------------------------------------------------------------- the rule


def test_fires_when_consistency_stays_at_chance_after_warmup():
    stream = [ev(S // 2, 0.08), ev(S, 0.11), ev(S + 500, 0.09), ev(S + 1000, 0.10)]
    found = evaluate_records(stream, window=W)
    assert rules_of(found) == ["labels_ignored"]
    f = found[0]
    assert f.step == S + 500  # the first two evaluations both past the warmup
    assert f.evidence["class_consistency"] == pytest.approx(0.09)
    assert f.evidence["chance"] == pytest.approx(0.1) and f.evidence["threshold"] == pytest.approx(0.30745)
    assert "G ignores the class it is asked for" in f.symptom and "[labels_ignored]" in f.message()


def test_a_record_with_consistency_alone_is_judged():
    alone = [{"kind": "eval", "step": s, "class_consistency": 0.1, "class_consistency_chance": 0.1} for s in (S, S + 500)]
    assert rules_of(evaluate_records(alone, window=W)) == ["labels_ignored"]


def test_silent_when_consistency_rises_towards_the_ceiling():
    stream = [ev(200, 0.1), ev(700, 0.12), ev(S, 0.35), ev(S + 500, 0.6), ev(S + 1000, 0.9), ev(S + 1500, 0.9)]
    assert evaluate_records(stream, window=W) == []


def test_needs_consecutive_low_evaluations_past_the_warmup():
    assert evaluate_records([ev(100, 0.1), ev(200, 0.1), ev(S - 1, 0.1)], window=W) == []  # a fresh G
    assert evaluate_records([ev(S, 0.1)], window=W) == []  # one evaluation is one noisy batch
    assert evaluate_records([ev(S, 0.1), ev(S + 500, 0.32), ev(S + 1000, 0.1)], window=W) == []
    early = RuleEngine(RuleContext(), window=W, collapse_warmup=0)
    assert rules_of(early.feed(ev(100, 0.1)) + early.feed(ev(200, 0.1))) == ["labels_ignored"]
    held = RuleEngine(RuleContext(), window=W, warmup_steps=10 * S)
    assert held.feed(ev(S, 0.1)) + held.feed(ev(S + 500, 0.1)) == []


def test_threshold_follows_the_number_of_classes():
    two = [ev(S, 0.55, chance=0.5), ev(S + 500, 0.55, chance=0.5)]
    assert rules_of(evaluate_records(two, window=W)) == ["labels_ignored"]  # a two-class G at chance
    ten = [ev(S, 0.55), ev(S + 500, 0.55)]
    assert evaluate_records(ten, window=W) == []  # five times chance for ten classes: G uses its label


def test_silent_without_a_chance_level_or_a_consistency():
    no_chance = [{k: v for k, v in ev(s, 0.1).items() if k != "class_consistency_chance"} for s in (S, S + 500)]
    assert evaluate_records(no_chance, window=W) == []
    unconditional = [{"kind": "eval", "step": s, "diversity_ratio": 0.8, "class_kl": 0.1, "class_kl_real": 0.05} for s in (S, S + 500)]
    assert evaluate_records(unconditional, window=W) == []


def test_warns_once_and_not_again_after_a_resume():
    eng = RuleEngine(RuleContext(), window=W)
    out = []
    for i in range(6):
        out += eng.feed(ev(S + 500 * i, 0.1))
    assert rules_of(out) == ["labels_ignored"] and eng.fired == {"labels_ignored": S + 500}
    again = RuleEngine(RuleContext(), window=W)
    again.load_state_dict(json.loads(json.dumps(eng.state_dict())))
    assert again.feed(ev(S + 5000, 0.1)) + again.feed(ev(S + 5500, 0.1)) == []


# --------------------------------------------------------------------------- remedies


def remedies_for(recipe, **over):
    cfg = load_config(CONFIGS / f"{recipe}.yaml")
    raw = cfg.model_dump(mode="json")
    for path, value in over.items():
        node = raw
        *head, last = path.split("__")
        for p in head:
            node = node[p]
        node[last] = value
    found = evaluate_records([ev(S, 0.1), ev(S + 500, 0.1)], RuleContext.from_config(raw), window=W)
    assert rules_of(found) == ["labels_ignored"]
    return found[0].remedies


def test_remedies_for_the_shipped_conditional_recipes():
    text = "\n".join(remedies_for("cgan_fashion_mnist"))  # concat G, concat D
    assert "model.generator.cond: cbn" in text and "model.discriminator.cond: projection" in text
    assert "model.discriminator.aux_classifier: true" in text and "task.aux_weight" in text
    assert "train.max_minutes=10" in text

    text = "\n".join(remedies_for("acgan_fashion_mnist"))  # a class head already
    assert "raise task.aux_weight (now 1)" in text and "aux_classifier: true" not in text
    assert "model.discriminator.cond: projection" in text

    for recipe in ("projection_fashion_mnist", "biggan_fashion_mnist"):  # G conditions every layer, D projects
        text = "\n".join(remedies_for(recipe))
        assert "model.generator.cond" not in text and "model.discriminator.cond:" not in text
        assert "model.discriminator.aux_classifier: true" in text


def test_remedies_name_networks_that_never_see_the_label():
    rem = remedies_for("cgan_fashion_mnist", model__generator__cond="none", model__discriminator__cond="none")
    assert rem[0].startswith("G never sees the label") and "model.generator.cond: cbn or concat" in rem[0]
    assert rem[1].startswith("D never sees the label")
    assert rem[-1].startswith("train longer")
    mlp = remedies_for("cgan_fashion_mnist", model__generator={"name": "mlp"})
    assert "model.generator.cond: concat" in mlp[0] and "cbn" not in mlp[0]  # the MLP generator offers concat only
    mlp_concat = remedies_for("cgan_fashion_mnist", model__generator={"name": "mlp", "cond": "concat"})
    assert not any("model.generator.cond" in r for r in mlp_concat)  # nothing stronger to switch to


# --------------------------------------------------------------------------- doctor


def write_run(run_dir, consistencies, every=500, conditional=True):
    """A run whose records differ between conditional and not only in the class numbers."""
    run_dir.mkdir(parents=True)
    recs = []
    for i, c in enumerate(consistencies):
        step = every * (i + 1)
        train = {"kind": "train", "step": step, "d_loss": 1.2, "g_loss": 0.9, "acc_real": 0.7, "acc_fake": 0.7}
        recs.append(train | ({"acc_class_real": 0.8, "acc_class_fake": 0.95} if conditional else {}))
        recs.append(ev(step, c) if conditional else {"kind": "eval", "step": step, "diversity_ratio": 0.8})
    task = "cgan" if conditional else "gan"
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    config = {"name": "c", "task": {"name": task}, "train": {"max_steps": every * len(consistencies)}}
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    return run_dir


def images_in(page):
    return re.findall(r'src="data:image/png;base64,', page)


def test_doctor_plots_consistency_and_lists_the_warning(tmp_path):
    rep = diagnose(write_run(tmp_path / "ignored", [0.1, 0.11, 0.09, 0.1]))
    assert [(w.rule, w.source, w.step) for w in rep.warnings] == [("labels_ignored", "doctor", 1500)]
    assert rep.final_consistency == pytest.approx(0.1) and rep.consistency_chance == pytest.approx(0.1)
    text = summary_text(rep)
    assert "classes:   0.1 of the samples" in text and "class labels ignored" in text and "model.discriminator.cond" in text
    page = render_html(rep)
    assert '<h2 id="class-consistency">' in page and "class labels ignored" in page and "0.9298" in page

    plain = diagnose(write_run(tmp_path / "plain", [0.8, 0.8, 0.8, 0.8], conditional=False))
    plain_page = render_html(plain)
    assert "class-consistency" not in plain_page and "classes:" not in summary_text(plain)
    assert plain.final_consistency is None and len(images_in(page)) == len(images_in(plain_page)) + 1


def test_doctor_is_silent_on_a_run_whose_consistency_rises(tmp_path):
    rep = diagnose(write_run(tmp_path / "good", [0.1, 0.5, 0.8, 0.9]))
    assert rep.warnings == [] and rep.final_consistency == pytest.approx(0.9)


def test_consistency_plot_draws_chance_threshold_and_ceiling(tmp_path, monkeypatch):
    figures = []
    monkeypatch.setattr(plots, "_png", lambda fig: figures.append(fig) or "png")
    rep = diagnose(write_run(tmp_path / "run", [0.1, 0.5, 0.8, 0.9]))
    assert plots.plot_class_consistency(rep) == "png"
    lines = figures[0].axes[0].get_lines()
    levels = {round(float(ln.get_ydata()[0]), 5) for ln in lines if len(set(map(float, ln.get_ydata()))) == 1 and len(ln.get_ydata()) == 2}
    assert {0.1, 0.30745, 0.9298} <= levels
    data = next(ln for ln in lines if ln.get_label() == "class consistency")
    assert list(data.get_xdata()) == [500, 1000, 1500, 2000] and list(data.get_ydata()) == [0.1, 0.5, 0.8, 0.9]
    assert {ln.get_label() for ln in lines} >= {"D class head on real", "D class head on fake"}
