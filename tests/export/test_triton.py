"""The Triton model repository: its layout, config.pbtxt's structure against the model, and the checker's
own errors (Triton itself cannot be installed here, so this is the check there is)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from gankit.errors import ExportError
from gankit.export.runtime import load_export
from gankit.export.triton import check_repository, parse_pbtxt


def test_layout_and_config(runs):
    root = runs.export("cgan", "triton")
    repo = root.parent
    assert root.name == "gankit" and sorted(p.name for p in repo.iterdir()) == ["gankit"]
    assert sorted(str(p.relative_to(repo)) for p in repo.rglob("*") if p.is_file()) == [
        "gankit/1/model.onnx", "gankit/config.pbtxt", "gankit/signature.json"]  # fmt: skip
    cfg = parse_pbtxt((root / "config.pbtxt").read_text())
    assert cfg["name"] == "gankit" and cfg["platform"] == "onnxruntime_onnx" and cfg["max_batch_size"] == 64
    assert cfg["dynamic_batching"] == {"max_queue_delay_microseconds": 5000}
    assert cfg["input"] == [
        {"name": "z", "data_type": "TYPE_FP32", "dims": [8]},
        {"name": "c", "data_type": "TYPE_INT64", "dims": [1], "reshape": {"shape": []}},  # only the batch dim: Triton's form
    ]
    assert cfg["output"] == [{"name": "images", "data_type": "TYPE_FP32", "dims": [1, 28, 28]}]
    assert check_repository(repo) == cfg
    sig = json.loads((root / "signature.json").read_text())
    assert sig["format"] == "triton" and sig["files"]["model"] == "1/model.onnx" and sig["batch"] == "dynamic"


def test_the_repository_runs_with_onnxruntime(runs):
    """The repository root or its model folder: the same model as --format onnx."""
    repo = runs.export("cgan", "triton").parent
    a, b = load_export(repo), load_export(runs.export("cgan", "onnx"))
    assert np.abs(a.sample(5, seed=2).astype(int) - b.sample(5, seed=2).astype(int)).max() == 0


def test_model_name_and_image_inputs(runs):
    repo = runs.export("inpaint", "triton", model_name="fill").parent
    cfg = check_repository(repo, "fill")
    assert cfg["name"] == "fill"
    assert [(t["name"], t["dims"]) for t in cfg["input"]] == [("x", [1, 28, 28]), ("mask", [1, 28, 28])]


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace('name: "gankit"', 'name: "other"'), "name 'other' is not the folder's 'gankit'"),
    (lambda t: t.replace("onnxruntime_onnx", "tensorrt_plan"), "platform 'tensorrt_plan': expected onnxruntime_onnx"),
    (lambda t: t.replace("max_batch_size: 64", "max_batch_size: 0"), "max_batch_size 0: dynamic batching needs >= 1"),
    (lambda t: t.split("dynamic_batching")[0], "dynamic_batching .* is missing"),
    (lambda t: t.replace("dims: [ 8 ]", "dims: [ 9 ]"), r"input 'z': dims \[9\] but the model has \[8\]"),
    (lambda t: t.replace("TYPE_INT64", "TYPE_FP32"), "input 'c': data_type TYPE_FP32 but the model has int64"),
    (lambda t: t.replace('name: "images"', 'name: "out"'), "output 'images' of model.onnx is not declared.*'out' is declared"),
    (lambda t: t.replace("input [", "input [\n  { name: \"w\" data_type: TYPE_FP32 dims: [ 2 ] },", 1), "input 'w' is declared"),
])  # fmt: skip
def test_structure_check_names_each_problem(runs, tmp_path, edit, match):
    repo = shutil.copytree(runs.export("cgan", "triton").parent, tmp_path / "repo")
    cfg = repo / "gankit" / "config.pbtxt"
    cfg.write_text(edit(cfg.read_text()))
    with pytest.raises(ExportError, match=match):
        check_repository(repo)


def test_structure_check_layout_errors(runs, tmp_path):
    repo = shutil.copytree(runs.export("dcgan", "triton").parent, tmp_path / "repo")
    (repo / "gankit" / "1" / "model.onnx").unlink()
    with pytest.raises(ExportError, match="no version folder 1/model.onnx"):
        check_repository(repo)
    with pytest.raises(ExportError, match="a Triton repository holds MODEL/config.pbtxt"):
        check_repository(tmp_path / "empty")


def test_pbtxt_reader():
    text = """
    # a comment
    name: "m"  platform: "onnxruntime_onnx"
    max_batch_size: 8
    input { name: "z" data_type: TYPE_FP32 dims: [ 4 ] }
    input { name: "c" data_type: TYPE_INT64 dims: [ 1 ] reshape: { shape: [ ] } }
    dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 }
    parameters { key: "x" value: { string_value: "a b" } }
    """
    cfg = parse_pbtxt(text)
    assert cfg["input"] == [{"name": "z", "data_type": "TYPE_FP32", "dims": [4]},
                            {"name": "c", "data_type": "TYPE_INT64", "dims": [1], "reshape": {"shape": []}}]  # fmt: skip
    assert cfg["dynamic_batching"] == {"preferred_batch_size": [4, 8], "max_queue_delay_microseconds": 100}
    assert cfg["parameters"] == {"key": "x", "value": {"string_value": "a b"}}
    with pytest.raises(ExportError, match="unbalanced"):
        parse_pbtxt("input { name: \"z\"")
