"""A corrupt, incomplete or incompatible export, a bad option, or a failed parity check: a clear error."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from gankit.errors import CheckpointError, ConfigError, ExportError
from gankit.export import export
from gankit.export.runtime import load_export
from gankit.export.signature import sha256_file


@pytest.fixture()
def copy(runs, tmp_path):
    def make(family: str = "dcgan", fmt: str = "onnx"):  # noqa: ANN202
        return shutil.copytree(runs.export(family, fmt), tmp_path / f"{family}-{fmt}")

    return make


def _edit_signature(d, **changes) -> None:  # noqa: ANN001, ANN003
    sig = json.loads((d / "signature.json").read_text())
    sig.update(changes)
    (d / "signature.json").write_text(json.dumps(sig))


def test_truncated_model_is_a_sha_mismatch(copy):
    d = copy()
    data = (d / "model.onnx").read_bytes()
    (d / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ExportError, match=r"model.onnx: sha256 .* does not match the signature's .*changed or truncated"):
        load_export(d)


def test_truncated_model_with_its_sha_fails_to_load(copy):
    d = copy()
    data = (d / "model.onnx").read_bytes()
    (d / "model.onnx").write_bytes(data[: len(data) // 3])
    sig = json.loads((d / "signature.json").read_text())
    _edit_signature(d, files={**sig["files"], "sha256": sha256_file(d / "model.onnx")})
    with pytest.raises(ExportError, match="ONNX Runtime cannot load it .*corrupt"):
        load_export(d)


def test_missing_or_unreadable_signature(copy):
    d = copy()
    (d / "signature.json").write_text("{not json")
    with pytest.raises(ExportError, match="not valid JSON"):
        load_export(d)
    (d / "signature.json").unlink()
    with pytest.raises(ExportError, match="no signature.json"):
        load_export(d)
    (d / "model.onnx").unlink()
    with pytest.raises(ExportError, match="no signature.json"):
        load_export(d)


def test_unknown_export_version_and_missing_keys(copy):
    d = copy()
    _edit_signature(d, export_version=99)
    with pytest.raises(ExportError, match="export_version 99 is not one this gankit reads"):
        load_export(d)
    sig = json.loads((d / "signature.json").read_text())
    del sig["parity"], sig["inputs"]
    sig["export_version"] = 1
    (d / "signature.json").write_text(json.dumps(sig))
    with pytest.raises(ExportError, match="missing inputs, parity"):
        load_export(d)


def test_signature_that_does_not_match_the_model(copy):
    d = copy("cgan")
    sig = json.loads((d / "signature.json").read_text())
    _edit_signature(d, inputs=[{"name": "w", "dtype": "float32", "shape": ["N", 8]}, sig["inputs"][1]])
    with pytest.raises(ExportError, match="does not match the model: input 'w' is not in the model; the model's input 'z'"):
        load_export(d)
    _edit_signature(d, inputs=[{"name": "z", "dtype": "float32", "shape": ["N", 16]}, {**sig["inputs"][1], "dtype": "float32"}])
    with pytest.raises(ExportError, match=r"input 'z' has shape \['N', 8\] in the model, \['N', 16\].*input 'c' is tensor\(int64\)"):
        load_export(d)
    _edit_signature(d, inputs=sig["inputs"], files={"model": "other.onnx", "sha256": sig["files"]["sha256"]})
    with pytest.raises(ExportError, match="other.onnx is missing"):
        load_export(d)


def test_other_formats_are_named(copy):
    with pytest.raises(ExportError, match="a torchscript export; ONNX Runtime reads --format onnx or triton.*torch.jit.load"):
        load_export(copy("dcgan", "torchscript"))


def test_what_is_not_a_run(runs, tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        export(tmp_path, "onnx", tmp_path / "out")
    with pytest.raises(ExportError, match="is an export folder, not a run.*source.run"):
        export(runs.export("dcgan", "onnx"), "onnx", tmp_path / "out")


@pytest.mark.parametrize("family, fmt, options, match", [
    ("dcgan", "onnx", {"truncation": 0.7}, "psi is baked into style-based generators only"),
    ("dcgan", "torchscript", {"opset": 17}, "--opset applies to onnx and triton"),
    ("dcgan", "triton", {"batch": 4}, "needs --batch dynamic"),
    ("dcgan", "onnx", {"batch": 0}, "'dynamic' or a batch size >= 1"),
    ("dcgan", "onnx", {"direction": "BtoA"}, "generates from noise; it has no directions"),
    ("pix2pix", "onnx", {"direction": "BtoA"}, "Pix2Pix learns one direction"),
    ("dcgan", "gif", {}, "--format gif: one of onnx, torchscript, safetensors, triton"),
])  # fmt: skip
def test_options_that_do_not_apply(runs, tmp_path, family, fmt, options, match):
    with pytest.raises(ConfigError, match=match):
        export(runs.run(family), fmt, tmp_path / "out", log=lambda _m: None, **options)
    assert not (tmp_path / "out" / "signature.json").exists()


def test_out_folder_of_other_files_is_refused(runs, tmp_path):
    (tmp_path / "mine.txt").write_text("keep me")
    with pytest.raises(ConfigError, match="holds other files"):
        export(runs.run("dcgan"), "onnx", tmp_path)
    assert (tmp_path / "mine.txt").read_text() == "keep me"


def test_failed_parity_shows_the_numbers_and_keeps_nothing(runs, tmp_path, monkeypatch):
    import gankit.export.onnx as onnx_mod

    real = onnx_mod.onnx_runner

    def off_by(path, threads=1):  # noqa: ANN001, ANN202 - an exporter that drifts by 1e-3 at batch 3 and 8
        run = real(path, threads)
        return lambda feeds: run(feeds) + (1e-3 if len(feeds["z"]) > 1 else 0.0)

    monkeypatch.setattr(onnx_mod, "onnx_runner", off_by)
    with pytest.raises(ExportError) as err:
        export(runs.run("dcgan"), "onnx", tmp_path / "out", log=lambda _m: None)
    msg = str(err.value)
    assert "parity check failed" in msg and "tolerance 0.0001" in msg
    assert "batch 1: " in msg and "batch 3: 0.001" in msg and "batch 8: 0.001" in msg
    assert not (tmp_path / "out" / "model.onnx").exists() and not (tmp_path / "out" / "signature.json").exists()


def test_legacy_exporter_fallback_is_recorded(runs, tmp_path, monkeypatch):
    """Where the dynamo exporter fails, the TorchScript-based one writes the file, and the signature says so."""
    import torch

    real = torch.onnx.export

    def no_dynamo(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        if kwargs.get("dynamo", True):
            raise RuntimeError("simulated torch.export failure")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.onnx, "export", no_dynamo)
    done = export(runs.run("cgan"), "onnx", tmp_path / "legacy", log=lambda _m: None)
    sig = done.signature
    assert sig["exporter"] == "torchscript-legacy" and "simulated torch.export failure" in sig["exporter_notes"][0]
    assert sig["parity"]["max_abs_diff"] <= 1e-4 and sig["parity"]["batch_sizes"] == [1, 3, 8]
    assert load_export(done.path).run(z=np.zeros((5, 8), np.float32), c=np.arange(5)).shape == (5, 1, 28, 28)


def test_an_opset_below_the_dynamo_exporters_uses_the_legacy_one(runs, tmp_path):
    sig = export(runs.run("stargan"), "onnx", tmp_path / "op17", opset=17, log=lambda _m: None).signature
    assert (sig["exporter"], sig["opset"]) == ("torchscript-legacy", 17)
    assert sig["exporter_notes"] == ["dynamo exporter: wrote opset 18, not the requested 17"]
    assert sig["parity"]["max_abs_diff"] <= 1e-4
    x = np.zeros((2, 1, 28, 28), np.uint8)
    assert load_export(tmp_path / "op17").translate(x, c=[0, 5]).shape == (2, 1, 28, 28)


def test_torchscript_scripts_where_tracing_fails(runs, tmp_path, monkeypatch):
    import torch

    def no_trace(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RuntimeError("simulated tracer failure")

    monkeypatch.setattr(torch.jit, "trace", no_trace)
    sig = export(runs.run("mlp"), "torchscript", tmp_path / "s", log=lambda _m: None).signature
    assert sig["exporter"] == "script" and sig["parity"]["max_abs_diff"] <= 1e-4
    assert sig["exporter_notes"] == ["trace: RuntimeError: simulated tracer failure"]
    with pytest.raises(ExportError, match="TorchScript export of NoiseG failed: trace: RuntimeError: simulated.*; script: "):
        export(runs.run("dcgan"), "torchscript", tmp_path / "d", log=lambda _m: None)
    assert not (tmp_path / "d" / "model.pt").exists()
