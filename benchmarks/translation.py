"""Image-to-image translation on the built-in Fashion-MNIST tasks, at equal wall-clock on this machine.

* Pix2Pix on ``fmnist-edges2items`` (L1 + cGAN) against the same U-Net trained with L1 alone
  (``task.gan_weight=0``), the paper's comparison: FID of the outputs against the test targets
  (fmnist extractor), L1 / PSNR / SSIM to each output's own target. Targets: FID at most half the
  L1-only model's, L1 within 20 % of it.
* CycleGAN on ``fmnist-sandal2sneaker``: FID / KID of sandals translated to sneakers against the
  test sneakers, the target-class rate under the fmnist classifier and the cycle L1 (a -> b -> a,
  [0, 1] scale). Targets: target class >= 90 %, cycle L1 <= 0.1.

Every run is one process on one thread; ``--parallel 2`` trains two at once (both cores). Each row has
a picture: rows of input | output | target (paired) or input | output | reconstruction (unpaired)
on the first test inputs. Rows are cached under ``--out``; ``--runs`` picks what to (re)train and
``--runs ''`` rebuilds the table.

    python benchmarks/translation.py [--minutes 10] [--runs pix2pix,l1,l1_steps,cyclegan] [--parallel 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import DOC, table, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: key -> (recipe, overrides, label)
RUNS = {
    "pix2pix": ("pix2pix_edges2items", [], "Pix2Pix, L1 + cGAN (`pix2pix_edges2items`)"),
    "l1": ("pix2pix_edges2items", ["task.gan_weight=0"], "the same U-Net, L1 only (`--set task.gan_weight=0`)"),
    "l1_steps": ("pix2pix_edges2items", ["task.gan_weight=0"], "L1 only, as many steps as Pix2Pix made (not equal time)"),
    "cyclegan": ("cyclegan_sandal2sneaker", [], "CycleGAN sandal -> sneaker (`cyclegan_sandal2sneaker`)"),
}
HEADERS = ["run", "steps", "train s", "FID ↓", "KID ↓", "L1 ↓", "PSNR ↑", "SSIM ↑", "target class ↑", "cycle L1 ↓"]


def train_one(key: str, minutes: float, out: Path) -> None:
    """Train and evaluate one run in this process (a child of :func:`main`)."""
    import gankit
    from gankit.config import load_config
    from gankit.metrics.translation_eval import evaluate_translation
    from gankit.train.engine import train

    torch.set_num_threads(1)
    recipe, over, label = RUNS[key]
    budget = [f"train.max_minutes={minutes}", "train.max_steps=null"]
    if key == "l1_steps":  # the L1-only model at Pix2Pix's number of G updates
        budget = ["train.max_minutes=null", f"train.max_steps={json.loads((out / 'pix2pix.json').read_text())['row'][1]}"]
    cfg = load_config(ROOT / "configs" / f"{recipe}.yaml", [*over, *budget, "log.progress=false"])
    t0 = time.perf_counter()
    res = train(cfg, out / key)
    seconds = time.perf_counter() - t0
    gen = gankit.load(out / key)
    rep = evaluate_translation(gen, n=10000, out_dir=out / key / "eval")
    v = {m: rep.value(m) for m in rep.names()}
    image = DOC.parent / "images" / f"translation_{key}.png"
    _picture(gen, image)
    row = [label, res.step, round(seconds), v.get("fid"), v.get("kid"), v.get("l1"), v.get("psnr"), v.get("ssim"),
           v.get("target_class"), v.get("cycle_l1")]  # fmt: skip
    (out / f"{key}.json").write_text(json.dumps({"row": row, "image": image.name, "values": v}))
    print(row, flush=True)


def _picture(gen, path: Path, rows: int = 8) -> None:  # noqa: ANN001
    import gankit
    from gankit.data import is_paired, load_translation_pairs
    from gankit.utils.images import save_grid

    a, b = load_translation_pairs(gen.cfg.data, "test", limit=rows)
    out = gen.translate(a)
    third = b if is_paired(gen.cfg.data) else gankit.load(gen.path, direction="BtoA").translate(out)
    save_grid(torch.stack([a, out, third], 1).flatten(0, 1), path, nrow=3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget of each run")
    ap.add_argument("--runs", help="comma list of pix2pix,l1,cyclegan to (re)train; '' rebuilds the table")
    ap.add_argument("--parallel", type=int, default=2, help="runs trained at once, one thread each")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-translation"))
    ap.add_argument("--note", default="", help="conditions of this run")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: train this key in this process
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.one:
        train_one(args.one, args.minutes, out)
        return
    wanted = [k for k in (args.runs.split(",") if args.runs is not None else RUNS) if k]
    if "l1_steps" in wanted and "pix2pix" in wanted:
        sys.exit("l1_steps trains to pix2pix's step count: train pix2pix first, then --runs l1_steps")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs: list[subprocess.Popen] = []
    for key in wanted:
        while len([p for p in procs if p.poll() is None]) >= args.parallel:
            time.sleep(2)
        cmd = [sys.executable, __file__, "--one", key, "--minutes", str(args.minutes), "--out", str(out)]
        procs.append(subprocess.Popen(cmd, env=env))
    if any(p.wait() != 0 for p in procs):
        sys.exit("a run failed; see its output above")
    rows, pics = [], []
    for key in RUNS:
        f = out / f"{key}.json"
        if f.exists():
            rec = json.loads(f.read_text())
            rows.append(rec["row"])
            pics.append((rec["row"][0], rec["image"]))
    cached = {k: json.loads((out / f"{k}.json").read_text())["values"] for k in RUNS if (out / f"{k}.json").exists()}
    verdict = []
    if "pix2pix" in cached and "l1_steps" in cached:
        q = cached["l1_steps"]
        verdict.append(f"At equal steps: Pix2Pix FID {cached['pix2pix']['fid']:.1f} vs L1-only {q['fid']:.1f}: ratio "
                       f"{cached['pix2pix']['fid'] / q['fid']:.2f}; L1 {cached['pix2pix']['l1']:.4f} vs {q['l1']:.4f}.")  # fmt: skip
    if "pix2pix" in cached and "l1" in cached:
        p, q = cached["pix2pix"], cached["l1"]
        verdict.append(f"Pix2Pix FID {p['fid']:.1f} vs L1-only {q['fid']:.1f}: ratio {p['fid'] / q['fid']:.2f} (target ≤ 0.5, "
                       f"{'met' if p['fid'] <= 0.5 * q['fid'] else 'missed'}); L1 {p['l1']:.4f} vs {q['l1']:.4f}: "
                       f"{100 * (p['l1'] / q['l1'] - 1):+.1f} % (target within 20 %, {'met' if p['l1'] <= 1.2 * q['l1'] else 'missed'}).")  # fmt: skip
    if "cyclegan" in cached:
        c = cached["cyclegan"]
        verdict.append(f"CycleGAN target class {100 * c['target_class']:.1f} % (target ≥ 90 %, {'met' if c['target_class'] >= 0.9 else 'missed'}); "
                       f"cycle L1 {c['cycle_l1']:.4f} (target ≤ 0.1, {'met' if c['cycle_l1'] <= 0.1 else 'missed'}).")  # fmt: skip
    body = (
        f"Each run trains for {args.minutes:g} minutes in its own process on one thread ({args.parallel} at once on this "
        "machine), then translates the 10,000 held-out test inputs (fewer where the split has fewer: 1,000 sandals) and is "
        "measured: FID/KID against the test targets with the fmnist extractor; L1, PSNR, SSIM (torchmetrics) of each "
        "output against its own target, [0, 1] scale; the target-class rate under the fmnist classifier; the cycle L1 of "
        "a -> b -> a. `train s`: wall-clock of training, in-loop grids included.\n\n"
        + (f"**Conditions of this run:** {args.note}\n\n" if args.note else "")
        + table(HEADERS, rows) + "\n\n" + "\n".join(f"- {v}" for v in verdict) + "\n\n"
        + "\n".join(f"**{label}** (input | output | {'target' if 'CycleGAN' not in label else 'reconstruction'})\n\n"
                    f"![{label}](images/{im})\n" for label, im in pics)
    )  # fmt: skip
    print(body)
    print("wrote", write_section("Image-to-image translation (benchmarks/translation.py)", body, omit=("--note",)))


if __name__ == "__main__":
    main()
