"""StyleGAN2-small and ProGAN against the best DCGAN recipe at equal wall-clock on Fashion-MNIST.

For each budget in ``--minutes`` (default 10 and 30) each recipe trains for that long on this
machine (threads stated), then its final generator (EMA where kept) is evaluated with the fmnist
extractor: FID and recall on 10,000 samples against the test set, and perceptual path length
(``ppl``, ``--ppl-pairs`` pairs; in w for StyleGAN2). Each row has a sample grid; StyleGAN2 also
gets the style-mixing figure (rows take the columns' coarse, then fine, styles). Speeds are
images/s of G and of D, forward + backward at batch 64, measured in one process, given as a ratio
to DCGAN's. Rows are cached per recipe and budget under ``--out``; ``--recipes`` / ``--minutes``
pick what to (re)run, and ``--recipes ''`` rebuilds the table.

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
from gankit.latent import tools  # noqa: E402
from gankit.metrics import evaluate  # noqa: E402
from gankit.tasks import build_task  # noqa: E402
from gankit.train.engine import train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECIPES = [
    ("stable_fashion_mnist", "DCGAN-32 (the best DCGAN recipe)"),
    ("stylegan2_fashion_mnist", "StyleGAN2-small"),
    ("progan_fashion_mnist", "ProGAN"),
]
HEADERS = ["recipe", "budget", "steps", "FID", "recall", "PPL (end)", "G img/s ÷ DCGAN", "D img/s ÷ DCGAN"]


def speed(recipe: str, batch: int = 64, reps: int = 5) -> tuple[float, float]:
    """Images/s of G and of D, forward + backward, at ``batch``."""
    cfg = load_config(ROOT / "configs" / f"{recipe}.yaml")
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


def evaluate_run(run_dir: Path, ppl_pairs: int, tag: str) -> tuple[list[object], list[str]]:
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
    return [rep.value("fid"), rep.value("recall"), f"{prep.value(f'ppl_{space}_end'):.0f} ({space})"], images


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", default="10,30", help="comma list of training budgets")
    ap.add_argument("--recipes", help="comma list to (re)train now; the others keep their cached rows")
    ap.add_argument("--ppl-pairs", type=int, default=2000)
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-stylegan"))
    ap.add_argument("--note", default="", help="conditions of this run")
    args = ap.parse_args()
    budgets = [float(m) for m in args.minutes.split(",") if m]
    wanted = {r for r in args.recipes.split(",") if r} if args.recipes is not None else {r for r, _ in RECIPES}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    speed_file = out / "speed.json"
    if wanted or not speed_file.exists():
        speeds = {r: speed(r) for r, _ in RECIPES}
        speed_file.write_text(json.dumps(speeds))
    speeds = json.loads(speed_file.read_text())
    base_g, base_d = speeds[RECIPES[0][0]]
    rows, figures = [], []
    for minutes in budgets:
        for name, label in RECIPES:
            tag = f"{name}_{minutes:g}min"
            run_dir, cached = out / tag, out / tag / "row.json"
            if name in wanted:
                shutil.rmtree(run_dir, ignore_errors=True)
                cfg = load_config(ROOT / "configs" / f"{name}.yaml",
                                  [f"train.max_minutes={minutes}", "train.max_steps=null", "log.progress=false"])  # fmt: skip
                res = train(cfg, run_dir)
                values, images = evaluate_run(run_dir, args.ppl_pairs, tag)
                cached.write_text(json.dumps({"row": [f"{label} (`{name}`)", f"{minutes:g} min", res.step, *values], "images": images}))
                print(json.loads(cached.read_text()), flush=True)
            if cached.exists():
                rec = json.loads(cached.read_text())
                g, d = speeds[name]
                rows.append(rec["row"] + [round(g / base_g, 2), round(d / base_d, 2)])
                figures += [(f"{label}, {minutes:g} min", im) for im in rec["images"]]
    body = (
        f"Each recipe trains for the budget on this machine ({torch.get_num_threads()} torch thread(s)), then its final "
        "generator (EMA where kept) is evaluated on the fmnist extractor: FID ↓ and recall ↑ on 10,000 samples vs the "
        f"10,000 test images, and perceptual path length ↓ ({args.ppl_pairs} pairs, end sampling, eps 1e-4, fmnist "
        "features, 1st-99th percentile; in w for StyleGAN2, z otherwise). Speeds: images/s of G and D forward + backward "
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
