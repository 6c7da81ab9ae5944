"""Restoration and multi-domain editing on the built-in Fashion-MNIST tasks, against the classic baselines.

* Super-resolution x2 (``fmnist-sr2x``): SRResNet (``srresnet_fmnist_2x``, MSE only) and SRGAN
  (``srgan_fmnist_2x``) against bicubic upsampling (PIL): PSNR / SSIM of each output against its own
  28x28 target and FID (fmnist extractor) against the test targets, on the test split's mixed inputs
  (PIL / OpenCV / torch bicubic in turn) and again on inputs all made with PIL's bicubic. Targets:
  SRResNet PSNR >= bicubic + 2 dB (both inputs); SRGAN FID < SRResNet FID.
* Inpainting (``inpaint_fmnist``): hole PSNR and L1 on the test split's fixed masks against mean fill
  and OpenCV's Telea inpainting. Target: hole PSNR >= Telea + 1 dB.
* StarGAN (``stargan_fmnist_domains``): every test image (up to ``--n``) translated into every other
  domain: the target-class rate by the fmnist classifier (mean over the ten domains), FID per target
  domain against its real test images, and the reconstruction L1. Target: mean target-class rate >= 80 %.
* The RGB sanity check (``esrgan_folder_4x`` on ``skimage-photos``, small): PSNR / SSIM on Y with a
  4-pixel border crop against bicubic, on the photos' held-out tiles.

Every run is one process on one thread (``--parallel`` at once); rows are cached under ``--out`` and
``--runs`` picks what to (re)train (``--runs ''`` rebuilds the table). Each run has a picture.

    python benchmarks/restoration.py [--minutes 10] [--runs srresnet,srgan,inpaint,stargan,stargan_fast,photos,photos_psnr] [--parallel 2]
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
PHOTOS = ["data.name=skimage-photos", "data.image_size=64", "data.num_workers=0", "model.generator.base_channels=32",
          "model.generator.n_blocks=3", "model.discriminator.base_channels=32", "train.batch_size=8", "train.max_steps=null",
          "train.lr_decay=none", "log.eval_every=100000"]  # fmt: skip
#: key -> (recipe, overrides, label, kind)
RUNS = {
    "srresnet": ("srresnet_fmnist_2x", [], "SRResNet x2, MSE (`srresnet_fmnist_2x`)", "sr"),
    "srgan": ("srgan_fmnist_2x", [], "SRGAN x2 (`srgan_fmnist_2x`)", "sr"),
    "inpaint": ("inpaint_fmnist", [], "Inpainting (`inpaint_fmnist`)", "inpaint"),
    "stargan": ("stargan_fmnist_domains", [], "StarGAN, n_critic 5 (`stargan_fmnist_domains`)", "domains"),
    "stargan_fast": ("stargan_fmnist_domains", ["model.generator.base_channels=16", "model.generator.n_blocks=4", "optim.g.lr=2e-4",
                                                "optim.d.lr=2e-4", "train.n_critic=2"],
                     "StarGAN, CPU variant (G base 16, 4 blocks; n_critic 2; lr 2e-4)", "domains"),
    "photos": ("esrgan_folder_4x", PHOTOS, "ESRGAN x4 on skimage-photos (RRDB 3 x 32, 64 px crops)", "sr"),
    "photos_psnr": ("esrgan_folder_4x", [*PHOTOS, "task.gan_weight=0"], "RRDB x4, L1 only (ESRGAN's PSNR stage) on skimage-photos", "sr"),
}
HEADERS = ["run", "steps", "train s", "method", "PSNR ↑", "SSIM ↑", "FID ↓", "PSNR, PIL inputs ↑", "hole L1 ↓", "target class ↑", "rec. L1 ↓"]


def _sr_rows(gen, label: str, steps: int, secs: int) -> tuple[list[list], dict]:  # noqa: ANN001
    from gankit.metrics.restoration_eval import evaluate_super_resolution

    rep = evaluate_super_resolution(gen, n=10000)
    pil = evaluate_super_resolution(gen, n=10000, lr_override="pil", metrics="psnr,ssim") if gen.cfg.data.name.startswith("fmnist") else None
    v = {m: rep.value(m) for m in rep.names()} | ({f"pil_{m}": pil.value(m) for m in pil.names()} if pil else {})
    rows = [[label, steps, secs, "model", v.get("psnr"), v.get("ssim"), v.get("fid"), v.get("pil_psnr"), None, None, None],
            ["", "", "", "bicubic (PIL)", v.get("bicubic_psnr"), v.get("bicubic_ssim"), v.get("bicubic_fid"), v.get("pil_bicubic_psnr"),
             None, None, None]]  # fmt: skip
    return rows, v


def _inpaint_rows(gen, label: str, steps: int, secs: int) -> tuple[list[list], dict]:  # noqa: ANN001
    from gankit.metrics.restoration_eval import evaluate_inpainting

    rep = evaluate_inpainting(gen, n=10000)
    v = {m: rep.value(m) for m in rep.names()}
    rows = [[label if p == "" else "", steps if p == "" else "", secs if p == "" else "", name, v.get(f"{p}hole_psnr"), None,
             v.get(f"{p}fid"), None, v.get(f"{p}hole_l1"), None, None]
            for p, name in (("", "model"), ("mean_fill_", "mean fill"), ("telea_", "Telea (OpenCV)"))]  # fmt: skip
    return rows, v


def _domain_rows(gen, label: str, steps: int, secs: int, n: int) -> tuple[list[list], dict]:  # noqa: ANN001
    from gankit.metrics.restoration_eval import evaluate_domains

    rep = evaluate_domains(gen, n=n)
    v = {m: rep.value(m) for m in rep.names()}
    v["per_domain"] = rep.get("target_class").details.get("per_domain")
    return [[label, steps, secs, "model", None, None, v.get("domain_fid"), None, None, v.get("target_class"), v.get("reconstruction_l1")]], v


def _picture(gen, kind: str, path: Path, rows: int = 8) -> None:  # noqa: ANN001
    import torch.nn.functional as F

    from gankit.data import load_inpaint_triples, load_real_labeled, load_translation_pairs
    from gankit.metrics.baselines import bicubic_baseline, telea
    from gankit.utils.images import save_grid

    if kind == "sr":
        lr, hr = load_translation_pairs(gen.cfg.data, "test", limit=rows)
        s = gen.scale
        cols = [F.interpolate(lr.float(), scale_factor=s, mode="nearest").to(torch.uint8), bicubic_baseline(lr, s), gen.upscale(lr), hr]
    elif kind == "inpaint":
        a, b, m = load_inpaint_triples(gen.cfg.data, "test", limit=rows)
        cols = [a, telea(a, m), gen.inpaint(a, m), b]
    else:
        x, y = load_real_labeled(gen.cfg.data, "test", limit=200)
        x = torch.stack([x[int((y == k).nonzero()[0])] for k in range(10)])
        cols = [x] + [gen.translate(x, target_class=k) for k in range(10)]
    save_grid(torch.stack(cols, 1).flatten(0, 1), path, nrow=len(cols))


def train_one(key: str, minutes: float, out: Path, n_domains: int) -> None:
    import gankit
    from gankit.config import load_config
    from gankit.train.engine import train

    torch.set_num_threads(1)
    recipe, over, label, kind = RUNS[key]
    budget = [f"train.max_minutes={minutes if not key.startswith('photos') else min(minutes, 5)}", "train.max_steps=null"]
    cfg = load_config(ROOT / "configs" / f"{recipe}.yaml", [*over, *budget, "log.progress=false"])
    t0 = time.perf_counter()
    res = train(cfg, out / key)
    secs = round(time.perf_counter() - t0)
    gen = gankit.load(out / key)
    if kind == "sr":
        rows, v = _sr_rows(gen, label, res.step, secs)
    elif kind == "inpaint":
        rows, v = _inpaint_rows(gen, label, res.step, secs)
    else:
        rows, v = _domain_rows(gen, label, res.step, secs, n_domains)
    image = DOC.parent / "images" / f"restoration_{key}.png"
    _picture(gen, kind, image)
    (out / f"{key}.json").write_text(json.dumps({"rows": rows, "image": image.name, "values": v, "label": label, "kind": kind}))
    print(rows, flush=True)


def _verdicts(c: dict) -> list[str]:
    out = []
    if "srresnet" in c:
        v = c["srresnet"]
        for tag, m, b in (("mixed inputs", "psnr", "bicubic_psnr"), ("PIL inputs", "pil_psnr", "pil_bicubic_psnr")):
            gain = v[m] - v[b]
            out.append(f"SRResNet PSNR on {tag}: {v[m]:.2f} dB vs bicubic {v[b]:.2f} dB, {gain:+.2f} dB (target ≥ +2 dB, {'met' if gain >= 2 else 'missed'}).")
    if "srresnet" in c and "srgan" in c:
        a, b = c["srgan"], c["srresnet"]
        out.append(f"SRGAN FID {a['fid']:.2f} vs SRResNet {b['fid']:.2f} (target lower, {'met' if a['fid'] < b['fid'] else 'missed'}); "
                   f"PSNR {a['psnr']:.2f} vs {b['psnr']:.2f} dB: the perception-distortion trade-off.")  # fmt: skip
    if "inpaint" in c:
        v = c["inpaint"]
        gain = v["hole_psnr"] - v["telea_hole_psnr"]
        out.append(f"Inpainting hole PSNR {v['hole_psnr']:.2f} dB vs Telea {v['telea_hole_psnr']:.2f} dB, {gain:+.2f} dB "
                   f"(target ≥ +1 dB, {'met' if gain >= 1 else 'missed'}); mean fill {v['mean_fill_hole_psnr']:.2f} dB.")  # fmt: skip
    for k in ("photos", "photos_psnr"):
        if k in c:
            v = c[k]
            out.append(f"{RUNS[k][2]}: PSNR (Y) {v['psnr']:.2f} dB vs bicubic {v['bicubic_psnr']:.2f} dB ({v['psnr'] - v['bicubic_psnr']:+.2f} dB; "
                       "a sanity check, no target).")  # fmt: skip
    for k in ("stargan", "stargan_fast"):
        if k in c:
            t = c[k]["target_class"]
            per = c[k].get("per_domain") or {}
            worst = sorted(per.items(), key=lambda kv: kv[1])[:3] if per else []
            out.append(f"{RUNS[k][2]}: mean target-class rate {100 * t:.1f} % (target ≥ 80 %, {'met' if t >= 0.8 else 'missed'})"
                       + (f"; lowest: {', '.join(f'{n} {100 * r:.0f} %' for n, r in worst)}" if worst else "") + ".")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget of each run (photos: at most 5)")
    ap.add_argument("--runs", help=f"comma list of {','.join(RUNS)} to (re)train; '' rebuilds the table")
    ap.add_argument("--parallel", type=int, default=2, help="runs trained at once, one thread each")
    ap.add_argument("--n-domains", type=int, default=5000, help="StarGAN: test images translated into every domain")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-restoration"))
    ap.add_argument("--note", default="", help="conditions of this run")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.one:
        train_one(args.one, args.minutes, out, args.n_domains)
        return
    wanted = [k for k in (args.runs.split(",") if args.runs is not None else RUNS) if k]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    procs: list[subprocess.Popen] = []
    for key in wanted:
        while len([p for p in procs if p.poll() is None]) >= args.parallel:
            time.sleep(2)
        cmd = [sys.executable, __file__, "--one", key, "--minutes", str(args.minutes), "--out", str(out), "--n-domains", str(args.n_domains)]
        procs.append(subprocess.Popen(cmd, env=env))
    if any(p.wait() != 0 for p in procs):
        sys.exit("a run failed; see its output above")
    recs = {k: json.loads((out / f"{k}.json").read_text()) for k in RUNS if (out / f"{k}.json").exists()}
    rows = [r for rec in recs.values() for r in rec["rows"]]
    cols = {"sr": "low-res input (enlarged) | bicubic | model | target", "inpaint": "masked input | Telea | model | original",
            "domains": "input | translated into each of the ten classes (T-shirt ... ankle boot)"}  # fmt: skip
    body = (
        f"Each run trains for {args.minutes:g} minutes (the photo check: 5) in its own process on one thread ({args.parallel} at "
        "once on 2 CPU cores), then is measured on the test split: super-resolution on all 10,000 test pairs (inputs from PIL, "
        "OpenCV and torch bicubic in turn; again with PIL's alone), PSNR / SSIM of each output against its own target ([0, 1] "
        "scale; gray: no conversion, no border crop; RGB: Y channel, border crop = scale), FID with the fmnist extractor against "
        "the test targets; inpainting on the 10,000 test images with their fixed masks (boxes and strokes alternating), PSNR and "
        f"L1 over the hole pixels only; StarGAN on {args.n_domains:,} test images, each translated into every domain it is not "
        "already in. `train s`: wall-clock of training, in-loop grids included. No GPU was available for GPU timings.\n\n"
        + (f"**Conditions of this run:** {args.note}\n\n" if args.note else "")
        + table(HEADERS, rows) + "\n\n" + "\n".join(f"- {v}" for v in _verdicts({k: r['values'] for k, r in recs.items()})) + "\n\n"
        + "\n".join(f"**{r['label']}** ({cols[r['kind']]})\n\n![{r['label']}](images/{r['image']})\n" for r in recs.values())
    )  # fmt: skip
    print(body)
    print("wrote", write_section("Restoration and multi-domain editing (benchmarks/restoration.py)", body, omit=("--note",)))


if __name__ == "__main__":
    main()
