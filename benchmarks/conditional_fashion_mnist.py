"""Class-conditional recipes at equal wall-clock, beside the unconditional default recipe.

Each recipe trains for ``--minutes`` (default 10) on this machine, then its final generator (EMA
where kept) is evaluated with the Fashion-MNIST extractor: FID and recall on 10,000 class-balanced
samples against the test set; for conditional recipes also class consistency (the shipped
classifier agrees with the requested class), intra-class FID (1,000 per class vs each test class)
and CAS (gankit's classifier trained on ``--cas-per-class`` samples of each class, tested on the
real test set, beside the same classifier trained on as many real images). A class x sample grid
is drawn for each recipe. Rows are cached per recipe under ``--out``, so recipes can be trained in
separate processes (``--recipes a,b``) and the table rebuilt with ``--recipes ''``.

    python benchmarks/conditional_fashion_mnist.py [--minutes 10] [--recipes cgan_fashion_mnist,...] [--cas-per-class 6000]
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
from gankit.inference import write_samples  # noqa: E402
from gankit.metrics import evaluate, to_uint8  # noqa: E402
from gankit.train.engine import train  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
# (row key, recipe, label, overrides): the unconditional rows include the conditional winner's own
# networks and EMA without labels (the control), so "labels help" is measured, not assumed.
EMA = "{name: ema, decay: 0.999, start: 0.2}"
RECIPES = [
    ("dcgan_fashion_mnist", "dcgan_fashion_mnist", "DCGAN, unconditional (default recipe)", []),
    ("stable_fashion_mnist", "stable_fashion_mnist", "DCGAN-32 + label smoothing, unconditional", []),
    ("stable_ema", "stable_fashion_mnist", "DCGAN-32 + label smoothing + EMA, unconditional (control)",
     [f"regularizers=[{{name: one_sided_label_smoothing, real: 0.9}}, {EMA}]"]),
    ("sngan_resnet_fashion_mnist", "sngan_resnet_fashion_mnist", "SNGAN ResNet, unconditional", []),
    ("cgan_fashion_mnist", "cgan_fashion_mnist", "cGAN: label concatenated (DCGAN-32, EMA)", []),
    ("acgan_fashion_mnist", "acgan_fashion_mnist", "AC-GAN (DCGAN-32, EMA)", []),
    ("tacgan_fashion_mnist", "tacgan_fashion_mnist", "TAC-GAN + projection D (DCGAN-32, EMA)", []),
    ("tacgan_fashion_mnist@2.0", "tacgan_fashion_mnist", "TAC-GAN, the same run sampled with truncation 2", []),
    ("projection_fashion_mnist", "projection_fashion_mnist", "projection D + conditional BN (ResNet)", []),
    ("biggan_fashion_mnist", "biggan_fashion_mnist", "BigGAN machinery (ResNet)", []),
]
N = 10000
HEADERS = ["recipe", "steps", "FID", "recall", "class consistency", "intra-class FID", "CAS", "CAS, real data", "CAS CPU s"]


def evaluate_run(run_dir: Path, cas_per_class: int, cas_epochs: int, truncation: float | None = None,
                 tag: str = "") -> tuple[list[object], Path]:  # fmt: skip
    gen = gankit.load(run_dir)
    k = gen.signature["num_classes"]
    labels = torch.arange(N) % k if k else None
    samples = gen.sample(N, seed=0, classes=labels, truncation=truncation)
    metrics = "fid,pr" + (",class_consistency,intra_fid" if k else "")
    rep = evaluate(samples, metrics, extractor="fmnist", ref="fashion-mnist:test", n=N, labels=labels)
    cas = cas_real = cas_cpu = None
    if k:
        cas_labels = torch.arange(k).repeat_interleave(cas_per_class)
        cas_samples = gen.sample(len(cas_labels), seed=1, classes=cas_labels, truncation=truncation)
        crep = evaluate(cas_samples, "cas", extractor="fmnist", ref="fashion-mnist:test", n=len(cas_labels),
                        labels=cas_labels, cas_epochs=cas_epochs)  # fmt: skip
        cas, cas_real = crep.value("cas"), crep.value("cas.real")
        cas_cpu = (crep.get("cas").details or {}).get("cpu_seconds")
    grid = DOC.parent / "images" / f"conditional_{run_dir.name}{tag}.png"
    if k:  # class x sample, the same 8 noise vectors down the columns: class and style apart
        grid_labels = torch.arange(k).repeat_interleave(8)
        images = to_uint8(gen.generate(gen.noise(8, seed=2, truncation=truncation).repeat(k, 1), grid_labels))
        write_samples(images, grid, labels=grid_labels, names=gen.class_names)
    else:
        write_samples(gen.sample(64, seed=2), grid)
    values = [rep.value("fid"), rep.value("recall"), rep.value("class_consistency") if k else None,
              rep.value("intra_fid") if k else None, cas, cas_real, cas_cpu]  # fmt: skip
    return values, grid


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget per recipe")
    ap.add_argument("--recipes", help="comma list of recipes to (re)train now; the others keep their cached rows")
    ap.add_argument("--cas-per-class", type=int, default=6000)
    ap.add_argument("--cas-epochs", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-conditional"))
    ap.add_argument("--note", default="", help="conditions of this run to print above the table")
    args = ap.parse_args()
    wanted = {r for r in args.recipes.split(",") if r} if args.recipes is not None else {r[0] for r in RECIPES}
    out = Path(args.out)
    rows, grids = [], []
    for key, name, label, overrides in RECIPES:
        base, _, trunc = key.partition("@")  # "recipe@T": the recipe's run, sampled with truncation T
        run_dir, cached = out / base, out / base / (f"row@{trunc}.json" if trunc else "row.json")
        if key in wanted:
            t0 = time.time()
            if not trunc:
                shutil.rmtree(run_dir, ignore_errors=True)
                cfg = load_config(ROOT / "configs" / f"{name}.yaml",
                                  [f"train.max_minutes={args.minutes}", "train.max_steps=null", "log.progress=false", *overrides])  # fmt: skip
                res = train(cfg, run_dir)
                steps = f"{res.step} ({(time.time() - t0) / 60:.1f} min)"
            else:
                steps = json.loads((run_dir / "row.json").read_text())[1]
            values, grid = evaluate_run(run_dir, args.cas_per_class, args.cas_epochs, float(trunc) if trunc else None,
                                        f"_t{trunc}" if trunc else "")  # fmt: skip
            shown = f"`{name}`" + (" + EMA" if overrides else "") + (f", `--truncation {trunc}`" if trunc else "")
            cached.write_text(json.dumps([f"{label} ({shown})", steps, *values, grid.name]))
            print(json.loads(cached.read_text()), flush=True)
        if cached.exists():
            *row, grid_name = json.loads(cached.read_text())
            rows.append(row)
            grids.append((label, grid_name))
    body = (
        f"Budget: {args.minutes:g} minutes of training per recipe ({torch.get_num_threads()} torch thread(s); "
        "set OMP_NUM_THREADS to change it), then the final generator (EMA where kept) is evaluated on the fmnist "
        f"extractor: FID ↓ and recall ↑ on {N} class-balanced samples vs the 10,000 test images; class consistency ↑ "
        "(fraction the shipped classifier, 92.98 % accurate on real test images, assigns to the requested class); "
        f"intra-class FID ↓ ({N // 10} generated vs 1,000 test images per class, mean over the 10 classes); CAS ↑ "
        f"(gankit's classifier, {args.cas_epochs} epochs of its own recipe, trained on {args.cas_per_class} samples "
        "per class only, accuracy on the real test set) beside the same classifier trained on as many real training "
        "images; its CPU time. Unconditional rows have no classes to check (—).\n\n"
        + (f"**Conditions of this run:** {args.note}\n\n" if args.note else "")
        + table(HEADERS, rows)
        + "\n\n"
        + "\n".join(f"**{label}** (one row per class, the same noise down each column)\n\n![{label}](images/{g})\n" for label, g in grids)
    )
    print(body)
    print("wrote", write_section("Class-conditional Fashion-MNIST at equal wall-clock (benchmarks/conditional_fashion_mnist.py)",
                                 body, omit=("--note",)))  # fmt: skip


if __name__ == "__main__":
    main()
