"""Time `gankit eval`'s work with the Fashion-MNIST extractor: 10,000 vs 10,000 images.

Generated stand-ins are 10,000 training images (any uint8 set costs the same); the reference is
the 10,000 test images. Timed twice: cold (reference statistics computed) and warm (cached).

Then the cost of FID *during training* at the default settings (``eval.n_samples`` 5,000 every
``log.eval_every`` = 500 steps): the default recipe trains one evaluation interval ending in an
in-loop FID (reference statistics warm, as after the first evaluation of a run); the hook's time is
reported as a fraction of the training time. Target: under 10 %.

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
from gankit.train.engine import Engine  # noqa: E402

N = 10000
RECIPE = Path(__file__).resolve().parent.parent / "configs" / "dcgan_fashion_mnist.yaml"


class TimedEvalHook(EvalHook):
    """The in-loop evaluation hook, timing its own work (sampling, FID, best checkpoint, curve)."""

    seconds = 0.0

    def on_eval(self, trainer, step):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return super().on_eval(trainer, step)
        finally:
            self.seconds += time.perf_counter() - t0


def timed_run(steps: int) -> tuple[float, float, float | None]:
    """Wall time of ``steps`` steps of the default recipe ending in one in-loop FID; its eval seconds; the FID."""
    over = [f"train.max_steps={steps}", f"log.eval_every={steps}", "log.ckpt_every=1000000", "log.progress=false",
            "log.tensorboard=false", "eval.fid=on", "monitor.enabled=false"]  # fmt: skip
    cfg = load_config(RECIPE, over)
    hook = TimedEvalHook(cfg)
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        Engine(cfg, d, hooks=[hook]).fit()
        seconds = time.perf_counter() - t0
        evals = [json.loads(x) for x in (Path(d) / "metrics.jsonl").read_text().splitlines() if '"eval"' in x]
    return seconds, hook.seconds, (evals[-1].get("fid") if evals else None)


def overhead(steps: int, runs: int = 2) -> str:
    """In-loop FID cost, timed inside the run so that run-to-run noise of a shared machine does not enter."""
    cfg = load_config(RECIPE)
    timed_run(20)  # warms the reference statistics cache, as a run's first evaluation does
    rows = []
    for _ in range(runs):
        total, ev, fid = timed_run(steps)
        rows.append([steps, cfg.eval.n_samples, total - ev, ev, 100 * ev / (total - ev), fid])
        print(rows[-1], flush=True)
    return (
        f"### FID during training\n\nDefault recipe, {steps} steps at batch {cfg.train.batch_size} (one `log.eval_every` "
        f"interval) ending in one in-loop evaluation: {cfg.eval.n_samples} samples from G, fmnist features, FID "
        "against cached reference statistics, the best-FID checkpoint and the FID curve. The evaluation is timed "
        "inside the run and compared with the rest of the run's time. Target: under 10 % of training time.\n\n"
        + table(["steps", "eval samples", "training s", "evaluation s", "overhead %", "FID"], rows)
    )


def main() -> None:
    import os

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-overhead", action="store_true", help="skip the in-loop FID measurement")
    ap.add_argument("--overhead-steps", type=int, default=500, help="steps per timed run (the default eval_every)")
    ap.add_argument("--overhead-runs", type=int, default=2)
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
        loop = "" if args.no_overhead else overhead(args.overhead_steps, args.overhead_runs)
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
