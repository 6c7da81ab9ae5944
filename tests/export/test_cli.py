"""``gankit export RUN ...`` then ``gankit sample EXPORT_DIR ...`` as a user runs them (subprocesses),
and the errors of the command line: one line, exit 2, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gankit.cli import main


def _gankit(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "gankit.cli", *args], capture_output=True, text=True, timeout=180, env=env)


def test_export_then_sample_from_the_export(runs, tmp_path):
    run, out = runs.run("cgan"), tmp_path / "exp"
    res = _gankit("export", str(run), "--format", "onnx", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "parity (dynamo): max abs diff vs eager batch 1:" in res.stdout and "wrote " in res.stdout
    sig = json.loads((out / "signature.json").read_text())
    assert sig["parity"]["max_abs_diff"] <= 1e-4
    res = _gankit("sample", str(out), "--n", "16", "--seed", "0", "--out", str(tmp_path / "e.npy"), "--class", "3")
    assert res.returncode == 0 and "onnxruntime" in res.stdout, res.stderr
    assert main(["sample", str(run), "--n", "16", "--seed", "0", "--out", str(tmp_path / "r.npy"), "--class", "3"]) == 0
    a, b = np.load(tmp_path / "e.npy"), np.load(tmp_path / "r.npy")
    assert a.shape == b.shape == (16, 1, 28, 28) and a.dtype == np.uint8
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    assert np.array_equal(np.load(tmp_path / "e.labels.npy"), np.full(16, 3))
    assert main(["sample", str(out), "--n", "4", "--out", str(tmp_path / "grid.png")]) == 0
    assert (tmp_path / "grid.png").stat().st_size > 0


@pytest.mark.parametrize("fmt", ["torchscript", "safetensors", "triton"])
def test_every_format_from_the_command_line(runs, tmp_path, fmt, capsys):
    out = tmp_path / fmt
    assert main(["export", str(runs.run("stylegan2")), "--format", fmt, "--out", str(out), "--truncation", "0.8"]) == 0
    printed = capsys.readouterr().out
    assert "parity" in printed and "tolerance 0.0001" in printed
    root = out / "gankit" if fmt == "triton" else out
    sig = json.loads((root / "signature.json").read_text())
    assert sig["format"] == fmt and sig["truncation_psi"] == 0.8
    if fmt != "torchscript":  # ONNX Runtime (triton) or the gankit rebuild (safetensors) sample it
        assert main(["sample", str(out), "--n", "6", "--seed", "1", "--out", str(tmp_path / "s.npy")]) == 0
        assert main(["sample", str(runs.run("stylegan2")), "--n", "6", "--seed", "1", "--psi", "0.8", "--out", str(tmp_path / "r.npy")]) == 0
        assert np.abs(np.load(tmp_path / "s.npy").astype(int) - np.load(tmp_path / "r.npy").astype(int)).max() <= 1


def test_fixed_batch_and_opset_and_direction_flags(runs, tmp_path):
    assert main(["export", str(runs.run("cyclegan")), "--format", "onnx", "--out", str(tmp_path / "b"), "--batch", "3",
                 "--opset", "18", "--direction", "BtoA"]) == 0  # fmt: skip
    sig = json.loads((tmp_path / "b" / "signature.json").read_text())
    assert (sig["batch"], sig["opset"], sig["source"]["direction"]) == (3, 18, "BtoA")
    assert sig["parity"]["batch_sizes"] == [3]


def test_errors_are_one_line_without_traceback(runs, tmp_path):
    d = tmp_path / "broken"
    assert main(["export", str(runs.run("dcgan")), "--format", "onnx", "--out", str(d)]) == 0
    data = (d / "model.onnx").read_bytes()
    (d / "model.onnx").write_bytes(data[:100])
    for args, message in [
        (["sample", str(d), "--n", "2", "--out", str(tmp_path / "x.npy")], "sha256"),
        (["export", str(tmp_path / "nothing_here"), "--format", "onnx", "--out", str(tmp_path / "o")], "no such folder"),
        (["export", str(tmp_path), "--format", "onnx", "--out", str(tmp_path / "o")], "no checkpoint found"),
        (["export", str(runs.run("dcgan")), "--format", "onnx", "--out", str(tmp_path / "o"), "--batch", "many"], "--batch"),
    ]:
        res = _gankit(*args)
        assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
        assert res.stderr.startswith("gankit: error:") and message in res.stderr, res.stderr
