"""Time `gankit eval`'s work with the Fashion-MNIST extractor: 10,000 vs 10,000 images.

Generated stand-ins are 10,000 training images (any uint8 set costs the same); the reference is
the 10,000 test images. Timed twice: cold (reference statistics computed) and warm (cached).

Then the cost of FID *during training* at the default settings (``eval.n_samples`` 5,000 every
``log.eval_every`` = 500 steps): the default recipe trains one evaluation interval with in-loop FID
off and on (reference statistics warm, as after the first evaluation of a run), and the extra wall
time is reported as a fraction of training time. Target: under 10 %.

    python benchmarks/eval_speed.py [--no-overhead] [--overhead-steps 500]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import table, write_section  # noqa: E402

from gankit.config import load_config  # noqa: E402
from gankit.data.idx import load_idx_dataset  # noqa: E402
from gankit.metrics import evaluate  # noqa: E402
from gankit.train.eval_hook import EvalHook  # noqa: E402
from gankit.train.trainer import Trainer  # noqa: E402

N = 10000
RECIPE = Path(__file__).resolve().parent.parent / "configs" / "dcgan_fashion_mnist.yaml"


def train_seconds(steps: int, fid: bool) -> tuple[float, float | None]:
    """Wall time of ``steps`` training steps of the default recipe ending in one evaluation; and its FID."""
    over = [f"train.max_steps={steps}", f"log.eval_every={steps}", "log.ckpt_every=1000000", "log.progress=false",
            "log.tensorboard=false", f"eval.fid={'on' if fid else 'off'}", "monitor.enabled=false"]  # fmt: skip
    cfg = load_config(RECIPE, over)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        Trainer(cfg, d, hooks=[EvalHook(cfg)]).fit()
        seconds = time.perf_counter() - t0
        evals = [json.loads(x) for x in (Path(d) / "metrics.jsonl").read_text().splitlines() if '"eval"' in x]
    return seconds, (evals[-1].get("fid") if evals else None)


def overhead(steps: int) -> str:
    """In-loop FID cost: the same interval with FID off and on, interleaved, best of two each."""
    cfg = load_config(RECIPE)
    train_seconds(20, True)  # warms the reference statistics cache, as a run's first evaluation does
    off, on, fid = [], [], None
    for _ in range(2):
        off.append(train_seconds(steps, False)[0])
        t, fid = train_seconds(steps, True)
        on.append(t)
        print(f"off {off[-1]:.1f} s, on {on[-1]:.1f} s", flush=True)
    extra = min(on) - min(off)
    rows = [[steps, cfg.eval.n_samples, min(off), min(on), extra, 100 * extra / min(off)]]
    return (
        f"### FID during training\n\nDefault recipe, {steps} steps at batch {cfg.train.batch_size} ending in one in-loop "
        f"evaluation (FID on {cfg.eval.n_samples} samples with the fmnist extractor; last FID {fid:.1f}), "
        "best of two interleaved runs each, reference statistics cached. Target: under 10 % of training time.\n\n"
        + table(["steps", "eval samples", "FID off s", "FID on s", "extra s", "overhead %"], rows)
    )


def main() -> None:
    import os

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-overhead", action="store_true", help="skip the in-loop FID measurement")
    ap.add_argument("--overhead-steps", type=int, default=500, help="steps per timed run (the default eval_every)")
    args = ap.parse_args()
    imgs, _ = load_idx_dataset("fashion-mnist", "train")
    x = torch.from_numpy(imgs[:N].copy()).unsqueeze(1)
    rows = []
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GANKIT_CACHE"] = cache
        for label in ("cold (reference statistics computed)", "warm (reference statistics cached)"):
            t0 = time.perf_counter()
            rep = evaluate(x, "fid,kid,pr,classes", extractor="fmnist", ref="fashion-mnist:test", n=N)
            total = time.perf_counter() - t0
            t = rep.timings
            rows.append([label, total, t.get("generated_features"), t.get("reference_stats"), t.get("kid"), t.get("pr")])
            print(rows[-1], flush=True)
        loop = "" if args.no_overhead else overhead(args.overhead_steps)
    body = (
        f"`evaluate(…, \"fid,kid,pr,classes\", extractor=\"fmnist\")` on {N} vs {N} 28×28 images "
        f"(torch threads: {torch.get_num_threads()}). Target: under 60 s.\n\n"
        + table(["run", "total s", "features s", "reference stats s", "KID s", "P/R s"], rows)
        + "\n\n" + loop
    )
    print(body)
    print("wrote", write_section("Evaluation speed (benchmarks/eval_speed.py)", body))


if __name__ == "__main__":
    main()
