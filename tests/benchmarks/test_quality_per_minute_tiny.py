"""benchmarks/quality_per_minute.py end to end on tiny networks (seconds): every lever's recipe and overrides validate,
a run's row agrees with an independent re-evaluation, a rerun redoes nothing, nothing under docs/ is written, and the
verdict follows the issue's bar (FID at least 25 % below the baseline's, recall no lower)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))


@pytest.fixture(scope="module")
def qpm():
    spec = importlib.util.spec_from_file_location("quality_per_minute_under_test", BENCH / "quality_per_minute.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_every_lever_validates(qpm, tiny_idx):
    from gankit.config import load_config

    setup = qpm.Setup(out="unused", minutes=10, threads=2, data_root=str(tiny_idx))
    for lever in qpm.LEVERS:
        cfg = load_config(qpm.ROOT / "configs" / f"{lever.recipe}.yaml", qpm.overrides(setup, lever, 0))
        assert cfg.train.max_minutes == 10 and cfg.train.max_steps is None, lever.name
    assert len({lv.name for lv in qpm.LEVERS}) == len(qpm.LEVERS) and qpm.BASELINE in qpm.BY_NAME


def test_tiny_run_rows_cache_and_no_docs(qpm, tiny_idx, tmp_path, monkeypatch):
    import _report

    monkeypatch.setattr(_report, "write_section", lambda *a, **k: pytest.fail("--tiny wrote docs/benchmarks.md"))
    monkeypatch.setattr(qpm, "write_section", lambda *a, **k: pytest.fail("--tiny wrote docs/benchmarks.md"))
    out = tmp_path / "qpm"
    argv = ["--tiny", "--levers", "cgan", "--seeds", "2", "--data-root", str(tiny_idx), "--out", str(out)]
    text = qpm.main(argv)
    rows = {(r["lever"], r["seed"]): r for r in (json.loads(p.read_text()) for p in out.glob("*/*/seed*.json"))}
    assert set(rows) == {("dcgan", 0), ("dcgan", 1), ("cgan", 0), ("cgan", 1)}  # the baseline runs although not asked for
    assert all(r["steps"] == 4 for r in rows.values())
    import gankit
    from gankit.metrics import evaluate

    r = rows[("cgan", 1)]
    rep = evaluate(gankit.load(out / "4steps" / "cgan" / "seed1").sample(64, seed=0), "fid,pr", extractor="fmnist", ref="fashion-mnist:test",
                   n=64, data_root=str(tiny_idx))  # fmt: skip
    assert r["fid"] == pytest.approx(rep.value("fid")) and r["recall"] == pytest.approx(rep.value("recall"))
    assert "`cgan`" in text and "`dcgan`" in text
    assert ("does not meet the bar" in text) != ("**meets** the bar" in text)  # one lever against the baseline, one verdict
    mtimes = {p: p.stat().st_mtime_ns for p in out.glob("*/*/seed*.json")}
    qpm.main(argv)  # cached: nothing retrained
    assert {p: p.stat().st_mtime_ns for p in out.glob("*/*/seed*.json")} == mtimes
    assert {p.parent.parent.name for p in mtimes} == {"4steps"}  # runs live under their budget: a screen never clobbers a check


def test_verdict_is_the_issues_bar(qpm):
    base = [{"fid": 40.0, "recall": 0.60}, {"fid": 44.0, "recall": 0.62}]  # means 42, 0.61
    assert "**meets**" in qpm.verdict(base, [{"fid": 31.5, "recall": 0.61}])  # exactly 25 % below, recall equal
    assert "does not meet" in qpm.verdict(base, [{"fid": 31.6, "recall": 0.70}])  # 24.8 % below
    assert "does not meet" in qpm.verdict(base, [{"fid": 20.0, "recall": 0.609}])  # recall lower
    assert "(-25 %)" in qpm.verdict(base, [{"fid": 31.5, "recall": 0.61}])


def test_unknown_lever_is_named_with_the_known_ones(qpm):
    with pytest.raises(SystemExit, match=r"unknown fastest; known: dcgan, dcgan32"):
        qpm.main(["--tiny", "--levers", "fastest"])
