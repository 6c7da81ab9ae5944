"""Every task family exports to ONNX (dynamo exporter), TorchScript and safetensors with parity <= 1e-4,
the exact input/output names, and the same images through ONNX Runtime as through gankit.load."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

import gankit
from gankit.export.runtime import load_export, to_uint8
from gankit.export.signature import KEYS
# the families of tests/export/conftest.py (test modules cannot import a conftest under --import-mode=importlib)
NOISE = ["dcgan", "sngan", "resnet", "mlp", "cgan", "acgan", "projection", "biggan", "stylegan2", "stylegan2_cond", "progan"]
IMAGE = ["pix2pix", "cyclegan", "srresnet", "srgan", "stargan", "inpaint"]
CONDITIONAL = {"cgan", "acgan", "projection", "biggan", "stylegan2_cond"}


def expected_inputs(family: str) -> list[str]:
    if family in NOISE:
        return ["z", "c"] if family in CONDITIONAL else ["z"]
    return {"stargan": ["x", "c"], "inpaint": ["x", "mask"]}.get(family, ["x"])


def _images(n: int, shape: list[int], seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, *shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def test_every_family_is_covered(runs):
    assert set(NOISE) | set(IMAGE) == runs.families


@pytest.mark.parametrize("family", NOISE + IMAGE)
def test_onnx_export_parity_names_and_signature(runs, family):
    d = runs.export(family, "onnx")
    sig = json.loads((d / "signature.json").read_text())
    assert set(KEYS) <= set(sig) and sig["export_version"] == 1 and sig["format"] == "onnx"
    assert sig["exporter"] == "dynamo" and isinstance(sig["opset"], int)
    p = sig["parity"]
    assert p["batch_sizes"] == [1, 3, 8] and set(p["per_batch"]) == {"1", "3", "8"}
    assert 0 <= p["max_abs_diff"] <= 1e-4 and p["tolerance"] == 1e-4 and p["max_abs_diff"] == max(p["per_batch"].values())
    graph = onnx.load(str(d / "model.onnx")).graph
    assert [i.name for i in graph.input] == expected_inputs(family) == [s["name"] for s in sig["inputs"]]
    assert [o.name for o in graph.output] == ["images"] == [s["name"] for s in sig["outputs"]]
    dtypes = {i.name: i.type.tensor_type.elem_type for i in graph.input}
    assert dtypes.get("c", onnx.TensorProto.INT64) == onnx.TensorProto.INT64
    assert all(v == onnx.TensorProto.FLOAT for k, v in dtypes.items() if k != "c")
    assert all(s["shape"][0] == "N" for s in sig["inputs"] + sig["outputs"])
    src = sig["source"]
    assert src["step"] > 0 and src["weights"] in ("G", "G_ema", "G_AB") and src["recipe"] and src["run"]


@pytest.mark.parametrize("family", NOISE)
def test_onnxruntime_generates_what_eager_does(runs, family):
    inf, m = gankit.load(runs.run(family)), load_export(runs.export(family, "onnx"))
    for n in (2, 5):
        z = inf.noise(n, seed=11)
        c = torch.arange(n) % inf.signature["num_classes"] if inf.signature["num_classes"] else None
        want = inf.generate(z, c).numpy()
        got = m.generate(z.numpy(), None if c is None else c.numpy())
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-4
    if inf.is_vector:
        assert m.signature["output"] == "vector" and m.signature["value_range"] is None
        assert np.abs(m.sample(9, seed=3) - inf.sample(9, seed=3).numpy()).max() <= 1e-4
    else:
        diff = np.abs(m.sample(9, seed=3).astype(int) - inf.sample(9, seed=3).numpy().astype(int))
        assert diff.max() <= 1 and (diff > 0).mean() < 0.01


@pytest.mark.parametrize("family", IMAGE)
def test_onnxruntime_translates_what_eager_does(runs, family):
    inf, m = gankit.load(runs.run(family)), load_export(runs.export(family, "onnx"))
    sig = inf.signature
    x = _images(3, sig["input_shape"], seed=4)
    assert m.signature["input_shape"] == sig["input_shape"] and m.signature["scale"] == sig.get("scale")
    if family == "stargan":
        want, got = inf.translate(x, target_class=[1, 4, 9]), m.translate(x.numpy(), c=[1, 4, 9])
    elif family == "inpaint":
        masks = torch.zeros(3, 1, *sig["input_shape"][1:], dtype=torch.uint8)
        masks[:, :, 5:15, 3:12] = 255
        want, got = inf.inpaint(x, masks), m.translate(x.numpy(), mask=masks.numpy())
        known = masks.expand_as(x).numpy() == 0
        assert np.array_equal(to_uint8(got)[known], x.numpy()[known])  # composited: known pixels unchanged
    elif family.startswith("sr"):
        want, got = inf.upscale(x), m.translate(x.numpy())
        assert got.shape[2:] == tuple(2 * s for s in sig["input_shape"][1:])
    else:
        want, got = inf.translate(x), m.translate(x.numpy())
    assert np.abs(to_uint8(got).astype(int) - want.numpy().astype(int)).max() <= 1


def test_cyclegan_both_directions(runs):
    run = runs.run("cyclegan")
    ab, ba = load_export(runs.export("cyclegan", "onnx")), load_export(runs.export("cyclegan", "onnx", direction="BtoA"))
    assert (ab.signature["source"]["weights"], ba.signature["source"]["weights"]) == ("G_AB", "G_BA")
    assert ba.signature["source"]["direction"] == "BtoA"
    x = _images(4, [1, 28, 28], seed=5)
    for m, direction in ((ab, "AtoB"), (ba, "BtoA")):
        want = gankit.load(run, direction=direction).translate(x).numpy().astype(int)
        assert np.abs(to_uint8(m.translate(x.numpy())).astype(int) - want).max() <= 1
    assert np.abs(ab.translate(x.numpy()) - ba.translate(x.numpy())).max() > 1e-6  # two different generators


def test_style_based_psi_is_baked_and_others_scale_z(runs):
    from gankit.errors import ExportError

    inf = gankit.load(runs.run("stylegan2"))
    m = load_export(runs.export("stylegan2", "onnx", truncation=0.7))
    assert m.signature["style_based"] and m.signature["truncation_psi"] == 0.7 and m.signature["psi_mode"] == "baked"
    assert np.abs(m.sample(6, seed=2).astype(int) - inf.sample(6, seed=2, psi=0.7).numpy().astype(int)).max() <= 1
    assert np.abs(m.sample(6, seed=2, psi=0.7).astype(int) - m.sample(6, seed=2).astype(int)).max() == 0
    with pytest.raises(ExportError, match="baked"):
        m.generate(m.noise(2), psi=0.5)
    dc, dm = gankit.load(runs.run("dcgan")), load_export(runs.export("dcgan", "onnx"))
    assert dm.signature["truncation_psi"] is None and dm.signature["psi_mode"] == "scale_z"
    z = dc.noise(4, seed=1)
    assert np.abs(dm.generate(z.numpy(), psi=0.5) - dc.generate(z, psi=0.5).numpy()).max() <= 1e-4
    with pytest.raises(ExportError, match="pixel-normalises"):
        load_export(runs.export("progan", "onnx")).generate(z.numpy(), psi=0.5)


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated")
@pytest.mark.parametrize("family", NOISE + IMAGE)
def test_torchscript_and_safetensors_exports(runs, family):
    from gankit.export.safetensors import load_safetensors
    from gankit.export.wrap import example_inputs

    inf = gankit.load(runs.run(family))
    ts, st = runs.export(family, "torchscript"), runs.export(family, "safetensors")
    for d, exporter in ((ts, "trace"), (st, "safetensors")):
        sig = json.loads((d / "signature.json").read_text())
        assert sig["exporter"] == exporter and sig["opset"] is None and sig["parity"]["max_abs_diff"] <= 1e-4
    assert (st / "recipe.yaml").is_file()
    loaded = torch.jit.load(str(ts / "model.pt"))
    rebuilt = load_safetensors(st)
    assert rebuilt.signature["output_shape"] == inf.signature["output_shape"] and rebuilt.weights == inf.weights
    inputs = example_inputs(json.loads((st / "signature.json").read_text()), 5, seed=9)
    with torch.no_grad():
        if family in NOISE:
            z, c = inputs["z"], inputs.get("c")
            want = inf.generate(z, c)
            assert torch.equal(rebuilt.generate(z, c), want)
        else:
            want = inf.module(*inputs.values())
            assert torch.equal(rebuilt.module(*inputs.values()), want)
        assert (loaded(*inputs.values()) - want).abs().max() <= 1e-4
