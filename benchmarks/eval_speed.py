"""Time `gankit eval`'s work with the Fashion-MNIST extractor: 10,000 vs 10,000 images.

Generated stand-ins are 10,000 training images (any uint8 set costs the same); the reference is
the 10,000 test images. Timed twice: cold (reference statistics computed) and warm (cached).

    python benchmarks/eval_speed.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import table, write_section  # noqa: E402

from gankit.data.idx import load_idx_dataset  # noqa: E402
from gankit.metrics import evaluate  # noqa: E402

N = 10000


def main() -> None:
    import os

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
    body = (
        f"`evaluate(…, \"fid,kid,pr,classes\", extractor=\"fmnist\")` on {N} vs {N} 28×28 images "
        f"(torch threads: {torch.get_num_threads()}). Target: under 60 s.\n\n"
        + table(["run", "total s", "features s", "reference stats s", "KID s", "P/R s"], rows)
    )
    print(body)
    print("wrote", write_section("Evaluation speed (benchmarks/eval_speed.py)", body))


if __name__ == "__main__":
    main()
