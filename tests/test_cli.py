"""The command line end to end, as a user runs it (subprocesses, real exit codes)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from gankit.cli import main
from gankit.train.checkpoint import list_checkpoints, load_checkpoint

GANKIT = [sys.executable, "-m", "gankit.cli"]


def run(*args, **kw):
    return subprocess.run(GANKIT + [str(a) for a in args], capture_output=True, text=True, timeout=240, **kw)


def test_train_sample_and_resume_end_to_end(tiny_recipe, tmp_path):
    out = tmp_path / "run"
    r = run("train", tiny_recipe, "--out", out, "--max-steps", 6, "--set", "log.ckpt_every=3")
    assert r.returncode == 0, r.stderr
    assert "run folder" in r.stdout and (out / "samples" / "final.png").is_file()
    r = run("train", tiny_recipe, "--out", out, "--max-steps", 9, "--resume", "auto")
    assert r.returncode == 0, r.stderr
    assert "resuming from" in r.stderr and "step-000006" in r.stderr
    assert load_checkpoint(list_checkpoints(out / "checkpoints")[-1]).step == 9

    r = run("sample", out, "--n", 10, "--seed", 3, "--out", tmp_path / "s.npy")
    assert r.returncode == 0, r.stderr
    arr = np.load(tmp_path / "s.npy")
    assert arr.shape == (10, 1, 28, 28) and arr.dtype == np.uint8
    run("sample", out, "--n", 10, "--seed", 3, "--out", tmp_path / "s2.npy")
    assert np.array_equal(arr, np.load(tmp_path / "s2.npy"))  # seeded
    r = run("sample", out / "checkpoints" / "step-000006", "--n", 16, "--out", tmp_path / "g.png")
    assert r.returncode == 0 and (tmp_path / "g.png").stat().st_size > 0


def test_sample_vector_data_npy(tmp_path):
    recipe = tmp_path / "ring.yaml"
    recipe.write_text(
        "data: {name: ring8, n_points: 256}\nmodel: {z_dim: 4, generator: {name: mlp, hidden: 8}, discriminator: {name: mlp, hidden: 8}}\n"
        "train: {batch_size: 32, max_steps: 2}\nlog: {progress: false}\n"
    )
    assert main(["train", str(recipe), "--out", str(tmp_path / "r")]) == 0
    assert main(["sample", str(tmp_path / "r"), "--n", "50", "--out", str(tmp_path / "p.npy")]) == 0
    arr = np.load(tmp_path / "p.npy")
    assert arr.shape == (50, 2) and arr.dtype == np.float32
    assert main(["sample", str(tmp_path / "r"), "--n", "50", "--out", str(tmp_path / "p.png")]) == 0


def test_config_errors_are_messages_not_tracebacks(tiny_recipe, tmp_path):
    r = run("train", tiny_recipe, "--set", "train.bach_size=3")
    assert r.returncode == 2
    assert "train.bach_size" in r.stderr and "batch_size" in r.stderr and "Traceback" not in r.stderr
    r = run("train", tiny_recipe, "--set", "train.batch_size=lots")
    assert r.returncode == 2 and "train.batch_size" in r.stderr and "integer" in r.stderr
    r = run("train", tiny_recipe, "--set", "model.generator.widht=3")
    assert r.returncode == 2 and "model.generator.widht" in r.stderr
    r = run("train", "no_such_recipe")
    assert r.returncode == 2 and "no recipe" in r.stderr
    r = run("sample", tmp_path / "nothing", "--out", tmp_path / "x.png")
    assert r.returncode == 2 and "no such folder" in r.stderr and "argument run" in r.stderr


def test_recipes_lists_the_shipped_configs():
    r = run("recipes")
    assert r.returncode == 0
    names = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
    assert {"dcgan_fashion_mnist", "wgan_gp_fashion_mnist", "lsgan_fashion_mnist", "hinge_fashion_mnist", "mlp_ring8", "mlp_grid25", "dcgan_folder_64"} <= names


def test_every_shipped_recipe_validates():
    from gankit.cli import recipe_paths
    from gankit.config import load_config
    from gankit.data import sample_shape
    from gankit.tasks import build_task

    for path in recipe_paths():
        cfg = load_config(path)
        names = [f"c{i}" for i in range(10)] if cfg.task.name == "cgan" else None  # labels without the dataset
        task = build_task(cfg, sample_shape(cfg.data), **({"class_names": names} if names else {}))
        nets = task.build()
        adversarial = float(getattr(task, "gan_weight", 1.0)) > 0  # SRResNet (gan_weight 0) trains G alone
        assert task.inference_net in nets and len(nets) >= (2 if adversarial else 1), path.name
        assert task.build_inference() is not None, path.name
        if not adversarial:
            assert set(task.optimizers()) == {"g"}, path.name


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_sigterm_writes_a_checkpoint_and_exits_cleanly(tiny_recipe, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(
        GANKIT + ["train", str(tiny_recipe), "--out", str(out), "--max-steps", "100000", "--set", "log.ckpt_every=100000"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    metrics = out / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (metrics.exists() and metrics.read_text().count("\n") >= 2):
        time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr
    assert "interrupted" in stdout and "--resume auto" in stdout
    ckpts = list_checkpoints(out / "checkpoints")
    assert len(ckpts) == 1 and load_checkpoint(ckpts[0]).step >= 5
    assert "Traceback" not in stderr
