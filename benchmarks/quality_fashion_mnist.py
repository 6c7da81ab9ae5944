"""Quality of each unconditional Fashion-MNIST recipe at the same wall-clock budget.

Each recipe trains for ``--minutes`` on this machine (default 10), then its final generator
(EMA where the recipe keeps one) is evaluated with the Fashion-MNIST extractor on 10,000 samples
against the 10,000 test images: FID, KID, precision/recall (k=3), class KL to uniform,
confident fraction and the memorisation ratio (nearest train / nearest test distance). A
real-data row (10,000 training images evaluated as if generated) is the floor.

    python benchmarks/quality_fashion_mnist.py [--minutes 10] [--recipes dcgan_fashion_mnist,...] [--note TEXT]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import DOC, table, write_section  # noqa: E402

from gankit.config import load_config  # noqa: E402
from gankit.data.idx import load_idx_dataset  # noqa: E402
from gankit.inference import load as load_generator  # noqa: E402
from gankit.metrics import evaluate  # noqa: E402
from gankit.train.engine import train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECIPES = [
    ("dcgan_fashion_mnist", "DCGAN, non-saturating"),
    ("minimax_fashion_mnist", "DCGAN, minimax"),
    ("lsgan_fashion_mnist", "DCGAN, LSGAN"),
    ("wgan_fashion_mnist", "WGAN, weight clipping"),
    ("wgan_gp_fashion_mnist", "WGAN-GP"),
    ("hinge_fashion_mnist", "DCGAN, hinge"),
    ("stable_fashion_mnist", "stabilised (see recipe)"),
]
METRICS = "fid,kid,pr,classes,memorization"
N = 10000


def row(report, label: str, steps: object, best: object) -> list[object]:
    v = report.value
    return [label, steps, v("fid"), best, v("kid") * 1e3, v("precision"), v("recall"), v("classes.kl_uniform"),
            v("classes.confident_fraction"), v("memorization.pixel_ratio_mean"), v("memorization.feature_ratio_mean")]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget per recipe")
    ap.add_argument("--recipes", help="comma list of recipes to (re)train now; the others keep their cached rows")
    ap.add_argument("--reeval", action="store_true", help="re-evaluate the cached runs' final checkpoints without training")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-quality"))
    ap.add_argument("--section", default="Fashion-MNIST quality at equal wall-clock (benchmarks/quality_fashion_mnist.py)")
    ap.add_argument("--note", default="", help="conditions of this run to print above the table (shared machine, ...)")
    args = ap.parse_args()
    # --recipes '' trains nothing: the table is rebuilt from the cached rows.
    wanted = {r for r in args.recipes.split(",") if r} if args.recipes is not None else {r for r, _ in RECIPES}
    recipes = RECIPES + [(r, r) for r in sorted(wanted - {r for r, _ in RECIPES})]
    out = Path(args.out)
    img_dir = DOC.parent / "images"
    img_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    imgs, _ = load_idx_dataset("fashion-mnist", "train")
    real = torch.from_numpy(imgs[:N].copy()).unsqueeze(1)
    rep = evaluate(real, METRICS, extractor="fmnist", ref="fashion-mnist:test", n=N)
    rows = [row(rep, "real data (10k train images)", None, None)]
    protocol = rep.get("fid").protocol
    print(rows[-1], flush=True)
    grids = []
    for name, label in recipes:
        run_dir = out / name
        cached = run_dir / "row.json"
        grid = img_dir / f"quality_{name}.png"
        if name not in wanted or args.reeval:
            if cached.exists() and not args.reeval:
                rows.append(json.loads(cached.read_text()))
                grids.append((label, grid))
                continue
            if not (args.reeval and (run_dir / "checkpoints").is_dir()):
                continue
            steps = json.loads(cached.read_text())[1] if cached.exists() else None
        else:
            shutil.rmtree(run_dir, ignore_errors=True)
            cfg = load_config(ROOT / "configs" / f"{name}.yaml", [f"train.max_minutes={args.minutes}", "train.max_steps=10000000", "log.progress=false"])
            t0 = time.time()
            res = train(cfg, run_dir)
            steps = f"{res.step} ({(time.time() - t0) / 60:.1f} min)"
            shutil.copyfile(res.grid, grid)
        gen = load_generator(run_dir)
        samples = gen.sample(N, seed=0)  # uint8 images
        rep = evaluate(samples, METRICS, extractor="fmnist", ref="fashion-mnist:test", n=N, out_dir=run_dir / "eval")
        from gankit.train.checkpoint import load_checkpoint

        hooks = load_checkpoint(gen.path).state.get("hooks", [])
        best = hooks[0].get("best") if hooks else None
        rows.append(row(rep, f"{label} (`{name}`)", steps, best))
        cached.write_text(json.dumps(rows[-1]))
        print(rows[-1], flush=True)
        grids.append((label, grid))

    p = protocol
    body = (
        f"Budget: {args.minutes:g} minutes of training per recipe on this machine ({torch.get_num_threads()} torch "
        "thread(s); set OMP_NUM_THREADS to change it), then the final "
        f"generator is evaluated. Protocol: extractor `{p.extractor}` (sha256 {p.extractor_hash[:12]}…), "
        f"{N} generated vs {p.n_reference} reference images (`{p.reference}`), resize `{p.resize}`, seed {p.seed}. "
        "FID ↓, KID ↓ (×10³), precision/recall ↑ (k = 3), class KL to uniform ↓, confident = fraction classified with "
        "p > 0.9, memorisation = mean ratio of the distance to the nearest training image over the distance to the "
        "nearest test image (≈ 1: no copying; ≪ 1: copies), in pixel and feature space. "
        "`best in-loop FID` is the best FID the run saw on 5,000 samples during training (kept as checkpoints/best). "
        "Equal time is not equal steps: WGAN and WGAN-GP pay 5 critic steps (WGAN-GP also a double backward) per "
        "generator step, and the stabilised recipe uses 32-channel networks. The real-data row's memorisation "
        "ratio is ~0 by construction (those images are training images), and its KID is real-vs-real subset "
        "noise: KID on fmnist features is on a larger scale than Inception KID.\n\n"
        + (f"**Conditions of this run:** {args.note}\n\n" if args.note else "")
        + table(["recipe", "steps", "FID", "best in-loop FID", "KID×10³", "precision", "recall", "class KL", "confident",
                 "memo (pixel)", "memo (feature)"], rows)  # fmt: skip
        + "\n\n"
        + "\n".join(f"**{label}** (final samples)\n\n![{label}](images/{g.name})\n" for label, g in grids)
    )
    print(body)
    print("wrote", write_section(args.section, body, omit=("--note",)))


if __name__ == "__main__":
    main()
