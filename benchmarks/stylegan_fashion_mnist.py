"""StyleGAN2-small and ProGAN against the best DCGAN recipe at equal wall-clock on Fashion-MNIST.

Each recipe trains to the first budget in ``--minutes`` (default 10, then 30) on this machine
(threads stated), is evaluated, and is resumed to the next budget (elapsed time is part of the
checkpoint and these recipes have no schedule tied to the budget, so this is one 30-minute run
looked at after 10). Its final generator (EMA where kept) is evaluated with the fmnist extractor:
FID and recall on 10,000 samples against the test set; perceptual path length (``ppl``,
``--ppl-pairs`` pairs; in w for StyleGAN2); and the mean RMS error of projecting ``--project``
held-out test images (w + noise for StyleGAN2, z otherwise). Each row has a sample grid; StyleGAN2
also gets the style-mixing figure (rows take the columns' coarse, then fine, styles). Speeds are
images/s of G and of D, forward + backward at batch 64, measured in one quiet process when the table
is built, given as a ratio to DCGAN's. Rows are cached per recipe and budget under ``--out``;
``--recipes`` picks what to (re)train (two recipes can train at once in two processes), and
``--recipes ''`` rebuilds the table.

    python benchmarks/stylegan_fashion_mnist.py [--minutes 10,30] [--recipes stylegan2_fashion_mnist,...]
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

import gankit  # noqa: E402
from gankit.config import load_config  # noqa: E402
from gankit.inference import Inference  # noqa: E402
from gankit.latent import tools  # noqa: E402
from gankit.latent.projection import project  # noqa: E402
from gankit.metrics.reference import load_reference_images, parse_reference  # noqa: E402
from gankit.metrics import evaluate  # noqa: E402
from gankit.tasks import build_task  # noqa: E402
from gankit.train.checkpoint import find_resume  # noqa: E402
from gankit.train.engine import train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TINY = ["model.generator.max_channels=32", "model.generator.min_channels=16",
        "model.discriminator.max_channels=32", "model.discriminator.min_channels=16"]  # fmt: skip
#: (row key, recipe, label, overrides): a key names a recipe, or a recipe with overrides
RECIPES = [
    ("stable_fashion_mnist", "stable_fashion_mnist", "DCGAN-32 (the best DCGAN recipe)", []),
    ("stylegan2_fashion_mnist", "stylegan2_fashion_mnist", "StyleGAN2-small", []),
    ("progan_fashion_mnist", "progan_fashion_mnist", "ProGAN", []),
    ("stylegan2_tiny", "stylegan2_fashion_mnist", "StyleGAN2-tiny (16-32 channels)", TINY),
]


HEADERS = ["recipe", "budget", "steps", "FID", "recall", "PPL (end)", "projection RMS", "G img/s ÷ DCGAN", "D img/s ÷ DCGAN"]


def speed(recipe: str, overrides: list[str], batch: int = 64, reps: int = 5) -> tuple[float, float]:
    """Images/s of G and of D, forward + backward, at ``batch``."""
    cfg = load_config(ROOT / "configs" / f"{recipe}.yaml", overrides)
    nets = build_task(cfg, (1, 28, 28)).build()
    G, D = nets["G"], nets["D"]
    z = torch.randn(batch, cfg.model.z_dim)

    def timed(fn) -> float:  # noqa: ANN001
        fn()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        return batch * reps / (time.perf_counter() - t0)

    x = G(z).detach()
    return timed(lambda: G(z).mean().backward()), timed(lambda: D(x).mean().backward())


def projection_error(gen: Inference, n: int) -> float:
    """Mean RMS pixel error ([0, 1] scale) of projecting ``n`` fixed test images (300 steps each)."""
    ref = parse_reference("fashion-mnist:test")
    images = load_reference_images(ref)[torch.linspace(0, 9999, n).long()].float() / 127.5 - 1
    return sum(project(gen, img[None], steps=300, snapshots=1).error for img in images) / n


def evaluate_run(run_dir: Path, ppl_pairs: int, n_project: int, tag: str) -> tuple[list[object], list[str]]:
    gen = gankit.load(run_dir)
    samples = gen.sample(10000, seed=0)
    rep = evaluate(samples, "fid,pr", extractor="fmnist", ref="fashion-mnist:test", n=10000)
    prep = evaluate(samples[:ppl_pairs], "ppl", n=ppl_pairs, generator=gen)
    space = "w" if tools.is_style_based(gen) else "z"
    images = []
    grid = DOC.parent / "images" / f"stylegan_bench_{tag}.png"
    tools.write_frames(gen.sample(64, seed=2), grid, nrow=8)
    images.append(grid.name)
    if tools.is_style_based(gen):
        for layers in ("coarse", "fine"):
            fig = DOC.parent / "images" / f"stylegan_bench_{tag}_mix_{layers}.png"
            tools.write_frames(tools.style_mix(gen, [0, 1, 2, 3], [10, 11, 12, 13, 14], layers), fig, nrow=6)
            images.append(fig.name)
    return [rep.value("fid"), rep.value("recall"), f"{prep.value(f'ppl_{space}_end'):.0f} ({space})",
            f"{projection_error(gen, n_project):.4f} ({space})"], images


def train_and_evaluate(key: str, name: str, label: str, overrides: list[str], budgets: list[float], out: Path,
                       args: argparse.Namespace) -> None:  # fmt: skip
    """One run resumed from budget to budget; a row per budget."""
    run_dir = out / key
    shutil.rmtree(run_dir, ignore_errors=True)
    for minutes in budgets:
        tag = f"{key}_{minutes:g}min"
        cfg = load_config(ROOT / "configs" / f"{name}.yaml",
                          [*overrides, f"train.max_minutes={minutes}", "train.max_steps=null", "log.progress=false"])  # fmt: skip
        res = train(cfg, run_dir, find_resume(run_dir))
        values, images = evaluate_run(run_dir, args.ppl_pairs, args.project, tag)
        shown = f"`{name}`" + (" with " + ", ".join(f"`{o}`" for o in overrides) if overrides else "")
        row = {"row": [f"{label} ({shown})", f"{minutes:g} min", res.step, *values], "images": images}
        (out / f"{tag}.json").write_text(json.dumps(row))
        print(row, flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", default="10,30", help="comma list of training budgets, one run resumed through them")
    ap.add_argument("--recipes", help="comma list to (re)train now; the others keep their cached rows")
    ap.add_argument("--ppl-pairs", type=int, default=2000)
    ap.add_argument("--project", type=int, default=16, help="test images to project per row")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-stylegan"))
    ap.add_argument("--note", default="", help="conditions of this run")
    args = ap.parse_args()
    budgets = sorted(float(m) for m in args.minutes.split(",") if m)
    wanted = {r for r in args.recipes.split(",") if r} if args.recipes is not None else {r[0] for r in RECIPES}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for key, name, label, overrides in RECIPES:
        if key in wanted:
            train_and_evaluate(key, name, label, overrides, budgets, out, args)
    if wanted and args.recipes is not None:
        return  # a training process; the table is built by `--recipes ''` once all have finished
    speed_file = out / "speed.json"
    if not speed_file.exists():
        speed_file.write_text(json.dumps({key: speed(name, over) for key, name, _, over in RECIPES}))
    speeds = json.loads(speed_file.read_text())
    base_g, base_d = speeds[RECIPES[0][0]]
    rows, figures = [], []
    for minutes in budgets:
        for key, _, label, _ in RECIPES:
            cached = out / f"{key}_{minutes:g}min.json"
            if cached.exists():
                rec = json.loads(cached.read_text())
                g, d = speeds[key]
                rows.append(rec["row"] + [round(g / base_g, 2), round(d / base_d, 2)])
                figures += [(f"{label}, {minutes:g} min", im) for im in rec["images"]]
    body = (
        f"Each recipe trains for the budget on this machine ({torch.get_num_threads()} torch thread(s)), then its final "
        "generator (EMA where kept) is evaluated on the fmnist extractor: FID ↓ and recall ↑ on 10,000 samples vs the "
        f"10,000 test images, and perceptual path length ↓ ({args.ppl_pairs} pairs, end sampling, eps 1e-4, fmnist "
        "features, 1st-99th percentile; in w for StyleGAN2, z otherwise), and the mean RMS pixel error ([0, 1]) of "
        f"projecting {args.project} held-out test images (300 steps each; w + noise maps for StyleGAN2, z otherwise). "
        "One run per recipe, evaluated at each budget and resumed to the next. Speeds: images/s of G and D forward + backward "
        "at batch 64, as a ratio to the DCGAN recipe's, measured in the same process.\n\n"
        + (f"**Conditions of this run:** {args.note}\n\n" if args.note else "")
        + table(HEADERS, rows) + "\n\n"
        + "\n".join(f"**{label}** (`{im}`)\n\n![{label}](images/{im})\n" for label, im in figures)
    )  # fmt: skip
    print(body)
    print("wrote", write_section("StyleGAN2 and ProGAN against DCGAN at equal wall-clock (benchmarks/stylegan_fashion_mnist.py)",
                                 body, omit=("--note",)))  # fmt: skip


if __name__ == "__main__":
    main()
