"""The ONNX Runtime path: dynamic and fixed batches, input checks, and no gankit model code imported."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

import gankit
from gankit.errors import ExportError
from gankit.export.runtime import is_export_dir, load_export


def test_dynamic_batch_runs_at_any_n(runs):
    m = load_export(runs.export("cgan", "onnx"))
    assert m.max_batch is None and m.signature["batch"] == "dynamic"
    for n in (1, 2, 7, 33):
        z = m.noise(n, seed=n)
        out = m.run(z=z, c=np.arange(n) % 10)
        assert out.shape == (n, 1, 28, 28) and out.dtype == np.float32
    assert m.run(z=m.noise(0), c=np.zeros(0, np.int64)).shape == (0, 1, 28, 28)


def test_fixed_batch_refuses_other_sizes_and_generate_pads(runs):
    d = runs.export("dcgan", "onnx", batch=4)
    m, dyn = load_export(d), load_export(runs.export("dcgan", "onnx"))
    assert m.max_batch == 4 and m.signature["batch"] == 4 and m.signature["inputs"][0]["shape"] == [4, 8]
    assert m.signature["parity"]["batch_sizes"] == [4]
    dim = onnx.load(str(d / "model.onnx")).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_value == 4  # fixed in the graph itself
    assert m.run(z=m.noise(4)).shape == (4, 1, 28, 28)
    for n in (3, 5):
        with pytest.raises(ExportError, match=r"fixed batch of 4 \(--batch 4\).*--batch dynamic"):
            m.run(z=m.noise(n))
    z = m.noise(10, seed=3)  # 4 + 4 + 2 padded to 4
    assert np.abs(m.generate(z) - dyn.generate(z)).max() <= 1e-5


def test_inputs_are_checked_with_clear_messages(runs):
    m = load_export(runs.export("cgan", "onnx"))
    z = m.noise(3)
    with pytest.raises(ExportError, match="takes z, c; got z"):
        m.run(z=z)
    with pytest.raises(ExportError, match=r"input z: shape \['N', 8\] expected, got \[3, 9\]"):
        m.run(z=np.zeros((3, 9), np.float32), c=np.zeros(3, np.int64))
    with pytest.raises(ExportError, match="integer class labels"):
        m.run(z=z, c=np.zeros(3, np.float32))
    with pytest.raises(ExportError, match=r"classes 0\.\.9, got 0\.\.10"):
        m.run(z=z, c=np.array([0, 10, 1]))
    with pytest.raises(ExportError, match="same batch size"):
        m.run(z=z, c=np.zeros(2, np.int64))
    with pytest.raises(ExportError, match="use translate"):
        load_export(runs.export("pix2pix", "onnx")).generate(z)
    with pytest.raises(ExportError, match="needs the hole's mask"):
        load_export(runs.export("inpaint", "onnx")).translate(np.zeros((1, 1, 28, 28), np.uint8))
    with pytest.raises(ExportError, match="chosen domain"):
        load_export(runs.export("stargan", "onnx")).translate(np.zeros((1, 1, 28, 28), np.uint8))


def test_classes_follow_inference(runs):
    inf, m = gankit.load(runs.run("biggan")), load_export(runs.export("biggan", "onnx"))
    assert m.signature["num_classes"] == 10 and m.signature["class_names"] == inf.class_names
    for classes in (None, [3], [0, 1, 2, 3, 4, 5]):
        want = inf.sample(6, seed=5, classes=classes).numpy().astype(int)
        assert np.abs(m.sample(6, seed=5, classes=classes).astype(int) - want).max() <= 1
    assert np.abs(m.sample(4, seed=1, classes=[2]).astype(int) - m.sample(4, seed=1, classes=[7]).astype(int)).max() > 0


def test_is_export_dir(runs, tmp_path):
    assert is_export_dir(runs.export("dcgan", "onnx")) and is_export_dir(runs.export("dcgan", "triton").parent)
    assert not is_export_dir(runs.run("dcgan")) and not is_export_dir(tmp_path) and not is_export_dir(tmp_path / "nope")


def test_runtime_imports_no_gankit_model_code(runs):
    code = f"""
import sys
from gankit.export.runtime import load_export
m = load_export({str(runs.export("stylegan2", "onnx"))!r})
imgs = m.sample(3, seed=0)
assert imgs.shape == (3, 1, 28, 28), imgs.shape
from gankit.cli import main
assert main(["sample", {str(runs.export("cgan", "onnx"))!r}, "--n", "4", "--out", {str(runs.root / "cli_no_models.npy")!r}]) == 0
bad = sorted(k for k in sys.modules if k.startswith(("gankit.models", "gankit.tasks", "gankit.nn", "gankit.train.engine")))
assert not bad, bad
print("ok")
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env())
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr[-2000:]


def test_signature_records_source_and_metrics(runs):
    sig = json.loads((runs.export("stylegan2", "onnx") / "signature.json").read_text())
    assert sig["source"]["weights"] == "G_ema" and sig["source"]["recipe"] == "stylegan2_fashion_mnist"
    assert sig["metrics"] is None  # these runs never evaluated; null, not "N/A"
    assert sig["z_dim"] == 8 and sig["num_classes"] == 0 and sig["input_shape"] is None and sig["scale"] is None
    sr = json.loads((runs.export("srresnet", "onnx") / "signature.json").read_text())
    assert sr["scale"] == 2 and sr["input_shape"] == [1, 14, 14] and sr["output_shape"] == [1, 28, 28]


def test_metrics_come_from_the_run(runs, tmp_path):
    """The last in-loop evaluation in metrics.jsonl, or gankit eval's report (with its protocol) when there is one."""
    from gankit.export.signature import run_metrics

    import shutil

    run = shutil.copytree(runs.run("mlp"), tmp_path / "run")
    ckpt = gankit.load(run).path
    with open(run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"kind": "eval", "step": 1, "modes_covered": 7.0}) + "\n")
    got = run_metrics(run, ckpt, 2)
    assert got["metrics"] == [{"name": "modes_covered", "value": 7.0, "protocol": got["metrics"][0]["protocol"]}]
    rep = run / "eval" / ckpt.name / "report.json"
    rep.parent.mkdir(parents=True)
    rep.write_text(json.dumps({"metrics": [{"name": "coverage", "value": 0.5, "std": None, "protocol": {"extractor": "none"}}]}))
    assert run_metrics(run, ckpt, 2)["metrics"][0] == {"name": "coverage", "value": 0.5, "std": None, "protocol": {"extractor": "none"}}


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "OMP_NUM_THREADS": "1"}
