"""``gankit doctor``: diagnosis and the self-contained HTML report."""

import base64
import json
import re

import pytest
import yaml

from gankit.config import load_config
from gankit.diagnostics.doctor import write_report
from gankit.diagnostics.html_report import pick_grids, render_html
from gankit.diagnostics.monitor import Monitor, MonitorSettings
from gankit.diagnostics.report import DASH, diagnose, summary_text
from gankit.errors import CheckpointError
from gankit.train.engine import Engine

FAST = ["log.log_every=1", "log.eval_every=10", "log.ckpt_every=1000", "log.tensorboard=false", "train.max_steps=40"]


def write_metrics(run_dir, records, config=None):
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    if config is not None:
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    return run_dir


def train_rec(step, **over):
    return {"kind": "train", "step": step, "d_loss": 1.2, "g_loss": 0.9, "d_real": 0.6, "d_fake": 0.4, "acc_real": 0.7,
            "acc_fake": 0.7, "grad_norm_d": 3.0, "grad_norm_g": 1.0} | over  # fmt: skip


def test_report_from_a_tiny_run_with_a_warning(tiny_recipe, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = load_config(tiny_recipe, FAST + ["optim.g.lr=1e-12", "optim.d.lr=2e-3"])
    Engine(cfg, run_dir, hooks=[Monitor(cfg, MonitorSettings(features="pixels"))]).fit()  # default window, as the doctor
    (run_dir / "metrics.jsonl").open("a").write(json.dumps({"kind": "eval", "step": 40, "fid": 12.5}) + "\n")

    rep = diagnose(run_dir)
    assert rep.status == "finished" and rep.last_step == 40 and rep.max_steps == 40
    assert [(w.rule, w.source) for w in rep.warnings] == [("overpowering", "recorded")]
    assert [f.rule for f in rep.findings] == ["overpowering"]  # the offline re-evaluation agrees
    assert rep.findings[0].step == rep.warnings[0].step
    assert rep.final_fid == 12.5 and rep.best_fid_step == 40 and rep.final_diversity is not None
    assert [s for s, _ in rep.samples] == [10, 20, 30, 40]

    path = write_report(run_dir)
    assert path == run_dir / "report.html"
    page = path.read_text()
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 6 + 4  # losses, accuracy, D outputs, gradients, FID, diversity + 4 grids
    assert all(base64.b64decode(b)[:8] == b"\x89PNG\r\n\x1a\n" for b in images)
    assert "discriminator overpowering" in page and "optim.d.lr" in page
    assert "healthy band 0.6-0.8" in page and "name: tiny" in page
    words = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,", page)
    assert "N/A" not in words and 'src="http' not in words and "<script" not in words  # self-contained

    text = summary_text(rep)
    assert "status:    finished" in text and "step 40 of 40" in text
    assert f"step {rep.warnings[0].step}: discriminator overpowering" in text and "try:" in text
    assert "FID:       final 12.5" in text


def test_healthy_tiny_run_reports_no_warnings(tiny_recipe, tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    cfg = load_config(tiny_recipe, FAST + ["train.max_steps=20"])
    Engine(cfg, run_dir, hooks=[Monitor(cfg)]).fit()
    rep = diagnose(run_dir)
    assert rep.warnings == [] and rep.status == "finished" and rep.healthy
    assert "warnings:  none" in summary_text(rep)
    assert "No warnings" in write_report(run_dir).read_text()


def test_doctor_finds_what_no_monitor_recorded(tmp_path):
    records = [train_rec(i) for i in range(1, 12)] + [train_rec(12, d_loss=None)]
    run_dir = write_metrics(tmp_path / "run", records, {"name": "x", "loss": {"name": "nonsaturating"}, "train": {"max_steps": 100}})
    rep = diagnose(run_dir)
    assert rep.status == "diverged" and "step 12 of 100" in rep.status_detail
    assert [(w.rule, w.source, w.step) for w in rep.warnings] == [("nan", "doctor", 12)]
    assert "(found by doctor)" in summary_text(rep)


def test_error_record_and_abrupt_stop(tmp_path):
    cfg = {"name": "x", "train": {"max_steps": 100}}
    err = write_metrics(
        tmp_path / "err", [train_rec(1), {"kind": "error", "step": 3, "message": "training diverged at step 3: D loss = nan"}], cfg
    )
    rep = diagnose(err)
    assert rep.status == "diverged" and "training diverged" in rep.status_detail
    assert [w.rule for w in rep.warnings] == ["nan"]
    cut = write_metrics(tmp_path / "cut", [train_rec(1), train_rec(2)], cfg)
    rep = diagnose(cut)
    assert rep.status == "incomplete" and "step 2 of 100" in rep.status_detail
    (cut / "samples").mkdir()
    (cut / "samples" / "final.png").write_bytes(b"")
    assert diagnose(cut).status == "stopped early"
    end = write_metrics(tmp_path / "end", [train_rec(1), {"kind": "end", "step": 1, "status": "time_budget"}], cfg)
    assert diagnose(end).status == "time_budget"


def test_missing_values_stay_missing(tmp_path):
    records = [{"kind": "train", "step": 1, "d_loss": 1.0, "g_loss": None}, {"kind": "train", "step": 2, "d_loss": 0.9}]
    run_dir = write_metrics(tmp_path / "run", records)  # no config.yaml, no samples, no evals
    rep = diagnose(run_dir)
    assert rep.final_fid is None and rep.max_steps is None and rep.config is None and rep.samples == []
    page = render_html(rep)
    assert DASH in page and "N/A" not in page and "None" not in page
    assert "no config.yaml" in page and "no sample grids" in page
    assert "FID" not in summary_text(rep)


def test_doctor_rejects_non_runs(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        diagnose(tmp_path / "nope")
    with pytest.raises(CheckpointError, match="metrics.jsonl"):
        diagnose(tmp_path)


def test_pick_grids_evenly_spaced():
    samples = [(i * 100, f"step-{i}.png") for i in range(20)]
    picked = pick_grids(samples)
    assert len(picked) == 8 and picked[0] == samples[0] and picked[-1] == samples[-1]
    assert pick_grids(samples[:3]) == samples[:3]


def test_style_run_gets_the_augmentation_and_path_length_chart(tmp_path):
    records = [train_rec(i, d_ada_p=min(0.95, 0.1 * i), g_pl=0.1, g_pl_length=0.7) for i in range(1, 60)]
    run_dir = write_metrics(tmp_path / "run", records, {"name": "x", "task": "stylegan2", "train": {"max_steps": 100}})
    rep = diagnose(run_dir)
    assert "augmentation_saturated" in {w.rule for w in rep.warnings}  # p >= 0.8 from step 8 on
    html = render_html(rep)
    assert 'id="augmentation-and-path-length"' in html and "ADA p and path length" in html
    plain = render_html(diagnose(write_metrics(tmp_path / "plain", [train_rec(i) for i in range(1, 30)])))
    assert "augmentation-and-path-length" not in plain  # nothing logged, no empty chart


def test_translation_run_gets_the_reconstruction_chart(tmp_path):
    records = [train_rec(i, g_cycle_l1=0.8 - 0.01 * i) for i in range(1, 30)]
    html = render_html(diagnose(write_metrics(tmp_path / "run", records, {"name": "x", "task": "cyclegan", "train": {"max_steps": 100}})))
    assert 'id="reconstruction"' in html and "collapsed to the identity" in html
