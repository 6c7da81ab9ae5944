"""Rejection sampling by the discriminator: DRS and MH-GAN against plain sampling, on the 2D grid and Fashion-MNIST.

2D: the shipped ``configs/mlp_grid25_stable.yaml`` on every seed of benchmarks/mode_collapse_2d.py (0-4),
its final generator sampled 2,500 times plainly (exactly as that benchmark does, so its row is this
one's baseline), with DRS (Azadi et al. 2019; the default γ, and γ = 0, the exact rule) and with
MH-GAN (Turner et al. 2019), each scored by the VEEGAN/PacGAN protocol: modes covered, high-quality
fraction, reverse KL; and the acceptance rate. The issue's target: 25/25 modes, ≥ 95 % HQ and reverse KL
≤ 0.02 on every seed. Where mode_collapse_2d.py has already trained a seed with the same recipe
(``runs/bench-2d/grid25/stable``), that run is reused; otherwise it is trained here.

Fashion-MNIST: ``dcgan_fashion_mnist`` trained for ``--minutes`` (default 10, as in the quality
table), 10,000 samples plainly and with DRS: FID, precision and recall against the test split, and
the acceptance rate. Results are cached under ``--out`` (keyed by their settings); ``--tiny`` runs a
few steps on tiny data, prints, and writes nothing under docs/.

    python benchmarks/drs_2d.py [--seeds 0,1,2,3,4] [--parallel 2] [--minutes 10] [--fmnist-methods none,drs]
                                [--skip-fmnist] [--skip-2d] [--note TEXT]
    python benchmarks/drs_2d.py --tiny [--data-root TESTS_IDX_FOLDER]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mode_collapse_2d import SEEDS, TARGET, overrides as seed_overrides, recipe_hash  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "Rejection sampling: DRS and MH-GAN on the 2D grid and Fashion-MNIST (benchmarks/drs_2d.py)"
RECIPE_2D = ROOT / "configs" / "mlp_grid25_stable.yaml"
RECIPE_FMNIST = "dcgan_fashion_mnist"
# (key, method, gamma, label); a key "drs_pNN" sets γ to the NN-th percentile of F instead of the default 95th.
METHODS_2D = [("plain", "none", None, "plain sampling"), ("drs", "drs", None, "DRS, default γ (95th percentile of F)"),
              ("drs_p80", "drs", None, "DRS, γ at the 80th percentile"), ("drs_p99", "drs", None, "DRS, γ at the 99th percentile"),
              ("drs_exact", "drs", 0.0, "DRS, γ = 0 (the exact rule)"), ("mh", "mh", None, "MH-GAN (chains of 100)")]  # fmt: skip
GAMMA_PERCENTILE = 95.0


def percentile_of(key: str) -> float:
    """The γ percentile a row asks for (``drs_p80`` -> 80), else DRS's default."""
    return float(key[len("drs_p"):]) if key.startswith("drs_p") else GAMMA_PERCENTILE
FMNIST_LABELS = {"none": "plain sampling", "drs": "DRS, default γ", "mh": "MH-GAN (chains of 100)"}
TINY_FMNIST = ["model.z_dim=8", "model.generator.base_channels=4", "model.discriminator.base_channels=4", "train.batch_size=16",
               "train.max_steps=20", "train.max_minutes=null", "eval.fid=off"]  # fmt: skip


@dataclass(frozen=True)
class Setup:
    out: str
    n_2d: int = 2500
    n_fmnist: int = 10000
    minutes: float = 10.0
    extra_2d: tuple[str, ...] = ()  # --tiny: fewer steps
    fmnist_overrides: tuple[str, ...] = ()  # --tiny: tiny nets
    calibration_n: int = 5000
    burn_in: int = 10000
    data_root: str | None = None
    reuse: str | None = str(ROOT / "runs" / "bench-2d" / "grid25" / "stable")


def _key(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _cached(path: Path, key: str) -> dict | None:
    try:
        r = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return r if r.get("key") == key else None


def _save(path: Path, obj: dict) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    tmp.replace(path)
    return obj


def grid_run(setup: Setup, seed: int) -> tuple[Path, dict]:
    """The seed's trained grid run: mode_collapse_2d.py's where it matches the recipe, else trained here."""
    from gankit.config import load_config
    from gankit.train.engine import train

    h = recipe_hash(RECIPE_2D, list(setup.extra_2d) or None)
    theirs = Path(setup.reuse) / f"seed{seed}.json" if setup.reuse and not setup.extra_2d else None
    if theirs is not None and theirs.is_file() and (theirs.with_suffix("") / "checkpoints").is_dir():
        info = json.loads(theirs.read_text())
        if info.get("recipe_hash") == h:
            return theirs.with_suffix(""), {"steps": info["steps"], "seconds": info["seconds"], "trained_by": "benchmarks/mode_collapse_2d.py"}
    run = Path(setup.out) / "grid25" / f"seed{seed}"
    info = _cached(run.with_suffix(".train.json"), h)
    if info and (run / "checkpoints").is_dir():
        return run, info
    shutil.rmtree(run, ignore_errors=True)
    steps = load_config(RECIPE_2D, list(setup.extra_2d)).train.max_steps
    cfg = load_config(RECIPE_2D, [*setup.extra_2d, *seed_overrides(seed, max(1, steps // 10))])
    t0 = time.perf_counter()
    res = train(cfg, run, hooks=[])
    return run, _save(run.with_suffix(".train.json"), {"key": h, "steps": res.step, "seconds": round(time.perf_counter() - t0, 1),
                                                       "trained_by": "benchmarks/drs_2d.py"})  # fmt: skip


def draw(run: Path, n: int, method: str, seed: int, gamma: float | None, setup: Setup,
         percentile: float = GAMMA_PERCENTILE) -> tuple[torch.Tensor, dict]:
    """``n`` samples of the run, plainly (``method`` "none") or through its D; with what the sampler measured."""
    import gankit

    if method == "none":
        return gankit.load(run).sample(n, seed=seed), {"acceptance_rate": None, "proposed": n, "accepted": n}
    from gankit.sampling import rejection_sample

    res = rejection_sample(run, n, method, seed=seed, gamma=gamma, calibration_n=setup.calibration_n, burn_in=setup.burn_in,
                           gamma_percentile=percentile)  # fmt: skip
    cal = res.details.get("calibration", {})
    return res.samples, {"acceptance_rate": res.acceptance_rate, "proposed": res.proposed, "accepted": res.accepted,
                         "gamma": res.gamma, "calibration_accuracy": cal.get("accuracy"), "held_out": res.details.get("held_out")}  # fmt: skip


def grid_seed(setup: Setup, seed: int) -> list[dict]:
    """Every 2D method on one seed (cached per method); seed 0's points are kept for the picture."""
    from gankit.metrics.coverage import mixture_coverage

    torch.set_num_threads(1)
    run, info = grid_run(setup, seed)
    out = []
    for key, method, gamma, _ in METHODS_2D:
        pct = percentile_of(key)
        k = _key([recipe_hash(RECIPE_2D, list(setup.extra_2d) or None), str(run), info.get("steps"), method, gamma, setup.n_2d,
                  setup.calibration_n, setup.burn_in] + ([pct] if pct != GAMMA_PERCENTILE else []))  # fmt: skip
        path = Path(setup.out) / "grid25" / f"seed{seed}-{key}.json"
        res = _cached(path, k)
        if res is None:
            t0 = time.perf_counter()
            pts, meas = draw(run, setup.n_2d, method, seed, gamma, setup, pct)
            seconds = round(time.perf_counter() - t0, 1)
            cov = mixture_coverage(pts, "grid25", n_samples=setup.n_2d)
            res = _save(path, {"key": k, "seed": seed, "row": key, **cov.to_dict(), **meas, "sampling_seconds": seconds,
                               "train_steps": info.get("steps"), "train_seconds": info.get("seconds"), "trained_by": info.get("trained_by")})  # fmt: skip
            if seed == 0:
                np.save(path.with_suffix(".npy"), np.asarray(pts, dtype=np.float32))
        out.append(res)
    return out


def fmnist_rows(setup: Setup, methods: list[str], run_dir: str | None = None) -> list[dict]:
    """dcgan_fashion_mnist at ``minutes`` (or ``run_dir``), sampled by each method: FID, precision, recall."""
    from gankit.config import load_config
    from gankit.metrics import evaluate
    from gankit.train.engine import train

    torch.set_num_threads(1)
    root = [f"data.root={setup.data_root}"] if setup.data_root else []
    over = [*root, f"train.max_minutes={setup.minutes}", "train.max_steps=10000000", "log.progress=false", *setup.fmnist_overrides]
    path = ROOT / "configs" / f"{RECIPE_FMNIST}.yaml"
    if run_dir:
        run, info = Path(run_dir), {"steps": None, "seconds": None, "run": run_dir}
    else:
        h = _key([path.read_text(), over])
        run = Path(setup.out) / RECIPE_FMNIST
        info = _cached(run.with_suffix(".train.json"), h)
        if not (info and (run / "checkpoints").is_dir()):
            shutil.rmtree(run, ignore_errors=True)
            t0 = time.perf_counter()
            res = train(load_config(path, over), run)
            info = _save(run.with_suffix(".train.json"), {"key": h, "steps": res.step, "seconds": round(time.perf_counter() - t0, 1)})
    rows = []
    for method in methods:
        k = _key([info, str(run), method, setup.n_fmnist, setup.calibration_n, setup.burn_in, setup.data_root])
        cache = Path(setup.out) / f"fmnist-{method}.json"
        row = _cached(cache, k)
        if row is None:
            t0 = time.perf_counter()
            x, meas = draw(run, setup.n_fmnist, method, 0, None, setup)
            seconds = round(time.perf_counter() - t0, 1)
            rep = evaluate(x, "fid,pr", extractor="fmnist", ref="fashion-mnist:test", n=setup.n_fmnist, data_root=setup.data_root)
            row = _save(cache, {"key": k, "method": method, "fid": rep.value("fid"), "precision": rep.value("precision"),
                                "recall": rep.value("recall"), **meas, "sampling_seconds": seconds, "train_steps": info.get("steps"),
                                "train_seconds": info.get("seconds")})  # fmt: skip
        rows.append(row)
    return rows


def _job(job: tuple) -> object:
    kind, setup, *rest = job
    return grid_seed(setup, *rest) if kind == "grid" else fmnist_rows(setup, *rest)


def meets(r: dict) -> bool:
    return r["modes_covered"] == r["n_modes"] and r["hq_fraction"] >= TARGET["hq"] and r["reverse_kl"] is not None \
        and r["reverse_kl"] <= TARGET["rkl"]  # fmt: skip


def _ms(v: list[float], scale: float = 1.0, digits: int = 3) -> str:
    v = [x for x in v if x is not None]
    if not v:
        return "—"
    a = np.asarray(v, dtype=np.float64) * scale
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1) if len(a) > 1 else 0.0:.{digits}f}"


def _kl(v: float | None) -> str:
    return "— (no HQ sample)" if v is None else f"{v:.3f}"


def report_2d(results: dict[int, list[dict]]) -> str:
    from _report import table

    rows, lines = [], []
    for key, _, _, label in METHODS_2D:
        rs = [r for seed in sorted(results) for r in results[seed] if r["row"] == key]
        if not rs:
            continue
        ok = [meets(r) for r in rs]
        rows.append([label, _ms([r["modes_covered"] for r in rs], digits=1), _ms([r["hq_fraction"] for r in rs], 100, 1),
                     _ms([r["reverse_kl"] for r in rs]), _ms([r["acceptance_rate"] for r in rs], 100, 2),
                     f"{sum(ok)}/{len(ok)}", _ms([r["sampling_seconds"] for r in rs], digits=1)])  # fmt: skip
        per_seed = "; ".join(f"seed {r['seed']}: {r['modes_covered']}/{r['n_modes']}, {100 * r['hq_fraction']:.1f} % HQ, "
                             f"rKL {_kl(r['reverse_kl'])}" + (" ✓" if o else " ✗") for r, o in zip(rs, ok))  # fmt: skip
        gap = ""
        if not all(ok):
            worst_hq = min(r["hq_fraction"] for r in rs)
            worst_kl = max((r["reverse_kl"] for r in rs if r["reverse_kl"] is not None), default=None)
            gap = (f" How far: lowest HQ {100 * worst_hq:.1f} % (target 95), fewest modes {min(r['modes_covered'] for r in rs)}/25, "
                   f"largest reverse KL {_kl(worst_kl)} (target 0.02).")  # fmt: skip
        lines.append(f"- **{label}**: target {'met' if all(ok) else 'not met'} on {sum(ok)}/{len(ok)} seeds — {per_seed}.{gap}")
    head = ["sampler", "modes (of 25)", "HQ %", "reverse KL", "acceptance %", "seeds meeting the target", "sampling s"]
    return table(head, rows) + "\n\n" + "\n".join(lines)


def report_fmnist(rows: list[dict]) -> str:
    from _report import table

    if not rows:
        return "Not run (`--skip-fmnist`)."
    body = table(["sampler", "FID", "precision", "recall", "acceptance %", "proposed", "sampling s"],
                 [[FMNIST_LABELS.get(r["method"], r["method"]), r["fid"], r["precision"], r["recall"],
                   None if r["acceptance_rate"] is None else 100 * r["acceptance_rate"], r["proposed"], r["sampling_seconds"]]
                  for r in rows])  # fmt: skip
    base = next((r for r in rows if r["method"] == "none"), None)
    lines = [f"- **{FMNIST_LABELS.get(r['method'], r['method'])}** against plain sampling: FID {r['fid'] - base['fid']:+.2f}, precision "
             f"{r['precision'] - base['precision']:+.3f}, recall {r['recall'] - base['recall']:+.3f}."
             for r in rows if base and r is not base]  # fmt: skip
    steps = rows[0].get("train_steps")
    trained = f"`{RECIPE_FMNIST}` trained {steps} steps in {rows[0]['train_seconds'] / 60:.1f} min" if steps else "the given run"
    held = next((r["held_out"] for r in rows if r.get("held_out")), None)
    return (f"{trained}; one sample set of each sampler (seed 0)" + (f"; D recalibrated on {held}" if held else "") + ".\n\n"
            + body + "\n\n" + "\n".join(lines))


FMNIST_HEAD = "**Fashion-MNIST** (FID"


def previous_fmnist() -> str | None:
    """This section's Fashion-MNIST part as docs/benchmarks.md has it, labelled with its date (``--skip-fmnist``
    reruns the 2D part alone without losing the last measured Fashion-MNIST rows)."""
    import re

    from _report import DOC

    text = DOC.read_text() if DOC.is_file() else ""
    m = re.search(rf"^## {re.escape(SECTION)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    if not m or FMNIST_HEAD not in m.group(1):
        return None
    sec = m.group(1)
    date = re.search(r"^- date: (.+)$", sec, re.M)
    part = sec[sec.index(FMNIST_HEAD):].strip()
    if part.startswith(FMNIST_HEAD) and "carried over" not in part:
        when = date.group(1) if date else "an earlier run"
        part = part.replace("):\n", f"; carried over, not rerun: as this section recorded them on {when}):\n", 1)
    return part


def _steps(grid: dict[int, list[dict]]) -> str:
    steps = sorted({r["train_steps"] for rs in grid.values() for r in rs if r.get("train_steps")})
    return ", ".join(f"{s:,}" for s in steps) or "?"


def picture(setup: Setup, path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from gankit.metrics.coverage import load_mixture

    panels = [(label, Path(setup.out) / "grid25" / f"seed0-{key}.npy") for key, _, _, label in METHODS_2D]
    panels = [(lab, f) for lab, f in panels if f.is_file()]
    if not panels:
        return None
    means, _ = load_mixture("grid25")
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4), dpi=100, squeeze=False)
    for ax, (lab, f) in zip(axes[0], panels):
        pts = np.load(f)
        ax.scatter(pts[:, 0], pts[:, 1], s=1.5, alpha=0.35, color="tab:blue", rasterized=True)
        ax.scatter(means[:, 0], means[:, 1], s=14, marker="x", color="tab:red", lw=0.8)
        ax.set_xlim(-5.5, 5.5)
        ax.set_ylim(-5.5, 5.5)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(lab, fontsize=8)
    fig.suptitle("mlp_grid25_stable, seed 0: samples (blue) over the true means (red)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default=",".join(map(str, SEEDS)))
    ap.add_argument("--parallel", type=int, default=None, help="worker processes, one torch thread each (default 2; --tiny 1)")
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget of the Fashion-MNIST run")
    ap.add_argument("--fmnist-methods", default="none,drs", help="samplers for Fashion-MNIST (none, drs, mh)")
    ap.add_argument("--fmnist-run", default=None, help="use this trained run instead of training dcgan_fashion_mnist")
    ap.add_argument("--skip-fmnist", action="store_true")
    ap.add_argument("--skip-2d", action="store_true")
    ap.add_argument("--out", default=None, help="cache folder (default runs/bench-drs; --tiny: a temporary one)")
    ap.add_argument("--data-root", default=None, help="Fashion-MNIST IDX folder (default: gankit's search)")
    ap.add_argument("--tiny", action="store_true", help="a few steps on tiny data; prints, writes nothing under docs/")
    ap.add_argument("--note", default="", help="conditions of this run to print above the tables")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    methods = [m for m in args.fmnist_methods.split(",") if m.strip()]
    if any(m not in FMNIST_LABELS for m in methods) or not seeds:
        ap.error("--fmnist-methods takes none, drs, mh; --seeds at least one seed")
    if args.tiny:
        setup = Setup(out=args.out or tempfile.mkdtemp(prefix="gankit-drs-tiny-"), n_2d=500, n_fmnist=64, calibration_n=500,
                      burn_in=500, extra_2d=("train.max_steps=40", "train.batch_size=256"), fmnist_overrides=tuple(TINY_FMNIST),
                      data_root=args.data_root, reuse=None)  # fmt: skip
        seeds = seeds[:2] if args.seeds == ",".join(map(str, SEEDS)) else seeds
    else:
        setup = Setup(out=args.out or str(ROOT / "runs" / "bench-drs"), minutes=args.minutes, data_root=args.data_root)
    parallel = args.parallel or (1 if args.tiny else 2)
    torch.set_num_threads(1)
    jobs: list[tuple] = [] if args.skip_fmnist else [("fmnist", setup, methods, args.fmnist_run)]
    jobs += [] if args.skip_2d else [("grid", setup, s) for s in seeds]
    t0 = time.perf_counter()
    if parallel > 1:
        import multiprocessing as mp
        import os
        from concurrent.futures import ProcessPoolExecutor

        os.environ["OMP_NUM_THREADS"] = "1"
        with ProcessPoolExecutor(max_workers=parallel, mp_context=mp.get_context("spawn")) as pool:
            outs = list(pool.map(_job, jobs))
    else:
        outs = [_job(j) for j in jobs]
    fm = outs[0] if not args.skip_fmnist else []
    grid = {j[2]: o for j, o in zip(jobs, outs) if j[0] == "grid"}
    for s, rs in grid.items():
        for r in rs:
            acc = "—" if r["acceptance_rate"] is None else f"{100 * r['acceptance_rate']:.2f} %"
            print(f"grid25 seed {s} {r['row']:9s}: {r['modes_covered']}/25 modes, HQ {100 * r['hq_fraction']:.1f} %, "
                  f"rKL {_kl(r['reverse_kl'])}, acceptance {acc}", flush=True)  # fmt: skip
    carried = previous_fmnist() if args.skip_fmnist and not args.tiny else None
    img = Path(setup.out) / "drs_grid25.png" if args.tiny else ROOT / "docs" / "images" / "drs_grid25.png"
    pic = picture(setup, img) if grid else None
    text = (
        f"2D: `configs/mlp_grid25_stable.yaml` ({_steps(grid)} steps), every seed of the mode-collapse benchmark, its "
        f"final generator (EMA where kept) sampled {setup.n_2d} times per sampler and scored as there (HQ within 3σ, a mode "
        "covered by ≥ 1 HQ sample, reverse KL of the HQ mode histogram to uniform). D's logit is recalibrated (logistic) on "
        f"{setup.calibration_n} fresh draws of the mixture against as many samples; DRS estimates max D~ on a burn-in of "
        f"{setup.burn_in}. Acceptance = kept / proposed (MH: moves / proposals). Target: 25/25 modes, ≥ 95 % HQ and reverse "
        "KL ≤ 0.02 on every seed.\n\n"
        + (f"**Conditions of this run:** {args.note}\n\n" if args.note else "")
        + (report_2d(grid) if grid else "2D not run (`--skip-2d`).")
        + (f"\n\n![grid25 samplers, seed 0](images/{pic.name})" if pic else "")
        + "\n\n"
        + (carried if carried else f"{FMNIST_HEAD} ↓, precision/recall ↑ on the fmnist extractor, {setup.n_fmnist} samples vs the "
           "test split):\n\n" + report_fmnist(fm)) + "\n"
    )
    print(text)
    print(f"({(time.perf_counter() - t0) / 60:.1f} min; cache {setup.out})", flush=True)
    if not args.tiny:
        from _report import write_section

        print("wrote", write_section(SECTION, text, omit=("--note",)))
    return text


if __name__ == "__main__":
    main()
