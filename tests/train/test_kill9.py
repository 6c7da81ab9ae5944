"""kill -9 at random moments, including mid-checkpoint, then --resume auto: the run completes with the
weights of an uninterrupted run, and no temporary file survives."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gankit.train.checkpoint import list_checkpoints, load_checkpoint
from gankit.utils.io import stale_temporaries

STEPS = 60
COMMON = ["--max-steps", str(STEPS), "--set", "log.ckpt_every=3", "--set", "log.eval_every=20", "--set", "log.keep_last=2"]


def _train(recipe: Path, out: Path, *extra: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gankit.cli", "train", str(recipe), "--out", str(out), *COMMON, *extra]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _writing(ckpts: Path) -> bool:
    try:
        return any(p.name.startswith(".step-") for p in ckpts.iterdir())
    except FileNotFoundError:
        return False


def _kill_sometime(proc: subprocess.Popen, run: Path, rng: random.Random, mid_write: bool) -> str:
    """SIGKILL once training has started: as soon as a checkpoint is being written, or after a random delay."""
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not (run / "metrics.jsonl").exists():
        time.sleep(0.005)
    wait_until = time.time() + rng.uniform(0.0, 0.8)
    while proc.poll() is None and time.time() < deadline:
        if (mid_write and _writing(run / "checkpoints")) or (not mid_write and time.time() >= wait_until):
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            return "killed mid-checkpoint" if _writing(run / "checkpoints") else "killed"
        time.sleep(0.0005)
    proc.wait(30)
    return "finished"


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_sigkill_at_random_moments_then_resume_is_exact(tiny_recipe: Path, tmp_path: Path) -> None:
    rng = random.Random(20261201)
    run = tmp_path / "killed"
    events = []
    for i in range(6):
        proc = _train(tiny_recipe, run, *(["--resume", "auto"] if i else []))
        events.append(_kill_sometime(proc, run, rng, mid_write=i % 2 == 0))
        if events[-1] == "finished":
            break
    assert events.count("killed mid-checkpoint") >= 1, events  # the moment the atomic write is for
    assert sum(e.startswith("killed") for e in events) >= 4, events
    proc = _train(tiny_recipe, run, "--resume", "auto")
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert "Traceback" not in err

    straight = tmp_path / "straight"
    proc = _train(tiny_recipe, straight)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err

    a, b = list_checkpoints(run / "checkpoints")[-1], list_checkpoints(straight / "checkpoints")[-1]
    assert a.name == b.name == f"step-{STEPS:06d}"
    for net in ("G", "D"):
        wa, wb = load_checkpoint(a).weights(net), load_checkpoint(b).weights(net)
        assert wa.keys() == wb.keys() and all(torch.equal(wa[k], wb[k]) for k in wa), (net, events)
    assert stale_temporaries(run) == [], events
    assert not [p for p in run.rglob("*") if p.name.endswith(".tmp")]
