"""LPIPS-VGG v0.1 from weights files the tests make (random VGG16, random non-negative lin layers), and PPL under it."""

from __future__ import annotations

import math
import shutil
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

from gankit.errors import GankitError
from gankit.metrics.extractors import lpips_vgg
from gankit.metrics.extractors.lpips_vgg import CHANNELS, LPIPSVGG, load_lin_state, load_lpips_vgg, load_vgg_state

RELU_TAPS = (3, 8, 15, 22, 29)  # relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 in vgg16().features


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """{"vgg": .pth, "vgg_st": .safetensors, "lin": .pth, "lin_st": .safetensors, "vgg_state", "lin_state"}."""
    from torchvision.models import vgg16

    root = tmp_path_factory.mktemp("lpips")
    g = torch.Generator().manual_seed(0)
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in vgg16(weights=None).features.state_dict().items()}
    vgg = {}
    for k, shape in shapes.items():
        fan_in = math.prod(shape[1:]) if len(shape) > 1 else 1
        vgg[f"features.{k}"] = torch.randn(shape, generator=g) * (math.sqrt(2 / fan_in) if len(shape) > 1 else 0.01)
    vgg["classifier.0.weight"] = torch.randn(4, 3, generator=g)  # ignored, whatever its shape
    lin = {f"lin{i}.model.1.weight": torch.rand(1, c, 1, 1, generator=g) for i, c in enumerate(CHANNELS)}
    files = {"vgg": root / "vgg16-random.pth", "vgg_st": root / "vgg16-random.safetensors",
             "lin": root / "vgg.pth", "lin_st": root / "lin.safetensors"}  # fmt: skip
    torch.save(vgg, files["vgg"])
    save_file(vgg, str(files["vgg_st"]))
    torch.save(lin, files["lin"])
    save_file(lin, str(files["lin_st"]))
    yield {**files, "vgg_state": vgg, "lin_state": lin}
    lpips_vgg.clear_loaded()


def images(n: int, shape: tuple[int, ...], seed: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.rand(n, *shape, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


def test_zero_for_itself_symmetric_positive_otherwise(weights):
    d = load_lpips_vgg(weights["lin"], weights["vgg"]).distance(batch_size=2)
    x0, x1 = images(3, (3, 32, 32), 0), images(3, (3, 32, 32), 1)
    same, a, b = d(x0, x0), d(x0, x1), d(x1, x0)
    assert same.shape == (3,) and same.dtype == torch.float64 and same.abs().max() < 1e-6 * a.min()
    assert torch.allclose(a, b, rtol=1e-6) and (a > 0).all()
    gray = images(2, (1, 16, 16), 2)  # repeated to RGB, upsampled to 64x64
    assert torch.allclose(d(gray, gray), torch.zeros(2, dtype=torch.float64), atol=1e-7) and (d(gray, gray.flip(0)) > 0).all()
    st = load_lpips_vgg(weights["lin_st"], weights["vgg_st"]).distance()
    assert torch.allclose(st(x0, x1), a, rtol=1e-6)  # safetensors and .pth: the same weights


@pytest.fixture(scope="module")
def reference_vgg(weights) -> nn.Module:
    """torchvision's vgg16(weights=None) with the random state dict, its features in float64."""
    from torchvision.models import vgg16

    net = vgg16(weights=None)
    missing, _ = net.load_state_dict({k: v for k, v in weights["vgg_state"].items() if k.startswith("features.")}, strict=False)
    assert all(k.startswith("classifier.") for k in missing)
    return net.features.double().eval()


def reference_lpips(layers: nn.Module, lin_state, img0: torch.Tensor, img1: torch.Tensor) -> torch.Tensor:
    """The paper's formula, directly: VGG16 layer by layer, unit-normalise, weight, mean, sum (float64)."""
    shift = torch.tensor([-0.030, -0.088, -0.188], dtype=torch.float64).view(1, 3, 1, 1)
    scale = torch.tensor([0.458, 0.448, 0.450], dtype=torch.float64).view(1, 3, 1, 1)

    def taps(x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[1] == 1:
            x = torch.cat([x, x, x], dim=1)
        if x.shape[-1] < 32:
            x = F.interpolate(x, size=(64, 64), mode="bilinear", align_corners=False)
        h, out = (x - shift) / scale, []
        for i, layer in enumerate(layers):
            h = layer(h)
            if i in RELU_TAPS:
                out.append(h.clone())
        return out

    total = torch.zeros(len(img0), dtype=torch.float64)
    with torch.no_grad():
        for k, (f0, f1) in enumerate(zip(taps(img0.double()), taps(img1.double()))):
            u0 = f0 / (torch.sqrt((f0**2).sum(1, keepdim=True)) + 1e-10)
            u1 = f1 / (torch.sqrt((f1**2).sum(1, keepdim=True)) + 1e-10)
            w = lin_state[f"lin{k}.model.1.weight"].double().view(1, -1, 1, 1)
            total += ((u0 - u1) ** 2 * w).sum(1).mean(dim=(1, 2))
    return total


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 16, 16)])
def test_agrees_with_a_direct_computation_of_the_formula(weights, reference_vgg, shape):
    net = LPIPSVGG(load_vgg_state(weights["vgg"]), load_lin_state(weights["lin"]))
    x0, x1 = images(2, shape, 3, torch.float64), images(2, shape, 4, torch.float64)
    want = reference_lpips(reference_vgg, weights["lin_state"], x0, x1)
    assert torch.allclose(net(x0, x1).double(), want, rtol=1e-5)  # the float32 network
    ours = net.double()(x0, x1)
    assert ours.dtype == torch.float64 and not ours.requires_grad
    assert torch.allclose(ours, want, rtol=1e-6, atol=1e-6), (ours, want)


def test_missing_weights_say_which_options_and_where_the_files_are(weights):
    with pytest.raises(GankitError) as e:
        load_lpips_vgg(None, None)
    msg = str(e.value)
    assert "--lpips-weights PATH" in msg and "--vgg-weights PATH" in msg and "does not download" in msg
    assert "lpips/weights/v0.1/vgg.pth" in msg and "vgg16-397923af.pth" in msg and "lpips_weights=PATH" in msg
    with pytest.raises(GankitError, match="missing: --vgg-weights\\."):
        load_lpips_vgg(weights["lin"], None)


def test_wrong_keys_shapes_and_values_name_the_file(weights, tmp_path):
    lin = dict(weights["lin_state"], **{"lin2.model.1.weight": torch.rand(1, 128, 1, 1)})
    torch.save(lin, tmp_path / "bad_lin.pth")
    with pytest.raises(GankitError, match=r"bad_lin\.pth.*lin2\.model\.1\.weight has shape \(1, 128, 1, 1\), expected \(1, 256, 1, 1\)"):
        load_lin_state(tmp_path / "bad_lin.pth")
    save_file(dict(weights["lin_state"], **{"lin0.model.1.weight": -torch.rand(1, 64, 1, 1)}), str(tmp_path / "neg.safetensors"))
    with pytest.raises(GankitError, match=r"neg\.safetensors.*negative"):
        load_lin_state(tmp_path / "neg.safetensors")
    vgg = {k: v for k, v in weights["vgg_state"].items() if k != "features.28.weight"}
    torch.save(vgg, tmp_path / "bad_vgg.pth")
    with pytest.raises(GankitError, match=r"--vgg-weights .*bad_vgg\.pth: not VGG16 weights: missing features\.28\.weight"):
        load_vgg_state(tmp_path / "bad_vgg.pth")
    with pytest.raises(GankitError, match="pass it as --lpips-weights"):  # the two files swapped
        load_vgg_state(weights["lin"])
    with pytest.raises(GankitError, match="pass it as --vgg-weights"):
        load_lin_state(weights["vgg"])
    shutil.copy(weights["vgg"], tmp_path / "vgg16-00000000.pth")  # torch hub's hash prefix in the name: checked
    with pytest.raises(GankitError, match=r"vgg16-00000000\.pth: its SHA-256 does not start with 00000000"):
        load_vgg_state(tmp_path / "vgg16-00000000.pth")


RAN: list[str] = []


def _record(what: str) -> None:
    RAN.append(what)


class Payload:
    def __reduce__(self):
        return (_record, ("unpickled",))


def test_a_pickled_object_is_refused(tmp_path):
    torch.save({"lin0.model.1.weight": Payload()}, tmp_path / "evil.pth")
    with pytest.raises(GankitError, match=r"evil\.pth: cannot read it as a state dict of tensors.*pickled objects are refused"):
        load_lin_state(tmp_path / "evil.pth")
    torch.save({"features.0.weight": 3}, tmp_path / "int.pt")  # weights_only loads it; not a tensor
    with pytest.raises(GankitError, match=r"int\.pt: expected a dict of tensors"):
        load_vgg_state(tmp_path / "int.pt")
    assert RAN == []


class TinyG(nn.Module):
    """z (4) -> a 1 x 16 x 16 image in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(4, 256)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.fc(z)).view(-1, 1, 16, 16)


def tiny_generator(shape=(1, 16, 16)) -> SimpleNamespace:
    return SimpleNamespace(module=TinyG(), signature={"output_shape": list(shape), "num_classes": 0, "z_dim": 4})


def test_ppl_under_lpips_through_evaluate(weights):
    from gankit.metrics import evaluate

    x = torch.zeros(8, 1, 16, 16, dtype=torch.uint8)
    rep = evaluate(x, "ppl", n=8, generator=tiny_generator(), ppl_similarity="lpips",
                   lpips_weights=weights["lin"], vgg_weights=weights["vgg"])  # fmt: skip
    assert rep.names() == ["ppl_z_full", "ppl_z_end", "ppl_z_end_pixels"]
    r = rep.get("ppl_z_end")
    assert r.value is not None and math.isfinite(r.value) and r.value > 0
    assert r.protocol.extractor == "lpips-vgg-v0.1" and len(r.protocol.extractor_hash) == 16
    assert r.protocol.resize == "gray->rgb-repeat+bilinear-64" and r.details["pairs"] == 8
    assert r.details["similarity"].startswith("lpips-vgg v0.1 (weights: vgg.pth, vgg16-random.pth)")
    assert rep.get("ppl_z_end_pixels").protocol.extractor == "pixels"
    pixels = evaluate(x, "ppl", n=8, generator=tiny_generator(), ppl_similarity="pixels")
    assert pixels.get("ppl_z_end").details["similarity"] == "pixels features, squared L2 / eps^2"
    assert pixels.value("ppl_z_end") == pytest.approx(pixels.value("ppl_z_end_pixels"))


def test_ppl_similarity_choices_are_checked_before_any_work(weights):
    from gankit.metrics import evaluate

    x = torch.zeros(4, 1, 16, 16, dtype=torch.uint8)
    with pytest.raises(GankitError, match="--lpips-weights PATH.*--vgg-weights PATH"):
        evaluate(x, "ppl", generator=tiny_generator(), ppl_similarity="lpips")
    with pytest.raises(GankitError, match="fmnist reads 1 x 28 x 28 images.*makes 1 x 16 x 16"):
        evaluate(x, "ppl", generator=tiny_generator(), ppl_similarity="fmnist")
    with pytest.raises(GankitError, match="add `--ppl-similarity lpips`"):
        evaluate(x, "ppl", generator=tiny_generator(), lpips_weights=weights["lin"])
    with pytest.raises(GankitError, match="unknown ppl similarity 'lpip'. Did you mean 'lpips'"):
        evaluate(x, "ppl", generator=tiny_generator(), ppl_similarity="lpip")


def test_cli_without_the_weights_is_a_message_and_exit_2(tmp_path, capsys):
    from gankit.cli import main

    assert main(["eval", str(tmp_path), "--metrics", "ppl", "--ppl-similarity", "lpips"]) == 2
    err = capsys.readouterr().err
    assert "--lpips-weights PATH" in err and "--vgg-weights PATH" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main(["eval", str(tmp_path), "--metrics", "ppl", "--lpips-weights", str(tmp_path / "nope.pth")])
    assert e.value.code == 2 and "no such file" in capsys.readouterr().err


def test_cli_eval_of_a_run_under_lpips(tiny_recipe, tmp_path, weights, capsys):
    import json

    from gankit.cli import main
    from gankit.config import load_config
    from gankit.train.engine import train

    run = train(load_config(tiny_recipe, ["train.max_steps=1"]), tmp_path / "r", hooks=[]).run_dir
    capsys.readouterr()
    head = ["eval", str(run), "--metrics", "ppl", "--n", "8", "--json", "--out", str(tmp_path / "e"), "--ppl-similarity", "lpips"]
    (tmp_path / "garbage.pth").write_bytes(b"\x00 not a state dict")
    for bad in ([], ["--lpips-weights", str(tmp_path / "garbage.pth"), "--vgg-weights", str(weights["vgg"])]):
        assert main(head + bad) == 2  # before the run is loaded and sampled: nothing written
        err = capsys.readouterr().err
        assert err.startswith("gankit: error:") and "sampling" not in err and not (tmp_path / "e").exists()
    assert "garbage.pth: cannot read it" in err
    assert main(head + ["--lpips-weights", str(weights["lin_st"]), "--vgg-weights", str(weights["vgg_st"])]) == 0
    names = {r["name"]: r for r in json.loads(capsys.readouterr().out)["metrics"]}
    assert names["ppl_z_full"]["protocol"]["extractor"] == "lpips-vgg-v0.1" and names["ppl_z_full"]["value"] > 0
    assert "lin.safetensors, vgg16-random.safetensors" in names["ppl_z_full"]["details"]["similarity"]
