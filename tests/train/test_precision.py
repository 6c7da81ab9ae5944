"""``train.precision: auto``: bf16-mixed exactly where the hardware computes bfloat16 natively, float32 elsewhere,
and the engine trains with what it resolved to (Fabric's autocast then yields bfloat16, or does nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from gankit.config import load_config
from gankit.train import precision as prec
from gankit.train.engine import Engine
from gankit.train.precision import resolve_precision


@pytest.mark.parametrize("explicit", ["32", "bf16-mixed", "16-mixed"])
def test_an_explicit_precision_is_kept(explicit):
    assert resolve_precision(explicit, cuda=True, cpu_bf16=False, cuda_bf16=False) == explicit


@pytest.mark.parametrize(("accelerator", "cuda", "cpu_bf16", "cuda_bf16", "want"), [
    ("auto", False, True, False, "bf16-mixed"),   # CPU with AVX512-BF16/AMX
    ("auto", False, False, True, "32"),           # CPU without: emulated bf16 is slower
    ("auto", True, False, True, "bf16-mixed"),    # Ampere or later
    ("auto", True, True, False, "32"),            # an older GPU: no float16 loss-scaling gamble
    ("cpu", True, False, True, "32"),             # accelerator cpu: the CPU decides, not the GPU beside it
    ("cpu", True, True, False, "bf16-mixed"),
])  # fmt: skip
def test_auto_follows_the_hardware(accelerator, cuda, cpu_bf16, cuda_bf16, want):
    assert resolve_precision("auto", accelerator, cuda=cuda, cpu_bf16=cpu_bf16, cuda_bf16=cuda_bf16) == want


def test_cpu_probe_agrees_with_the_kernels_cpu_flags():
    info = Path("/proc/cpuinfo")
    if not info.exists():
        pytest.skip("no /proc/cpuinfo to compare with")
    flags = {f for line in info.read_text().splitlines() if line.startswith("flags") for f in line.split(":", 1)[1].split()}
    assert prec._cpu_has_native_bf16() == bool({"avx512_bf16", "amx_bf16"} & flags)


def test_a_failing_probe_reads_as_no_native_bf16(monkeypatch):
    def boom() -> bool:
        raise RuntimeError("probe unavailable")

    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", boom, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", boom, raising=False)
    assert prec._cpu_has_native_bf16() is False
    assert resolve_precision("auto", "cpu") == "32"


@pytest.mark.parametrize("native", [True, False])
def test_the_engine_trains_in_what_auto_resolved_to(tiny_recipe, tmp_path, monkeypatch, native):
    monkeypatch.setattr(prec, "_cpu_has_native_bf16", lambda: native)
    cfg = load_config(tiny_recipe, ["train.precision=auto", "train.accelerator=cpu", "train.max_steps=3"])
    assert cfg.train.precision == "auto"
    eng = Engine(cfg, tmp_path / "run")
    assert eng.precision == ("bf16-mixed" if native else "32")
    with eng.fabric.autocast():
        y = torch.nn.functional.linear(torch.randn(2, 3), torch.randn(4, 3))
    assert y.dtype == (torch.bfloat16 if native else torch.float32)
    res = eng.fit()
    assert res.step == 3
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["train"]["precision"] == "auto"  # the recipe as written: another machine resolves it afresh


def test_the_shipped_default_asks_for_auto():
    cfg = load_config(Path(__file__).resolve().parents[2] / "configs" / "default_fashion_mnist.yaml")
    assert cfg.train.precision == "auto" and cfg.train.max_minutes == 10 and cfg.train.max_steps is None
