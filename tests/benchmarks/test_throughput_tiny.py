"""benchmarks/throughput.py end to end with --tiny (seconds), so the script cannot rot: a row per family x precision
with positive finite rates, nothing written under docs/, and independent checks that the plain loops train what
gankit trains (the same spectral-norm layers, the same lazy-regularisation optimizer settings) and really train."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest
import torch

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))  # the script imports its helpers (_report, _plain_loops) by name

FAMILIES = ("tacgan", "dcgan", "resnet", "stylegan2")
PRECISIONS = ("fp32", "bf16-mixed")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tp():
    return _load("throughput")


def _rate(cell: str) -> float | None:
    return None if cell == "—" else float(cell)


@pytest.fixture(scope="module")
def tiny_run(tp, tiny_idx) -> tuple[str, dict[tuple[str, str], list[str]]]:
    """One --tiny run of every family and precision, with writing docs/benchmarks.md refused; (text, rows by key)."""
    import _report

    def refuse(*a, **k):
        raise AssertionError("--tiny wrote a section of docs/benchmarks.md")

    before = _report.DOC.stat().st_mtime_ns if _report.DOC.exists() else None
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_report, "write_section", refuse)
        text = tp.main(["--tiny", "--data-root", str(tiny_idx)])
    assert (_report.DOC.stat().st_mtime_ns if _report.DOC.exists() else None) == before
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 7 and cells[0] in FAMILIES:
            rows[(cells[0], cells[2])] = cells
    return text, rows


def _check_row(tp, cells: list[str], text: str) -> None:
    family, recipe, _, batch, plain, gankit, ratio = cells
    assert recipe == tp.RECIPES[family] and batch == "16"
    assert plain != "—" and gankit != "—", f"a loop failed:\n{text}"
    p, g, r = float(plain), float(gankit), float(ratio)
    assert all(math.isfinite(v) and v > 0 for v in (p, g, r)), cells
    assert r == pytest.approx(g / p, rel=0.02)  # the table rounds to 3 significant figures


def test_tiny_rows_and_target(tp, tiny_run):
    text, rows = tiny_run
    assert set(rows) == {(f, p) for f in FAMILIES for p in PRECISIONS}
    for cells in rows.values():  # StyleGAN2 in bf16-mixed included (tests/train/test_bf16_penalties.py)
        _check_row(tp, cells, text)
    # The verdict follows the default recipe's row in the precision `auto` resolves to on this machine.
    from gankit.train.precision import resolve_precision

    shipped = resolve_precision("auto", "cpu")
    ratio = float(rows[("tacgan", "fp32" if shipped == "32" else shipped)][6])
    assert f"`tacgan`, {'fp32' if shipped == '32' else shipped})" in text
    assert "≥ 1.2× the plain loop for the default recipe" in text
    assert ("→ **met**" in text) == (ratio >= tp.TARGET) and ("→ **not met**" in text) == (ratio < tp.TARGET)
    assert "Generation, eager PyTorch" in text


def test_plain_resnet_has_gankits_spectral_norm(tp, tiny_idx, tmp_path):
    """The plain loop's D: spectral norm on exactly the layers gankit's engine normalises, the same initial weights."""
    from torch.nn.utils.parametrizations import _SpectralNorm
    from torch.nn.utils.parametrize import is_parametrized

    from gankit.config import load_config
    from gankit.train.engine import Engine

    cfg = load_config(tp.recipe_path("resnet"), tp.overrides("resnet", 16, "32", str(tiny_idx), tiny=True))
    plain = tp.LOOPS["resnet"](cfg, str(tiny_idx)).nets
    engine = Engine(cfg, tmp_path / "run", hooks=None).raw

    def normalised(net: torch.nn.Module) -> set[str]:
        return {n for n, m in net.named_modules()
                if is_parametrized(m, "weight") and any(isinstance(p, _SpectralNorm) for p in m.parametrizations.weight)}  # fmt: skip

    layers = {n for n, m in plain["D"].named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))}
    assert layers and normalised(plain["D"]) == layers == normalised(engine["D"])
    assert normalised(plain["G"]) == normalised(engine["G"]) == set()
    want = engine["D"].state_dict()
    assert {k: v.shape for k, v in plain["D"].state_dict().items()} == {k: v.shape for k, v in want.items()}
    assert all(torch.equal(v, want[k]) for k, v in plain["D"].state_dict().items())


def test_plain_stylegan2_lazy_optimizers_match_gankit(tp, tiny_idx, tmp_path):
    """Lazy R1 every 16 and path length every 4: lr * c, betas ** c with c = 16/17 (D) and 4/5 (G), as the engine's."""
    from gankit.config import load_config
    from gankit.train.engine import Engine

    cfg = load_config(tp.recipe_path("stylegan2"), tp.overrides("stylegan2", 16, "32", str(tiny_idx), tiny=True))
    plain = tp.LOOPS["stylegan2"](cfg, str(tiny_idx)).opts
    engine = Engine(cfg, tmp_path / "run", hooks=None).optimizers
    for name, c in (("d", 16 / 17), ("g", 4 / 5)):
        got, ref = plain[name].param_groups[0], engine[name].param_groups[0]
        assert got["lr"] == pytest.approx(0.0025 * c) == ref["lr"]
        assert got["betas"] == pytest.approx((0.0, 0.99**c)) == ref["betas"]


def test_one_plain_dcgan_step_trains_g_and_d(tp, tiny_idx):
    from gankit.config import load_config

    cfg = load_config(tp.recipe_path("dcgan"), tp.overrides("dcgan", 16, "32", str(tiny_idx), tiny=True))
    loop = tp.LOOPS["dcgan"](cfg, str(tiny_idx))
    before = {k: [p.detach().clone() for p in loop.nets[k].parameters()] for k in ("G", "D")}
    loop()
    for k in ("G", "D"):
        after = list(loop.nets[k].parameters())
        assert after and all(not torch.equal(a, b) for a, b in zip(after, before[k])), f"{k} did not change"


def test_plain_tacgan_trains_gankits_networks_and_its_ema(tp, tiny_idx, tmp_path):
    """The plain TAC-GAN loop: the default recipe's G and projection D with both class heads, the same initial weights
    as the engine's, every network changed by one step, and an EMA moved towards G by exactly 1 - decay."""
    from gankit.config import load_config
    from gankit.train.engine import Engine

    ema = ["regularizers=[{name: ema, decay: 0.99}]"]  # whether or not the recipe keeps one, the loop's EMA is checked
    cfg = load_config(tp.recipe_path("tacgan"), tp.overrides("tacgan", 16, "32", str(tiny_idx), tiny=True) + ema)
    loop = tp.LOOPS["tacgan"](cfg, str(tiny_idx))
    engine = Engine(cfg, tmp_path / "run", hooks=None).raw
    for k in ("G", "D"):
        want = engine[k].state_dict()
        got = loop.nets[k].state_dict()
        assert set(got) == set(want) and all(torch.equal(v, want[n]) for n, v in got.items()), k
    assert any("twin" in n for n, _ in loop.nets["D"].named_parameters())  # TAC's second class head is trained
    before = {k: [p.detach().clone() for p in loop.nets[k].parameters()] for k in ("G", "D", "G_ema")}
    loop()
    for k in ("G", "D"):
        assert all(not torch.equal(a, b) for a, b in zip(loop.nets[k].parameters(), before[k])), f"{k} did not change"
    decay = float(next(r.params for r in cfg.regularizers if r.name == "ema")["decay"])
    for e, e0, g in zip(loop.nets["G_ema"].parameters(), before["G_ema"], loop.nets["G"].parameters()):
        torch.testing.assert_close(e, e0 + (1 - decay) * (g.detach() - e0))
