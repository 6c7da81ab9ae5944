"""The truncation trade-off of trained runs: FID, precision and recall at psi 1.0, 0.9, ..., 0.5.

Reads the runs that ``benchmarks/stylegan_fashion_mnist.py`` trained (``--runs``, default
runs/bench-stylegan): StyleGAN2 truncates in w (w_avg + psi (w - w_avg)), the DCGAN and ProGAN
runs in z (z x psi). Every psi uses the same 10,000 latents; the fmnist extractor against the
10,000 test images. One table per run and a plot (curves over psi; precision against recall).

    python benchmarks/truncation_sweep.py [--runs runs/bench-stylegan] [--recipes stylegan2_fashion_mnist,...]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import DOC, write_section  # noqa: E402

import gankit  # noqa: E402
from gankit.metrics.truncation_sweep import DEFAULT_PSIS, Sweep, plot_sweep, truncation_sweep  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LABELS = {"stylegan2_fashion_mnist": "StyleGAN2-small", "stylegan2_tiny": "StyleGAN2-tiny (16-32 channels)", "stable_fashion_mnist": "DCGAN-32",
          "progan_fashion_mnist": "ProGAN"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default=str(ROOT / "runs" / "bench-stylegan"))
    ap.add_argument("--recipes", default="stylegan2_fashion_mnist,stylegan2_tiny,stable_fashion_mnist,progan_fashion_mnist")
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--fresh", action="store_true", help="recompute sweeps already saved beside the runs")
    args = ap.parse_args()
    parts = []
    for name in [r for r in args.recipes.split(",") if r]:
        run = Path(args.runs) / name
        if not run.exists():
            print(f"skipping {name}: no run at {run}", file=sys.stderr)
            continue
        gen = gankit.load(run)
        if getattr(gen.module, "normalizes_z", False):  # ProGAN: psi x z is the same image after pixel norm
            parts.append(f"### {LABELS.get(name, name)} (`{name}`)\n\nNo sweep: its G pixel-normalises z, so z x psi gives the "
                         "same images at every psi (`gankit` refuses `--psi` for it and points to `--truncation`).\n")  # fmt: skip
            continue
        image = DOC.parent / "images" / f"truncation_sweep_{name}.png"
        saved = Path(args.runs) / f"sweep_{name}" / "truncation_sweep.json"
        if saved.exists() and not args.fresh:  # the same run, already swept: reuse its rows
            rec = json.loads(saved.read_text())
            sweep = Sweep(rec["rows"], rec["protocol"])
            plot_sweep(sweep, image)
        else:
            sweep = truncation_sweep(gen, DEFAULT_PSIS, n=args.n, out_dir=saved.parent, progress=True)
            image.write_bytes(Path(sweep.files["plot"]).read_bytes())
        best = sweep.best()
        label = LABELS.get(name, name)
        parts.append(f"### {label} (`{name}`, step {gen.step}, {gen.weights})\n\n{sweep.table()}\n\n"
                     f"Lowest FID at psi {best['psi']:g} ({best['fid']:.2f}). {sweep.protocol}\n\n"
                     f"![truncation sweep, {label}](images/{image.name})\n")  # fmt: skip
        print(parts[-1], flush=True)
    body = ("The quality/diversity trade-off of the truncation trick on the 30-minute runs of the StyleGAN2 benchmark "
            "above: lowering psi moves samples towards the average latent, so precision (fidelity) should rise while "
            "recall (diversity) falls.\n\n" + "\n".join(parts))  # fmt: skip
    print("wrote", write_section("Truncation sweep (benchmarks/truncation_sweep.py)", body))


if __name__ == "__main__":
    main()
