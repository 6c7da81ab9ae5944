"""Two CPU processes with DDP (gloo) through the CLI: train, checkpoint, resume with the counter intact."""

import json
import os
import subprocess
import sys
from pathlib import Path

from gankit.train.checkpoint import list_checkpoints, load_checkpoint


def _gankit(*args: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # The console script, as a user runs it: Fabric re-launches sys.argv for the second rank.
    cmd = [str(Path(sys.executable).parent / "gankit"), *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)


def test_ddp_two_processes_train_and_resume(tiny_recipe, tmp_path):
    run = tmp_path / "run"
    ddp = ["--set", "train.devices=2", "--set", "train.strategy=ddp", "--set", "train.accelerator=cpu", "--out", str(run)]
    first = _gankit("train", str(tiny_recipe), "--max-steps", "10", *ddp, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-000010"]
    assert load_checkpoint(run / "checkpoints" / "step-000010").state["world_size"] == 2

    second = _gankit("train", str(tiny_recipe), "--max-steps", "16", "--resume", "auto", *ddp, cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming from" in second.stderr
    recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    steps = [r["step"] for r in recs if r["kind"] == "train"]
    assert steps == [1, 5, 10, 15]  # the counter continued after 10, no restart at 0
    assert [r["step"] for r in recs if r["kind"] == "end"] == [10, 16]
    assert list_checkpoints(run / "checkpoints")[-1].name == "step-000016"

    one = _gankit("train", str(tiny_recipe), "--max-steps", "20", "--resume", "auto", "--out", str(run), cwd=tmp_path)
    assert one.returncode == 2 and "same number (train.devices)" in one.stderr  # a clear error, no crash


def test_ddp_sigterm_to_rank0_stops_every_rank_with_a_checkpoint(tiny_recipe, tmp_path):
    import signal
    import time

    run = tmp_path / "run"
    cmd = [str(Path(sys.executable).parent / "gankit"), "train", str(tiny_recipe), "--max-steps", "100000",
           "--set", "train.devices=2", "--set", "train.strategy=ddp", "--set", "train.accelerator=cpu",
           "--set", "log.log_every=1", "--set", "log.eval_every=100000", "--out", str(run)]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, "OMP_NUM_THREADS": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # wait until both ranks are training
            m = run / "metrics.jsonl"
            if m.is_file() and m.read_text().count('"train"') >= 3:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)  # rank 0 only: the launcher's child (rank 1) is not signalled
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err[-2000:]
    last = list_checkpoints(run / "checkpoints")[-1]
    recs = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    assert recs[-1]["kind"] == "end" and recs[-1]["status"] == "interrupted"
    assert load_checkpoint(last).step == recs[-1]["step"]
