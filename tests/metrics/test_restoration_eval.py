"""The restoration evaluators with fake models and fake data (no training, no built-in data needed):
rows per method, values against the metric functions and hand computations, the protocol choices."""

from __future__ import annotations

import math
import sys
import types
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gankit.data
from gankit.errors import GankitError
from gankit.metrics import evaluate
from gankit.metrics.baselines import bicubic_baseline, mean_fill, telea
from gankit.metrics.restoration import hole_l1_per_image, hole_psnr_per_image, psnr_per_image, ssim_per_image
from gankit.metrics.restoration_eval import evaluate_domains, evaluate_inpainting, evaluate_super_resolution
from gankit.metrics.translation_eval import target_folder


def _smooth(n: int, c: int = 1, size: int = 28, seed: int = 0) -> torch.Tensor:
    """Smooth uint8 images (random 7 x 7 fields upsampled): content an upsampler can partly recover."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, c, size // 4, size // 4, generator=g)
    return (F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False) * 255).round().to(torch.uint8)


def _cfg(name: str) -> SimpleNamespace:
    return SimpleNamespace(data=SimpleNamespace(name=name, degradation="mixed"))


@dataclass
class FakeSR:
    """A gankit.load() stand-in: ``upscale`` is bicubic, or the true image plus a constant when ``hr`` is set."""

    cfg: Any
    hr: torch.Tensor | None = None
    weights: str = "G"
    calls: list = field(default_factory=list)

    def upscale(self, lr: torch.Tensor, device: str = "cpu") -> torch.Tensor:
        self.calls.append((lr.clone(), device))
        if self.hr is None:
            return bicubic_baseline(lr, 2)
        return (self.hr[: len(lr)].int() + 2).clamp(0, 255).to(torch.uint8)


@pytest.fixture
def sr_data(monkeypatch):
    """Patch load_translation_pairs with (lr, hr) pairs made by PIL bicubic downsampling; returns a setter."""
    from PIL import Image

    def use(hr: torch.Tensor) -> torch.Tensor:
        h, w = hr.shape[-2] // 2, hr.shape[-1] // 2
        arr = [np.asarray(Image.fromarray(im[0].numpy() if im.shape[0] == 1 else im.numpy().transpose(1, 2, 0)).resize((w, h), Image.BICUBIC))
               for im in hr]  # fmt: skip
        lr = torch.from_numpy(np.stack(arr).reshape(len(hr), h, w, -1).transpose(0, 3, 1, 2).copy())
        monkeypatch.setattr(gankit.data, "load_translation_pairs", lambda cfg, split="test", limit=None: (lr[:limit], hr[:limit]))
        return lr

    return use


def test_super_resolution_rows_against_the_metric_functions(sr_data, tmp_path):
    hr = _smooth(24, seed=1)
    lr = sr_data(hr)
    gen = FakeSR(_cfg("fmnist-sr2x"), hr=hr)
    rep = evaluate_super_resolution(gen, n=20, out_dir=tmp_path)
    assert rep.names() == ["psnr", "ssim", "fid", "bicubic_psnr", "bicubic_ssim", "bicubic_fid"]
    assert torch.equal(gen.calls[0][0], lr[:20]) and gen.calls[0][1] == "cpu"
    hr20, bic = hr[:20], bicubic_baseline(lr[:20], 2)
    assert rep.value("psnr") == pytest.approx(10 * math.log10(255**2 / 4), rel=1e-6)  # every pixel off by 2 (no clipping here)
    assert rep.value("bicubic_psnr") == pytest.approx(psnr_per_image(bic, hr20).mean().item(), rel=1e-9)
    assert rep.value("bicubic_ssim") == pytest.approx(ssim_per_image(bic, hr20).mean().item(), rel=1e-9)
    assert rep.value("psnr") > rep.value("bicubic_psnr") and rep.value("ssim") > rep.value("bicubic_ssim")
    fid = evaluate(bic, "fid", ref=str(target_folder(hr20)), n=20, extractor="fmnist").value("fid")
    assert rep.value("bicubic_fid") == pytest.approx(fid, rel=1e-6)
    assert rep.get("bicubic_psnr").details["method"] == "bicubic" and rep.get("psnr").details["metric"] == "psnr_y"
    assert rep.get("fid").protocol.extractor == "fmnist"  # auto on 1 x 28 x 28
    info = rep.info["super_resolution"]
    assert info["scale"] == 2 and info["pairs"] == 20 and info["psnr_ssim_on"] == "gray (no conversion), border crop 0 px"
    assert (tmp_path / "report.json").is_file() and "model.run" in rep.timings and "bicubic.run" in rep.timings
    same = evaluate_super_resolution(FakeSR(_cfg("fmnist-sr2x")), n=8, metrics="psnr,ssim")  # the model is bicubic
    assert same.names() == ["psnr", "ssim", "bicubic_psnr", "bicubic_ssim"]
    assert same.value("psnr") == same.value("bicubic_psnr") and same.value("ssim") == same.value("bicubic_ssim")


def test_super_resolution_rgb_protocol_and_overrides(sr_data, monkeypatch):
    hr = _smooth(6, c=3, size=32, seed=2)
    lr = sr_data(hr)
    gen = FakeSR(_cfg("sr_folder"))
    rep = evaluate_super_resolution(gen, n=6, metrics=["ssim", "psnr"])
    bic = bicubic_baseline(lr, 2)
    assert rep.names() == ["psnr", "ssim", "bicubic_psnr", "bicubic_ssim"]
    assert rep.value("psnr") == pytest.approx(psnr_per_image(bic, hr, crop_border=2).mean().item(), rel=1e-9)  # Y, crop = scale
    assert rep.get("psnr").details["crop_border"] == 2 and "Y channel" in rep.info["super_resolution"]["psnr_ssim_on"]
    uncropped = evaluate_super_resolution(gen, n=6, metrics="psnr", crop_border=0)
    assert uncropped.value("psnr") == pytest.approx(psnr_per_image(bic, hr).mean().item(), rel=1e-9)

    seen = []

    def downsample(images, scale, kernel):
        seen.append((scale, kernel))
        return torch.full((len(images), images.shape[1], images.shape[2] // scale, images.shape[3] // scale), 99, dtype=torch.uint8)

    monkeypatch.setitem(sys.modules, "gankit.data.degrade", types.SimpleNamespace(downsample=downsample))
    pil = evaluate_super_resolution(gen, n=6, metrics="psnr", lr_override="pil")
    flat = torch.full_like(hr, 99)
    assert seen == [(2, "pil")] and pil.value("psnr") == pytest.approx(psnr_per_image(flat, hr, crop_border=2).mean().item())
    assert "pil bicubic x2" in pil.info["super_resolution"]["inputs"]
    given = evaluate_super_resolution(gen, n=6, metrics="psnr", lr_override=torch.full_like(lr, 99))
    assert given.value("bicubic_psnr") == pytest.approx(pil.value("bicubic_psnr"))
    with pytest.raises(GankitError, match="lr_override must be a kernel name or uint8 inputs of shape"):
        evaluate_super_resolution(gen, n=6, lr_override=torch.zeros(6, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(GankitError, match="measures psnr, ssim, fid; not 'lpips'"):
        evaluate_super_resolution(gen, n=6, metrics="psnr,lpips")
    bad = FakeSR(_cfg("sr_folder"))
    bad.upscale = lambda lr, device="cpu": lr  # type: ignore[method-assign]
    with pytest.raises(GankitError, match=r"model upscaling must return uint8 images of the targets' shape \(6, 3, 32, 32\)"):
        evaluate_super_resolution(bad, n=6, metrics="psnr")


@dataclass
class FakeInpainter:
    """Returns the true image with the hole off by a constant 3 (so the hole metrics are known by hand)."""

    cfg: Any
    b: torch.Tensor
    masks_seen: list = field(default_factory=list)

    def inpaint(self, a: torch.Tensor, mask: torch.Tensor, device: str = "cpu") -> torch.Tensor:
        self.masks_seen.append(mask)
        off = (self.b[: len(a)].int() + 3).clamp(0, 255).to(torch.uint8)
        return torch.where(mask.bool(), off, a)


def test_inpainting_rows_against_the_baselines(monkeypatch, tmp_path):
    b = _smooth(16, seed=3)
    b = (b.int() * 200 // 255).to(torch.uint8)  # no pixel clips at +3
    mask = torch.zeros(16, 1, 28, 28, dtype=torch.uint8)
    for i in range(16):
        mask[i, 0, 4 + i % 6 : 14 + i % 6, 6 : 18 - i % 4] = 1
    a = torch.where(mask.bool(), torch.full_like(b, 128), b)
    monkeypatch.setattr(gankit.data, "load_inpaint_triples", lambda cfg, split="test", limit=None: (a[:limit], b[:limit], mask[:limit]),
                        raising=False)  # fmt: skip
    gen = FakeInpainter(_cfg("fmnist-inpaint"), b)
    rep = evaluate_inpainting(gen, n=12, out_dir=tmp_path)
    assert rep.names() == ["hole_psnr", "hole_l1", "fid", "mean_fill_hole_psnr", "mean_fill_hole_l1", "mean_fill_fid",
                           "telea_hole_psnr", "telea_hole_l1", "telea_fid"]  # fmt: skip
    m = gen.masks_seen[0]
    assert m.dtype == torch.uint8 and torch.equal(m, mask[:12])
    assert rep.value("hole_l1") == pytest.approx(3 / 255) and rep.value("hole_psnr") == pytest.approx(10 * math.log10(255**2 / 9))
    for name, out in (("mean_fill", mean_fill(a[:12], m)), ("telea", telea(a[:12], m))):
        assert rep.value(f"{name}_hole_l1") == pytest.approx(hole_l1_per_image(out, b[:12], m).mean().item(), rel=1e-9)
        assert rep.value(f"{name}_hole_psnr") == pytest.approx(hole_psnr_per_image(out, b[:12], m).mean().item(), rel=1e-9)
        assert rep.get(f"{name}_fid").details["method"] == name
    assert rep.value("telea_hole_psnr") > rep.value("mean_fill_hole_psnr")  # smooth images: Telea beats a flat fill
    info = rep.info["inpainting"]
    assert info["images"] == 12 and info["no_hole"] == 0 and "INPAINT_TELEA" in info["methods"]["telea"]
    assert evaluate_inpainting(gen, n=4, metrics="hole_l1").names() == ["hole_l1", "mean_fill_hole_l1", "telea_hole_l1"]


@dataclass
class FakeStar:
    """StarGAN stand-in: ``translate`` brightens by 5 whatever the target; records the targets it was given."""

    cfg: Any
    signature: dict
    class_names: list | None = None
    weights: str = "G_ema"
    targets: list = field(default_factory=list)

    def translate(self, x: torch.Tensor, target_class: Any = None, device: str = "cpu") -> torch.Tensor:
        self.targets.append(target_class)
        return (x.int() + 5).clamp(0, 255).to(torch.uint8)


def test_domains_per_domain_numbers_and_their_means(monkeypatch, labelled_blobs):
    from gankit.metrics.extractors.fmnist import load_fmnist_net

    x, _ = labelled_blobs(60, seed=4)
    y = torch.arange(60) % 3  # three domains, 20 images each
    monkeypatch.setattr(gankit.data, "load_real_labeled", lambda cfg, split=None, limit=None, seed=0: (x[:limit], y[:limit]))
    gen = FakeStar(_cfg("fmnist-domains"), {"num_classes": 3}, ["a", "b", "c"])
    rep = evaluate_domains(gen, n=60, extractor="fmnist")
    assert rep.names() == ["target_class", "domain_fid", "reconstruction_l1"]
    net, _ = load_fmnist_net()
    rates, fids, l1s = {}, {}, {}
    for k, name in enumerate("abc"):
        xs = x[y != k]
        out = (xs.int() + 5).clamp(0, 255).to(torch.uint8)
        with torch.no_grad():
            rates[name] = (net.eval()(out.float() / 255).argmax(1) == k).float().mean().item()
        fids[name] = evaluate(out, "fid", ref=str(target_folder(x[y == k])), n=len(out)).value("fid")
        rec = (out.int() + 5).clamp(0, 255)
        l1s[name] = ((rec - xs.int()).abs().double() / 255).mean().item()
        assert gen.targets[2 * k] == k and torch.equal(gen.targets[2 * k + 1], y[y != k])  # x -> k -> its own class
    for metric, want in (("target_class", rates), ("domain_fid", fids), ("reconstruction_l1", l1s)):
        row = rep.get(metric)
        assert row.details["per_domain"] == pytest.approx(want, rel=1e-6)
        assert row.value == pytest.approx(float(np.mean(list(want.values()))), rel=1e-6)
        assert row.protocol.n_generated == 120 and row.protocol.n_generated_per_class == (40, 40, 40)
    assert rep.get("domain_fid").protocol.n_reference_per_class == (20, 20, 20)
    assert rep.info["domains"]["domains"] == ["a", "b", "c"]
    only = evaluate_domains(gen, n=60, metrics="reconstruction_l1")
    assert only.names() == ["reconstruction_l1"] and only.value("reconstruction_l1") == pytest.approx(rep.value("reconstruction_l1"))
    with pytest.raises(GankitError, match="at least 2 domains"):
        evaluate_domains(FakeStar(_cfg("fmnist-domains"), {"num_classes": 1}), n=10)
