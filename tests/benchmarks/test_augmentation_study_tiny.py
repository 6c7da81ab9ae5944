"""The rare-class augmentation study and the DRS benchmark, end to end on tiny configurations (seconds), so the
scripts cannot rot: every condition trains and is scored, the numbers in the rows agree with independent
recomputations, a rerun redoes nothing, nothing under docs/ is written, and the target's verdicts follow the numbers."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
DOCS = BENCH.parent / "docs"
sys.path.insert(0, str(BENCH))  # the scripts import their helpers (_report, _augment_jobs) by name


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def study():
    return _load("augmentation_fashion_mnist")


@pytest.fixture(scope="module")
def report():
    return _load("_augment_report")


@pytest.fixture()
def no_docs(monkeypatch):
    """--tiny must not write docs/benchmarks.md or its pictures (other jobs may write docs/ meanwhile, so watch ours)."""
    import _report

    def refuse(*a, **k):
        raise AssertionError("--tiny wrote a section of docs/benchmarks.md")

    monkeypatch.setattr(_report, "write_section", refuse)
    ours = [DOCS / "images" / "augmentation_recall.png", DOCS / "images" / "drs_grid25.png"]
    before = [p.stat().st_mtime_ns if p.exists() else None for p in ours]
    yield
    assert [p.stat().st_mtime_ns if p.exists() else None for p in ours] == before


def test_class_names(study):
    assert study.class_id("shirt") == (6, "shirt")
    assert study.class_id("T-Shirt") == (0, "t-shirt-top")
    assert study.class_id("ankle boot") == (9, "ankle-boot")
    assert study.class_id("8") == (8, "bag")
    with pytest.raises(SystemExit, match="not a Fashion-MNIST class"):
        study.class_id("hat")


def test_study_tiny_end_to_end(study, tiny_idx, tmp_path, no_docs):
    from gankit.augment.classifier import train_classifier
    from gankit.data.idx import load_idx_dataset

    out, kept_dir = tmp_path / "study", tmp_path / "kept"
    argv = ["--tiny", "--data-root", str(tiny_idx), "--out", str(out), "--results", str(kept_dir)]
    text = study.main(argv)
    assert (out / study.PLOT).is_file()

    # Counts, from the fixture's own labels: 20 % of the shirts kept, the class brought up to the median class size.
    _, labels = load_idx_dataset("fashion-mnist", "train", tiny_idx)
    counts = np.bincount(labels, minlength=10)
    kept = max(1, round(counts[6] * 0.2))
    add = int(np.median(np.delete(counts, 6))) - kept
    cell = out / "shirt-20pct"
    rows = {p.stem: json.loads(p.read_text()) for p in (cell / "rows").glob("*.json")}
    assert len(rows) == 7 * 2, sorted(rows)
    for name, r in rows.items():
        assert r["n_real"] == kept and r["n_train"] == len(labels) - counts[6] + kept, name
        assert "error" not in r, (name, r.get("error"))
        f = r.get("filter") or {}
        if f.get("short"):  # the confidence filter kept fewer than asked: every sample that passed
            assert 0 < r["n_added"] < add and f["accepted"] == r["n_added"], name
        else:
            assert r["n_added"] == (0 if name.startswith("real") else add), name
        if f.get("proposed"):
            assert f["acceptance_rate"] == pytest.approx(f["accepted"] / f["proposed"])
    assert {"gan", "lowdata"} <= {json.loads(p.read_text())["kind"] for p in cell.glob("*.json")}

    # The GAN's training data is the classifier's: exactly `kept` shirts, every other class complete.
    from _augment_jobs import Cell, imbalanced_train

    args = study.parse(argv)
    st, cells, seeds = study.make_study(args)
    x, y = imbalanced_train(st, cells[0])
    assert np.bincount(y.numpy(), minlength=10).tolist() == [kept if k == 6 else int(c) for k, c in enumerate(counts)]
    assert seeds == [0, 1] and cells == [Cell(6, "shirt", 20.0)]

    # Row (a), seed 0, recomputed independently: its own classifier, recall of class 6 counted by hand.
    xt, yt = load_idx_dataset("fashion-mnist", "test", tiny_idx)
    model = train_classifier(x, y, seed=0, epochs=st.epochs, num_classes=10)
    pred = model.predict(torch.from_numpy(xt.copy()).unsqueeze(1)).numpy()
    shirt = yt == 6
    assert rows["real-seed0"]["metrics"]["rare_recall"] == pytest.approx(float((pred[shirt] == 6).mean()))
    hit = pred == 6
    precision = float((yt[hit] == 6).mean()) if hit.any() else 0.0
    assert rows["real-seed0"]["metrics"]["rare_precision"] == pytest.approx(precision)
    rec = np.array([(pred[yt == k] == k).mean() for k in np.unique(yt)])
    assert rows["real-seed0"]["metrics"]["balanced_accuracy"] == pytest.approx(float(rec.mean()))

    # The table's mean ± std over the two seeds.
    v = [rows[f"oversample-seed{s}"]["metrics"]["rare_recall"] for s in (0, 1)]
    line = next(li for li in text.splitlines() if "(b) + random oversampling" in li)
    assert f"{np.mean(v):.3f} ± {np.std(v, ddof=1):.3f}" in line
    for label in ("(a) imbalanced real", "(c) + classical", "(d) + cGAN samples", "filtered by confidence", "filtered by DRS",
                  "DiffAugment"):  # fmt: skip
        assert label in text
    assert "**shirt, 20 %**" in text and ("→ **met**" in text or "→ **not met**" in text)

    # A rerun finds every result cached and changes nothing.
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.json")}
    again = study.main(argv)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.json")} == stamps
    assert again == text

    # A new checkout: no cache, only the kept JSONs. Nothing is trained again (no GAN run, no classifier), same report.
    results = [*out.glob("*/*.json"), *out.glob("*/rows/*.json")]  # not the GAN runs' own files
    assert len(results) == 2 + 14 and sorted(p.relative_to(kept_dir) for p in kept_dir.rglob("*.json")) == sorted(
        p.relative_to(out) for p in results)
    import shutil

    shutil.rmtree(out)
    st = study.make_study(study.parse(argv))[0]
    assert st.results == str(kept_dir) and study.prune(st, study.plan(st, cells, seeds)) == []
    assert study.main(argv) == text
    assert not (out / "shirt-20pct" / "gan").exists() and not (out / "shirt-20pct" / "models").exists()


def _rows(report, recall: dict[str, list[float]], bal: dict[str, list[float]]) -> dict:
    rows = {}
    for cond, rs in recall.items():
        rows[("shirt-1pct", cond)] = [{"metrics": {"rare_recall": r, "balanced_accuracy": b}} for r, b in zip(rs, bal[cond])]
    return rows


def test_verdicts_follow_the_numbers(report):
    from _augment_jobs import CONDITIONS, Cell, Study

    st, cell = Study(out="unused"), Cell(6, "shirt", 1.0)
    base = {c: [0.20, 0.22, 0.24] for c, _ in CONDITIONS}
    bal = {c: [0.80, 0.80, 0.80] for c, _ in CONDITIONS}
    recall = dict(base, oversample=[0.25] * 3, classical=[0.28] * 3, gan_drs=[0.33, 0.34, 0.35])  # +12 pts over (a)
    good = report.verdicts(st, [cell], _rows(report, recall, dict(bal, gan_drs=[0.81] * 3)))
    assert len(good) == 1 and "best of (d)/(e) is e DRS" in good[0] and good[0].count("✓") == 4 and "**met**" in good[0]
    assert "+12.0 ± 1.3 pts" in good[0]  # 0.34 - 0.22, SE sqrt(0.01²/3 + 0.02²/3) = 0.0129
    lower_bal = report.verdicts(st, [cell], _rows(report, recall, dict(bal, gan_drs=[0.79] * 3)))
    assert "**not met**" in lower_bal[0] and "✗ balanced accuracy" in lower_bal[0]
    small = report.verdicts(st, [cell], _rows(report, dict(recall, gan_drs=[0.30] * 3), bal))  # +8 pts only
    assert "**not met**" in small[0] and "✗ recall over (a)" in small[0]
    beaten = report.verdicts(st, [cell], _rows(report, dict(recall, classical=[0.40] * 3), bal))
    assert "✗ vs (c)" in beaten[0] and "**not met**" in beaten[0]


def test_drs_2d_core_tiny(tiny_idx, tmp_path, no_docs):
    drs = _load("drs_2d")
    from gankit.metrics.coverage import mixture_coverage

    out = tmp_path / "drs"
    text = drs.main(["--tiny", "--seeds", "0", "--data-root", str(tiny_idx), "--out", str(out)])
    rows = {json.loads(p.read_text())["row"]: json.loads(p.read_text()) for p in (out / "grid25").glob("seed0-*.json")}
    assert set(rows) == {k for k, *_ in drs.METHODS_2D}
    for key, r in rows.items():
        pts = np.load(out / "grid25" / f"seed0-{key}.npy")
        assert len(pts) == 500
        cov = mixture_coverage(pts, "grid25", n_samples=500)  # recomputed from the kept points
        assert (r["modes_covered"], r["hq_fraction"]) == (cov.modes_covered, pytest.approx(cov.hq_fraction))
        assert drs.meets(r) == (cov.modes_covered == 25 and cov.hq_fraction >= 0.95 and (cov.reverse_kl or 1) <= 0.02)
        if key != "plain":
            assert 0 < r["acceptance_rate"] <= 1 and r["acceptance_rate"] == pytest.approx(r["accepted"] / r["proposed"])
    import gankit

    plain = gankit.load(out / "grid25" / "seed0").sample(500, seed=0)  # mode_collapse_2d.py's own protocol
    assert np.allclose(np.load(out / "grid25" / "seed0-plain.npy"), plain.numpy())
    assert "seeds meeting the target" in text and ("| 0/1 |" in text or "| 1/1 |" in text)
    fm = {json.loads(p.read_text())["method"]: json.loads(p.read_text()) for p in out.glob("fmnist-*.json")}
    assert set(fm) == {"none", "drs"} and all(np.isfinite(r["fid"]) for r in fm.values())
    assert 0 < fm["drs"]["acceptance_rate"] <= 1
    assert drs.meets({"modes_covered": 25, "n_modes": 25, "hq_fraction": 0.95, "reverse_kl": 0.02})
    assert not drs.meets({"modes_covered": 25, "n_modes": 25, "hq_fraction": 0.96, "reverse_kl": None})


def test_drs_2d_percentile_rows_and_carried_fmnist(tmp_path, monkeypatch):
    """A ``drs_pNN`` row asks DRS for that γ percentile; ``--skip-fmnist`` keeps the section's last Fashion-MNIST rows, dated."""
    drs = _load("drs_2d")
    import _report

    assert drs.percentile_of("drs_p80") == 80.0 and drs.percentile_of("drs_p99") == 99.0
    assert drs.percentile_of("drs") == drs.percentile_of("drs_exact") == 95.0
    doc = tmp_path / "benchmarks.md"
    monkeypatch.setattr(_report, "DOC", doc)
    assert drs.previous_fmnist() is None  # no document yet
    fm = f"{drs.FMNIST_HEAD} ↓, precision/recall ↑ on the fmnist extractor, 10 samples vs the test split):\n\n| a |\n|---|\n| 57 |"
    doc.write_text(f"# B\n\n## {drs.SECTION}\n\n- date: 2026-01-02 03:04\n\n2D table\n\n{fm}\n\n## Next section\n\nother\n")
    part = drs.previous_fmnist()
    assert part.startswith(drs.FMNIST_HEAD) and "| 57 |" in part and "Next section" not in part and "2D table" not in part
    assert "carried over, not rerun: as this section recorded them on 2026-01-02 03:04" in part
    doc.write_text(f"# B\n\n## {drs.SECTION}\n\n- date: 2026-05-05 00:00\n\n{part}\n")
    assert drs.previous_fmnist() == part  # carried twice: still the date it was measured


def _section(study, rows_md: str, date: str, extra: str = "") -> str:
    head = "| class | kept (real) | condition | added | rare recall | rare precision |\n|---|---|---|---|---|---|\n"
    return (f"# B\n\n## {study.SECTION}\n\n- command: `x`\n- date: {date}\n\n{extra}{head}{rows_md}\n\n"
            "- **shirt, 1 %** target: best of (d)/(e) is d — ✗ → **not met**.\n\n- At 1 %: the best GAN condition ...\n\n"
            "## Next\n\nother\n")


def test_carried_levels_keep_their_rows_and_date(study, report, tmp_path):
    """``--levels 5`` alone keeps the document's 1 % rows (dated as measured), merges them by level, and compares levels."""
    from _augment_carry import previous
    from _augment_jobs import CONDITIONS, Cell, Study

    st = Study(out="unused")
    labels = {c: report.label(c, st) for c, _ in CONDITIONS}
    old = {"real": "0.100 ± 0.010", "oversample": "0.300 ± 0.020", "classical": "0.250 ± 0.010", "gan": "0.280 ± 0.030",
           "gan_conf": "—", "gan_drs": "0.320 ± 0.010", "lowdata": "0.200 ± 0.050"}  # fmt: skip
    md = "\n".join(f"| shirt | 1 % (60) | {labels[c]} | 5940 | {v} | 0.5 ± 0.1 |" for c, v in old.items())
    doc = tmp_path / "benchmarks.md"
    doc.write_text(_section(study, md, "2026-12-02 19:02"))
    carried = previous(doc, study.SECTION, {"shirt-5pct"})
    assert list(carried.rows) == ["shirt-1pct"] and len(carried.rows["shirt-1pct"]) == 7
    assert carried.dates == {"shirt-1pct": "2026-12-02 19:02"} and carried.levels == {"shirt-1pct": 1.0}
    assert carried.recall[("shirt-1pct", labels["gan_drs"])] == (0.32, 0.01) and ("shirt-1pct", labels["gan_conf"]) not in carried.recall
    assert "**shirt, 1 %**" in carried.verdicts["shirt-1pct"] and carried.findings[1.0] == ["- At 1 %: the best GAN condition ..."]
    assert previous(doc, study.SECTION, {"shirt-1pct"}).rows == {}  # rerun here: nothing carried

    # This run: shirt at 5 %, three seeds each; the carried rows come first (level order), then this run's.
    cell = Cell(6, "shirt", 5.0)
    recall = {"real": [0.5, 0.52, 0.54], "oversample": [0.6] * 3, "classical": [0.58] * 3, "gan": [0.62] * 3, "gan_conf": [0.61] * 3,
              "gan_drs": [0.63, 0.64, 0.65], "lowdata": [0.55] * 3}  # fmt: skip
    rows = {(cell.tag, c): [{"metrics": dict.fromkeys(report.METRICS, 0.5) | {"rare_recall": r}, "n_added": 5700} for r in rs]
            for c, rs in recall.items()}  # fmt: skip
    text = report.body(st, [cell], [0, 1, 2], rows, {}, {cell.tag: 300}, None, carried=carried)
    lines = text.splitlines()
    first_1, first_5 = lines.index(md.splitlines()[0]), next(i for i, li in enumerate(lines) if li.startswith("| shirt | 5 % (300) |"))
    assert first_1 < first_5 and sum(li.startswith("| shirt |") for li in lines) == 14
    assert "**Carried over, not rerun** (as this section recorded them on 2026-12-02 19:02): shirt-1pct." in text
    assert text.index("**shirt, 1 %**") < text.index("**shirt, 5 %**") < text.index("- At 1 %") < text.index("- At 5 %")
    # Independently: at 1 % best GAN 0.320 (e DRS) - (a) 0.100 = +22.0, vs better of (b)/(c) 0.300: +2.0; at 5 %: 0.640 - 0.520, 0.640 - 0.600.
    assert ("- **shirt**: at 1 % (a) 0.100, best GAN 0.320: +22.0 pts over (a), +2.0 over the better of (b)/(c); "
            "at 5 % (a) 0.520, best GAN 0.640: +12.0 pts over (a), +4.0 over the better of (b)/(c).") in text

    # Carried a second time (the 5 % rows now kept elsewhere), the 1 % rows keep the date they were measured.
    doc.write_text(_section(study, md, "2026-12-03 09:00", extra=carried.note() + "\n\n"))
    assert previous(doc, study.SECTION, {"shirt-5pct"}).dates == {"shirt-1pct": "2026-12-02 19:02"}
    picture = report.plot(st, [cell], rows, tmp_path / "p.png", carried)
    assert picture.is_file() and picture.stat().st_size > 1000


def test_drs_2d_kept_seeds_need_no_training(tiny_idx, tmp_path, no_docs):
    """A kept seed is reported in a new checkout without retraining; a later run adds its seeds beside it."""
    import re

    drs = _load("drs_2d")
    kept = tmp_path / "kept"
    base = ["--tiny", "--skip-fmnist", "--data-root", str(tiny_idx), "--results", str(kept)]
    first = drs.main([*base, "--seeds", "0", "--out", str(tmp_path / "old")])
    assert sorted(p.name for p in (kept / "grid25").glob("*.json")) == sorted(f"seed0-{k}.json" for k, *_ in drs.METHODS_2D)
    again = drs.main([*base, "--seeds", "1", "--out", str(tmp_path / "new")])  # no cache: a new checkout
    assert not (tmp_path / "new" / "grid25" / "seed0").exists() and (tmp_path / "new" / "grid25" / "seed1").is_dir()
    seed0 = re.findall(r"seed 0: .*? [✓✗]", first)
    assert len(seed0) == len(drs.METHODS_2D) and all(s in again for s in seed0)
    assert len(re.findall(r"seed 1: .*? [✓✗]", again)) == len(drs.METHODS_2D)
    assert re.search(r"\| [0-2]/2 \|", again)


def test_drs_2d_never_scores_an_interrupted_run(tmp_path):
    """A cached seed whose training stopped early (a killed benchmark checkpoints on SIGTERM) is trained again."""
    drs = _load("drs_2d")
    setup = drs.Setup(out=str(tmp_path), extra_2d=("train.max_steps=40", "train.batch_size=256"), reuse=None, kept=None)
    run, info = drs.grid_run(setup, 0)
    assert info["steps"] == 40
    meta = run.with_suffix(".train.json")
    meta.write_text(json.dumps(dict(json.loads(meta.read_text()), steps=17)))
    again, info = drs.grid_run(setup, 0)
    assert info["steps"] == 40 and json.loads(meta.read_text())["steps"] == 40
