"""Generation speed of one generator three ways -- eager PyTorch, TorchScript, ONNX Runtime -- at
batch 1, 16 and 256, as ratios against eager measured in the same run (the machine's speed varies
from day to day, so only ratios from one run are comparable).

Each recipe is trained for ``--steps`` steps (speed does not depend on how trained the weights are),
exported with ``gankit export`` (both formats parity-checked), and each backend is timed on the same
fixed inputs: a warm-up call, then calls until ``--seconds`` have passed, the median per-call time
kept. Every backend uses ``--threads`` threads (torch.set_num_threads / ONNX Runtime intra-op).

    python benchmarks/export_speed.py [--recipes dcgan_fashion_mnist,stylegan2_fashion_mnist,srresnet_fmnist_2x] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import table, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BATCHES = (1, 16, 256)


def _time(fn, seconds: float) -> float:  # noqa: ANN001
    """Median seconds per call after one warm-up call, over calls filling ``seconds`` (at least 3)."""
    fn()
    times: list[float] = []
    t_end = time.perf_counter() + seconds
    while len(times) < 3 or time.perf_counter() < t_end:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _run(recipe: str, steps: int, out: Path) -> Path:
    from gankit.config import load_config
    from gankit.train.engine import train

    run = out / recipe
    if not (run / "checkpoints").is_dir():
        over = [f"train.max_steps={steps}", "train.max_minutes=null", "log.progress=false", "eval.fid=off", "log.tensorboard=false"]
        train(load_config(ROOT / "configs" / f"{recipe}.yaml", over), run)
    return run


def measure(recipe: str, steps: int, out: Path, threads: int, seconds: float) -> tuple[list[list], dict]:
    import gankit
    from gankit.export import export
    from gankit.export.runtime import load_export
    from gankit.export.wrap import example_inputs, wrap

    run = _run(recipe, steps, out)
    onnx_dir, ts_dir = out / f"{recipe}-onnx", out / f"{recipe}-ts"
    e_onnx = export(run, "onnx", onnx_dir, log=lambda s: None)
    export(run, "torchscript", ts_dir, log=lambda s: None)
    sig = e_onnx.signature
    inf = gankit.load(run)
    psi = sig["truncation_psi"] if sig.get("style_based") else None
    eager = wrap(inf.module, sig, psi, for_export=False).eval()  # the untouched module: what `gankit sample RUN` runs
    scripted = torch.jit.load(str(ts_dir / "model.pt")).eval()
    ort = load_export(onnx_dir, threads=threads)
    rows, ratios = [], {}
    for n in BATCHES:
        inputs = example_inputs(sig, n)
        names = list(inputs)
        feeds = {k: v.numpy() for k, v in inputs.items()}

        def run_eager() -> None:
            with torch.inference_mode():
                eager(*(inputs[k] for k in names))

        def run_ts() -> None:
            with torch.inference_mode():
                scripted(*(inputs[k] for k in names))

        secs = {"eager": _time(run_eager, seconds), "torchscript": _time(run_ts, seconds),
                "onnxruntime": _time(lambda: ort.run(**feeds), seconds)}  # fmt: skip
        base = secs["eager"]
        for k, s in secs.items():
            ratios[(n, k)] = base / s
            rows.append([recipe if (n, k) == (1, "eager") else "", n if k == "eager" else "", k, round(n / s, 1), round(1000 * s, 2),
                         f"{base / s:.2f}×"])  # fmt: skip
    return rows, {"ratios": ratios, "parity": sig["parity"]["max_abs_diff"], "inputs": [i["name"] for i in sig["inputs"]]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--recipes", default="dcgan_fashion_mnist,stylegan2_fashion_mnist,srresnet_fmnist_2x")
    ap.add_argument("--steps", type=int, default=20, help="training steps per recipe (speed does not depend on them)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=3.0, help="timing window per backend and batch size")
    ap.add_argument("--out", default=str(ROOT / "runs" / "bench-export"))
    ap.add_argument("--no-doc", action="store_true", help="print only")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, notes = [], []
    for recipe in [r for r in args.recipes.split(",") if r]:
        r, info = measure(recipe, args.steps, out, args.threads, args.seconds)
        rows += r
        q = info["ratios"]
        notes.append(f"`{recipe}` (inputs {', '.join(info['inputs'])}; ONNX parity {info['parity']:.1e}): ONNX Runtime "
                     + ", ".join(f"{q[(n, 'onnxruntime')]:.2f}× at batch {n}" for n in BATCHES) + "; TorchScript "
                     + ", ".join(f"{q[(n, 'torchscript')]:.2f}×" for n in BATCHES) + " of eager.")  # fmt: skip
    headers = ["recipe", "batch", "backend", "images/s", "ms / call", "vs eager"]
    body = (f"Each generator trained {args.steps} steps (speed does not depend on the weights), exported with `gankit export` "
            f"(parity-checked), and timed on the same fixed inputs with {args.threads} threads per backend: one warm-up call, "
            f"then the median of calls over {args.seconds:g} s. Ratios are against eager PyTorch in this same run.\n\n"
            + table(headers, rows) + "\n\n" + "\n".join(f"- {n}" for n in notes))  # fmt: skip
    print(body)
    if not args.no_doc:
        print("wrote", write_section("Generation speed: eager vs TorchScript vs ONNX Runtime (benchmarks/export_speed.py)", body))


if __name__ == "__main__":
    main()
