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
the acceptance rate. Results are cached under ``--out`` (keyed by their settings) and the 2D rows
kept in ``--results`` (benchmarks/results/drs_2d, in git): a seed costs about 25 single-core minutes
to train, so sessions can add seeds one by one (``--seeds 2,3``) and the table shows every kept
seed. ``--tiny`` runs a few steps on tiny data, prints, and writes nothing under docs/.

    python benchmarks/drs_2d.py [--seeds 0,1,2,3,4] [--parallel 2] [--minutes 10] [--fmnist-methods none,drs]
                                [--skip-fmnist] [--skip-2d] [--results DIR|none] [--note TEXT]
    python benchmarks/drs_2d.py --tiny [--data-root TESTS_IDX_FOLDER]
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _results import key_of as _key, kept_path, lookup, read_cached as _cached, save  # noqa: E402
from _drs_report import FMNIST_LABELS, GAMMA_PERCENTILE, METHODS_2D, RECIPE_FMNIST, meets, percentile_of  # noqa: E402, F401
from _drs_report import kl_text as _kl, report_2d, report_fmnist  # noqa: E402
from mode_collapse_2d import SEEDS, overrides as seed_overrides, recipe_hash  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
KEPT = ROOT / "benchmarks" / "results" / "drs_2d"
SECTION = "Rejection sampling: DRS and MH-GAN on the 2D grid and Fashion-MNIST (benchmarks/drs_2d.py)"
RECIPE_2D = ROOT / "configs" / "mlp_grid25_stable.yaml"
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
    kept: str | None = str(KEPT)  # the 2D rows' JSONs, in git: a new checkout reports every kept seed without retraining


def _save(setup: Setup, path: Path, obj: dict) -> dict:
    return save(setup.out, setup.kept, path, obj)


def grid_run(setup: Setup, seed: int) -> tuple[Path, dict]:
    """The seed's trained grid run: mode_collapse_2d.py's where it matches the recipe, else trained here."""
    from gankit.config import load_config
    from gankit.train.engine import train

    h = recipe_hash(RECIPE_2D, list(setup.extra_2d) or None)
    steps = _planned_steps(setup.extra_2d)
    theirs = Path(setup.reuse) / f"seed{seed}.json" if setup.reuse and not setup.extra_2d else None
    if theirs is not None and theirs.is_file() and (theirs.with_suffix("") / "checkpoints").is_dir():
        info = json.loads(theirs.read_text())
        if info.get("recipe_hash") == h and info.get("steps", 0) >= steps:
            return theirs.with_suffix(""), {"steps": info["steps"], "seconds": info["seconds"], "trained_by": "benchmarks/mode_collapse_2d.py"}
    run = Path(setup.out) / "grid25" / f"seed{seed}"
    info = _cached(run.with_suffix(".train.json"), h)
    if info and (run / "checkpoints").is_dir() and info.get("steps", 0) >= steps:  # an interrupted run is never scored
        return run, info
    shutil.rmtree(run, ignore_errors=True)
    cfg = load_config(RECIPE_2D, [*setup.extra_2d, *seed_overrides(seed, max(1, steps // 10))])
    t0 = time.perf_counter()
    res = train(cfg, run, hooks=[])
    if res.step < steps:
        raise RuntimeError(f"grid25 seed {seed}: training stopped at step {res.step} of {steps} ({res.status}); no rows from a partial run")
    return run, save(setup.out, None, run.with_suffix(".train.json"), {"key": h, "steps": res.step, "seconds": round(time.perf_counter() - t0, 1),
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


@functools.lru_cache(maxsize=4)
def _planned_steps(extra: tuple[str, ...]) -> int:
    """The recipe's step count (read once: every row key needs it)."""
    from gankit.config import load_config

    return load_config(RECIPE_2D, list(extra)).train.max_steps


def row_key(setup: Setup, key: str, method: str, gamma: float | None) -> str:
    """A 2D row's settings, independent of where its run lies (a kept row must match in a new checkout)."""
    pct = percentile_of(key)
    planned = _planned_steps(setup.extra_2d)
    return _key([recipe_hash(RECIPE_2D, list(setup.extra_2d) or None), planned, method, gamma, setup.n_2d, setup.calibration_n,
                 setup.burn_in] + ([pct] if pct != GAMMA_PERCENTILE else []))  # fmt: skip


def _row_path(setup: Setup, seed: int, key: str, suffix: str = ".json") -> Path:
    return Path(setup.out) / "grid25" / f"seed{seed}-{key}{suffix}"


def kept_seeds(setup: Setup) -> list[int]:
    """The seeds whose every 2D row is kept (or cached) under the current settings."""
    seeds = set()
    for root in (Path(setup.out), Path(setup.kept) if setup.kept else None):
        if root is not None:
            seeds |= {int(p.name[4:-11]) for p in (root / "grid25").glob("seed*-plain.json") if p.name[4:-11].isdigit()}
    keys = [(k, row_key(setup, k, m, g)) for k, m, g, _ in METHODS_2D]
    return sorted(s for s in seeds if all(lookup(setup.out, setup.kept, _row_path(setup, s, k), h) for k, h in keys))


def grid_seed(setup: Setup, seed: int) -> list[dict]:
    """Every 2D method on one seed (cached and kept per method; trained only if a row is missing); seed 0's points
    are kept for the picture."""
    from gankit.metrics.coverage import mixture_coverage

    torch.set_num_threads(1)
    found = {key: lookup(setup.out, setup.kept, _row_path(setup, seed, key), row_key(setup, key, m, g)) for key, m, g, _ in METHODS_2D}
    run, info = (None, {}) if all(found.values()) else grid_run(setup, seed)
    out = []
    for key, method, gamma, _ in METHODS_2D:
        path, res = _row_path(setup, seed, key), found[key]
        if res is None:
            t0 = time.perf_counter()
            pts, meas = draw(run, setup.n_2d, method, seed, gamma, setup, percentile_of(key))
            seconds = round(time.perf_counter() - t0, 1)
            cov = mixture_coverage(pts, "grid25", n_samples=setup.n_2d)
            res = {"key": row_key(setup, key, method, gamma), "seed": seed, "row": key, **cov.to_dict(), **meas,
                   "sampling_seconds": seconds, "train_steps": info.get("steps"), "train_seconds": info.get("seconds"),
                   "trained_by": info.get("trained_by")}  # fmt: skip
            if seed == 0:
                for target in (path, kept_path(setup.out, setup.kept, path)):
                    if target is not None:
                        target.parent.mkdir(parents=True, exist_ok=True)
                        np.save(target.with_suffix(".npy"), np.asarray(pts, dtype=np.float32))
        out.append(_save(setup, path, res))
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
            info = save(setup.out, None, run.with_suffix(".train.json"), {"key": h, "steps": res.step,
                                                                    "seconds": round(time.perf_counter() - t0, 1)})  # fmt: skip
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
            row = save(setup.out, None, cache, {"key": k, "method": method, "fid": rep.value("fid"), "precision": rep.value("precision"),
                                "recall": rep.value("recall"), **meas, "sampling_seconds": seconds, "train_steps": info.get("steps"),
                                "train_seconds": info.get("seconds")})  # fmt: skip
        rows.append(row)
    return rows


def _job(job: tuple) -> object:
    kind, setup, *rest = job
    return grid_seed(setup, *rest) if kind == "grid" else fmnist_rows(setup, *rest)


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

    panels = []
    for key, _, _, label in METHODS_2D:
        f = _row_path(setup, 0, key, ".npy")
        kept = kept_path(setup.out, setup.kept, f)
        f = f if f.is_file() or kept is None else kept
        if f.is_file():
            panels.append((label, f))
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
    ap.add_argument("--results", default=None, help="where the 2D rows are kept (default benchmarks/results/drs_2d; --tiny: "
                    "nowhere); 'none' keeps none. Every kept seed is reported, whether --seeds names it or not")  # fmt: skip
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
                      data_root=args.data_root, reuse=None, kept=None)  # fmt: skip
        seeds = seeds[:2] if args.seeds == ",".join(map(str, SEEDS)) else seeds
    else:
        setup = Setup(out=args.out or str(ROOT / "runs" / "bench-drs"), minutes=args.minutes, data_root=args.data_root)
    if args.results:
        setup = replace(setup, kept=None if args.results == "none" else args.results)
    seeds += [] if args.skip_2d else [s for s in kept_seeds(setup) if s not in seeds]  # reported from the kept rows: no training
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
