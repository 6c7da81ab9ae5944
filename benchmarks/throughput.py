"""Training and generation throughput of the default recipe against a plain PyTorch loop.

The baseline is the loop most people write (the PyTorch DCGAN tutorial's): the same networks,
data and batch size, a DataLoader over an in-memory TensorDataset, BCEWithLogits, D updated
with separate real/fake backward passes, G updated through D with D's weight gradients computed.
Both are timed in the same process, interleaved, best of ``--repeats``.

    python benchmarks/throughput.py [--steps 60] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import table, write_section  # noqa: E402

from gankit.config import load_config  # noqa: E402
from gankit.data.idx import load_idx_dataset  # noqa: E402
from gankit.models import build_discriminator, build_generator  # noqa: E402
from gankit.train.engine import Engine  # noqa: E402

RECIPE = Path(__file__).resolve().parent.parent / "configs" / "dcgan_fashion_mnist.yaml"


def gankit_rate(batch: int, steps: int, precision: str = "32") -> float:
    """Images/s of real data consumed by ``Engine.fit`` between two log points (no eval/ckpt inside)."""
    over = [f"train.batch_size={batch}", f"train.max_steps={2 * steps}", f"train.precision={precision}",
            f"log.log_every={steps}", "log.eval_every=1000000", "log.ckpt_every=1000000",
            "log.progress=false", "log.tensorboard=false"]
    with tempfile.TemporaryDirectory() as d:
        Engine(load_config(RECIPE, over), d).fit()
        recs = [json.loads(x) for x in (Path(d) / "metrics.jsonl").read_text().splitlines()]
    return [r for r in recs if r["kind"] == "train"][-1]["img_per_s"]


def plain_rate(batch: int, steps: int) -> float:
    cfg = load_config(RECIPE)
    torch.manual_seed(0)
    G = build_generator("dcgan", cfg.model.generator.params, cfg.model.z_dim, (1, 28, 28))
    D = build_discriminator("dcgan", cfg.model.discriminator.params, (1, 28, 28))
    imgs, _ = load_idx_dataset("fashion-mnist", "train")
    x = torch.from_numpy(imgs.copy()).float().div(127.5).sub(1).unsqueeze(1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=batch, shuffle=True, drop_last=True)
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    it = iter(loader)

    def step() -> None:
        nonlocal it
        try:
            (real,) = next(it)
        except StopIteration:
            it = iter(loader)
            (real,) = next(it)
        b = real.shape[0]
        D.zero_grad()
        out = D(real)
        F.binary_cross_entropy_with_logits(out, torch.ones(b)).backward()
        fake = G(torch.randn(b, cfg.model.z_dim))
        F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(b)).backward()
        opt_d.step()
        G.zero_grad()
        F.binary_cross_entropy_with_logits(D(fake), torch.ones(b)).backward()
        opt_g.step()

    for _ in range(steps):
        step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t0)


@torch.no_grad()
def generation_rate(batch: int, seconds: float = 4.0) -> float:
    cfg = load_config(RECIPE)
    G = build_generator("dcgan", cfg.model.generator.params, cfg.model.z_dim, (1, 28, 28)).eval()
    z = torch.randn(batch, cfg.model.z_dim)
    G(z)
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        G(z)
        n += batch
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60, help="timed steps per measurement (after as many warm-up steps)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--bf16-steps", type=int, default=None, help="timed steps for bf16-mixed (default: --steps)")
    args = ap.parse_args()
    rows = []
    for batch in (64, 128):
        best = {"plain": 0.0, "gankit": 0.0, "bf16": 0.0}
        for _ in range(args.repeats):
            best["plain"] = max(best["plain"], plain_rate(batch, args.steps))
            best["gankit"] = max(best["gankit"], gankit_rate(batch, args.steps))
            best["bf16"] = max(best["bf16"], gankit_rate(batch, args.bf16_steps or args.steps, "bf16-mixed"))
            print(batch, best, flush=True)
        rows.append([batch, best["plain"], best["gankit"], best["gankit"] / best["plain"], best["bf16"], best["bf16"] / best["plain"]])
    gen = [[b, generation_rate(b)] for b in (1, 256)]
    body = (
        f"torch threads: {torch.get_num_threads()}. "
        "Training, default recipe `configs/dcgan_fashion_mnist.yaml` (28x28 DCGAN, non-saturating loss), "
        "real images consumed per second, best of "
        f"{args.repeats} interleaved measurements of {args.steps} steps after {args.steps} warm-up steps:\n\n"
        + table(["batch", "plain PyTorch loop img/s", "gankit fp32 img/s", "gankit / plain", "gankit bf16-mixed img/s", "bf16 / plain"], rows)
        + "\n\nGeneration, eager PyTorch, generator in eval mode:\n\n"
        + table(["batch", "images/s"], gen)
    )
    print(body)
    print("wrote", write_section("Training throughput (benchmarks/throughput.py)", body))


if __name__ == "__main__":
    main()
