"""Quality per minute: which levers lower Fashion-MNIST FID at a fixed wall-clock budget on this machine.

Every *lever* is a recipe plus overrides (data, listed in :data:`LEVERS`). Each trains for ``--minutes``
with ``--threads`` torch threads, one run at a time (so each has the cores to itself), and its final
generator (EMA where kept; conditional ones sample every class in turn, i.e. uniformly) is scored by
the independent evaluator: the Fashion-MNIST classifier's features, 10,000 samples against the
10,000 test images -- FID, precision and recall (k = 3). The baseline (``dcgan_fashion_mnist``) always
runs in the same invocation, because a budget in minutes buys different step counts on different
days. Results are cached under ``--out`` keyed by recipe text, overrides, budget, seed, threads and the
day, so a rerun the same day only trains what is missing, and another day retrains everything.

    python benchmarks/quality_per_minute.py --levers all --minutes 5 --seeds 1      # screen every lever
    python benchmarks/quality_per_minute.py --levers default,dcgan --minutes 10 --seeds 3   # the issue's check
    python benchmarks/quality_per_minute.py --list                                   # what each lever is
    python benchmarks/quality_per_minute.py --tiny                                   # seconds; writes no docs

The verdict line compares every lever with the baseline: the issue's bar is FID at least 25 % below
the baseline's with recall no lower, on 3 seeds (mean ± std).
"""

from __future__ import annotations

import argparse
import datetime as dt
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
from _report import table, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SECTION = "Quality per minute: levers at equal wall-clock (benchmarks/quality_per_minute.py)"
BASELINE = "dcgan"
TARGET_FID_RATIO = 0.75  # the issue: at least 25 % below the baseline's FID


@dataclass(frozen=True)
class Lever:
    name: str
    recipe: str  # configs/<recipe>.yaml
    overrides: tuple[str, ...]
    what: str


def _ema(start: float, half_life: int = 10000) -> str:
    return f"{{name: ema, half_life_images: {half_life}, start: {start}}}"


#: The levers the issue names, each measured alone on top of its recipe, then combined.
LEVERS: list[Lever] = [
    Lever("dcgan", "dcgan_fashion_mnist", (), "the baseline: DCGAN-64, non-saturating, batch 64"),
    Lever("dcgan32", "dcgan_fashion_mnist", ("model.generator.base_channels=32", "model.discriminator.base_channels=32"),
          "narrower: DCGAN-32 (about 3x the steps per minute)"),
    Lever("dcgan48", "dcgan_fashion_mnist", ("model.generator.base_channels=48", "model.discriminator.base_channels=48"),
          "DCGAN-48"),
    Lever("stable", "stable_fashion_mnist", (), "stable_fashion_mnist: DCGAN-32 + one-sided label smoothing"),
    Lever("bf16", "dcgan_fashion_mnist", ("train.precision=bf16-mixed",), "bf16-mixed precision"),
    Lever("ttur", "dcgan_fashion_mnist", ("optim.g.lr=1e-4", "optim.d.lr=4e-4"), "TTUR: G 1e-4, D 4e-4"),
    Lever("batch128", "dcgan_fashion_mnist", ("train.batch_size=128", "optim.g.lr=2.83e-4", "optim.d.lr=2.83e-4"),
          "batch 128, lr x sqrt(2)"),
    Lever("batch32", "dcgan_fashion_mnist", ("train.batch_size=32", "optim.g.lr=1.41e-4", "optim.d.lr=1.41e-4"),
          "batch 32, lr / sqrt(2)"),
    Lever("ema", "dcgan_fashion_mnist", (f"regularizers=[{_ema(0.5)}]",), "EMA of G (10k-image half-life) from half the budget"),
    Lever("lrdecay", "dcgan_fashion_mnist", ("train.lr_decay=linear", "train.lr_decay_start=0.5"),
          "lr decays linearly to 0 over the second half of the budget"),
    Lever("hinge_sn", "dcgan_fashion_mnist", ("loss.name=hinge", "regularizers=[{name: spectral_norm}]"), "hinge + spectral norm on D"),
    Lever("diffaugment", "dcgan_fashion_mnist", ("regularizers=[{name: diffaugment, policy: [translation, cutout]}]",),
          "DiffAugment (translation, cutout)"),
    Lever("r1", "dcgan_fashion_mnist", ("regularizers=[{name: r1, gamma: 0.1, every: 16}]",), "lazy R1 (gamma 0.1, every 16)"),
    Lever("resnet", "sngan_resnet_fashion_mnist", (), "ResNet G/D, hinge + SN, TTUR (sngan_resnet_fashion_mnist)"),
    Lever("progan", "progan_fashion_mnist", (), "progressive growing 7 -> 14 -> 28 (progan_fashion_mnist)"),
    Lever("cgan", "cgan_fashion_mnist", (), "conditional DCGAN, classes sampled uniformly"),
    Lever("projection", "projection_fashion_mnist", (), "projection-D ResNet cGAN, classes sampled uniformly"),
    Lever("stylegan2", "stylegan2_fashion_mnist", (), "StyleGAN2-small"),
    Lever("tacgan", "tacgan_fashion_mnist", (), "TAC-GAN + projection D, DCGAN-32, EMA from 20 %, classes sampled uniformly"),
    Lever("tacgan_bf16", "tacgan_fashion_mnist", ("train.precision=bf16-mixed",), "tacgan in bf16-mixed"),
    Lever("tacgan_lrdecay", "tacgan_fashion_mnist", ("train.lr_decay=linear", "train.lr_decay_start=0.5"),
          "tacgan, lr decays linearly to 0 over the second half"),
    Lever("default", "default_fashion_mnist", (), "the default as shipped: tacgan with precision auto, no EMA"),
    Lever("default_ema", "default_fashion_mnist", ("regularizers=[{name: ema, decay: 0.999, start: 0.2}]",),
          "the default with an EMA of G (decay 0.999 from 20 %), as first shipped"),
    Lever("default48", "default_fashion_mnist", ("model.generator.base_channels=48", "model.discriminator.base_channels=48"),
          "the default at DCGAN-48"),
    Lever("default_ttur", "default_fashion_mnist", ("optim.g.lr=1e-4", "optim.d.lr=4e-4"), "the default with TTUR: G 1e-4, D 4e-4"),
    Lever("default_batch128", "default_fashion_mnist", ("train.batch_size=128", "optim.g.lr=2.83e-4", "optim.d.lr=2.83e-4"),
          "the default at batch 128, lr x sqrt(2)"),
    Lever("default_smooth", "default_fashion_mnist", ("regularizers=[{name: one_sided_label_smoothing, real: 0.9}]",),
          "the default with one-sided label smoothing (real 0.9), as stable_fashion_mnist has"),
]
BY_NAME = {lv.name: lv for lv in LEVERS}
TINY = ("model.z_dim=8", "model.generator.base_channels=4", "model.discriminator.base_channels=4", "train.batch_size=16")


@dataclass(frozen=True)
class Setup:
    out: str
    minutes: float
    threads: int
    n: int = 10000
    steps: int | None = None  # --tiny: a step budget instead of minutes
    extra: tuple[str, ...] = ()  # --tiny: tiny networks
    data_root: str | None = None
    day: str = dt.date.today().isoformat()


def _key(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def overrides(setup: Setup, lever: Lever, seed: int) -> list[str]:
    budget = [f"train.max_steps={setup.steps}", "train.max_minutes=null"] if setup.steps else \
        [f"train.max_minutes={setup.minutes}", "train.max_steps=null"]  # fmt: skip
    root = [f"data.root={setup.data_root}"] if setup.data_root else []
    return [*root, *lever.overrides, *budget, f"seed={seed}", "log.progress=false", "log.tensorboard=false", *setup.extra]


def run_one(setup: Setup, lever: Lever, seed: int) -> dict:
    """Train (or find cached) one lever at one seed, then score it with the independent evaluator."""
    from gankit.config import load_config
    from gankit.inference import load
    from gankit.metrics import evaluate
    from gankit.train.engine import train

    path = ROOT / "configs" / f"{lever.recipe}.yaml"
    over = overrides(setup, lever, seed)
    key = _key([path.read_text(), over, setup.minutes, setup.steps, setup.threads, setup.n, setup.day])
    budget = f"{setup.steps}steps" if setup.steps else f"{setup.minutes:g}min"  # a screen and a check never share a folder
    run = Path(setup.out) / budget / lever.name / f"seed{seed}"
    cache = run.with_suffix(".json")
    try:
        row = json.loads(cache.read_text())
        if row.get("key") == key:
            return row
    except (OSError, ValueError):
        pass
    shutil.rmtree(run, ignore_errors=True)
    torch.set_num_threads(setup.threads)
    cfg = load_config(path, over)
    t0 = time.perf_counter()
    res = train(cfg, run, hooks=[])  # no in-loop FID: the budget buys training only
    seconds = time.perf_counter() - t0
    gen = load(run)
    rep = evaluate(gen.sample(setup.n, seed=0), "fid,pr", extractor="fmnist", ref="fashion-mnist:test", n=setup.n,
                   data_root=setup.data_root)  # fmt: skip
    row = {"key": key, "lever": lever.name, "seed": seed, "steps": res.step, "status": res.status, "seconds": round(seconds, 1),
           "fid": rep.value("fid"), "precision": rep.value("precision"), "recall": rep.value("recall"),
           "weights": gen.weights, "threads": setup.threads}  # fmt: skip
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(row, indent=1))
    tmp.replace(cache)
    if res.grid is not None:
        shutil.copyfile(res.grid, run.with_suffix(".png"))
    return row


def _ms(v: list[float], digits: int) -> str:
    a = np.asarray(v, dtype=np.float64)
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1):.{digits}f}" if len(a) > 1 else f"{a.mean():.{digits}f}"


def verdict(base: list[dict], rows: list[dict]) -> str:
    """The issue's bar for one lever against the baseline of the same run: FID ≤ 0.75 x, recall no lower (means)."""
    bf, br = np.mean([r["fid"] for r in base]), np.mean([r["recall"] for r in base])
    f, r = np.mean([x["fid"] for x in rows]), np.mean([x["recall"] for x in rows])
    ok = f <= TARGET_FID_RATIO * bf and r >= br
    return (f"FID {f:.1f} vs {bf:.1f} ({100 * (f / bf - 1):+.0f} %), recall {r:.3f} vs {br:.3f}: "
            + ("**meets** the bar" if ok else "does not meet the bar") + f" (n = {len(rows)} seed(s))")  # fmt: skip


def report(setup: Setup, results: dict[str, list[dict]], note: str = "") -> str:
    base = results.get(BASELINE, [])
    rows = []
    for name, rs in results.items():
        lv = BY_NAME[name]
        ratio = np.mean([r["fid"] for r in rs]) / np.mean([r["fid"] for r in base]) if base else None
        rows.append([f"`{name}`", lv.what, _ms([r["steps"] for r in rs], 0), _ms([r["fid"] for r in rs], 1), ratio,
                     _ms([r["precision"] for r in rs], 3), _ms([r["recall"] for r in rs], 3), len(rs)])  # fmt: skip
    budget = f"{setup.steps} steps" if setup.steps else f"{setup.minutes:g} minutes"
    head = (f"Each lever trained {budget} with {setup.threads} torch thread(s), one run at a time, then its final generator "
            f"(EMA where kept; conditional: every class in turn) scored on {setup.n} samples against the Fashion-MNIST test "
            "split with the fmnist extractor: FID ↓, precision and recall ↑ (k = 3); mean ± std over seeds. `FID / base` "
            f"is against `{BASELINE}` in this run. Bar (the issue): FID / base ≤ {TARGET_FID_RATIO} with recall no lower.\n\n")  # fmt: skip
    lines = [f"- `{n}`: {verdict(base, rs)}" for n, rs in results.items() if n != BASELINE and base]
    return (head + (f"**Conditions of this run:** {note}\n\n" if note else "")
            + table(["lever", "what", "steps", "FID", "FID / base", "precision", "recall", "seeds"], rows) + "\n\n"
            + "\n".join(lines) + "\n")  # fmt: skip


def plot(results: dict[str, list[dict]], path: Path) -> Path | None:
    """FID per lever (a dot per seed, a bar at the mean), the baseline's mean and the bar drawn across."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if BASELINE not in results:
        return None
    names = sorted(results, key=lambda n: np.mean([r["fid"] for r in results[n]]))
    fig, ax = plt.subplots(figsize=(max(5.0, 0.55 * len(names) + 2), 3.6), dpi=100)
    for i, n in enumerate(names):
        f = [r["fid"] for r in results[n]]
        ax.bar(i, np.mean(f), color="tab:orange" if n == BASELINE else "tab:blue", alpha=0.6)
        ax.scatter([i] * len(f), f, color="black", s=8, zorder=3)
    base = np.mean([r["fid"] for r in results[BASELINE]])
    ax.axhline(base, color="tab:orange", lw=0.8, label=f"{BASELINE} (baseline)")
    ax.axhline(TARGET_FID_RATIO * base, color="tab:red", lw=0.8, ls="--", label="the bar: 25 % below")
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("FID (fmnist features) ↓")
    ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--levers", default="all", help="comma list of lever names, or all (the baseline always runs)")
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget of each run")
    ap.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 per lever")
    ap.add_argument("--threads", type=int, default=2, help="torch threads of each run (runs go one at a time)")
    ap.add_argument("--n", type=int, default=10000, help="samples scored per run")
    ap.add_argument("--out", default=None, help="cache folder (default runs/bench-qpm; --tiny: a temporary one)")
    ap.add_argument("--data-root", default=None, help="Fashion-MNIST IDX folder (default: gankit's search)")
    ap.add_argument("--list", action="store_true", help="print the levers and exit")
    ap.add_argument("--tiny", action="store_true", help="a few steps on tiny networks; prints, writes nothing under docs/")
    ap.add_argument("--note", default="", help="conditions of this run, printed above the table")
    args = ap.parse_args(argv)
    if args.list:
        text = "\n".join(f"{lv.name:12s} {lv.recipe:28s} {' '.join(lv.overrides) or '-'}\n{'':12s} {lv.what}" for lv in LEVERS)
        print(text)
        return text
    names = [lv.name for lv in LEVERS] if args.levers == "all" else [n.strip() for n in args.levers.split(",") if n.strip()]
    bad = [n for n in names if n not in BY_NAME]
    if bad:
        raise SystemExit(f"--levers: unknown {', '.join(bad)}; known: {', '.join(BY_NAME)}")
    names = [BASELINE, *[n for n in names if n != BASELINE]]
    if args.seeds < 1 or args.threads < 1:
        raise SystemExit("--seeds and --threads are at least 1.")
    if args.tiny:
        setup = Setup(out=args.out or tempfile.mkdtemp(prefix="gankit-qpm-tiny-"), minutes=args.minutes, threads=1, n=64,
                      steps=4, extra=TINY, data_root=args.data_root)  # fmt: skip
    else:
        setup = Setup(out=args.out or str(ROOT / "runs" / "bench-qpm"), minutes=args.minutes, threads=args.threads, n=args.n,
                      data_root=args.data_root)  # fmt: skip
    from tqdm.auto import tqdm

    results: dict[str, list[dict]] = {}
    jobs = [(n, s) for s in range(args.seeds) for n in names]  # seed-major: every lever has seed 0 before any has seed 1
    for name, seed in tqdm(jobs, desc="levers", unit="run", disable=args.tiny):
        row = run_one(setup, BY_NAME[name], seed)
        results.setdefault(name, []).append(row)
        print(f"{name:12s} seed {seed}: {row['steps']} steps, FID {row['fid']:.2f}, precision {row['precision']:.3f}, "
              f"recall {row['recall']:.3f}", flush=True)  # fmt: skip
    text = report(setup, {n: results[n] for n in names}, args.note)
    name = f"quality_per_minute_{args.minutes:g}min_{args.seeds}seeds.png"
    img = Path(setup.out) / name if args.tiny else ROOT / "docs" / "images" / name
    pic = plot(results, img)
    if pic is not None:
        text += f"\n![FID per lever](images/{pic.name})\n"
    print(text)
    if not args.tiny:  # one section per budget and seed count: the screen and the 3-seed check both stay on record
        print("wrote", write_section(f"{SECTION}, {args.minutes:g} min x {args.seeds} seed(s)", text, omit=("--note",)))
    return text


if __name__ == "__main__":
    main()
