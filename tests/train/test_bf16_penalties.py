"""Gradients inside a loss (R1, WGAN-GP, StyleGAN2's path length) under bf16-mixed, where Fabric owns the backward.

Fabric hooks a wrapped network's outputs and refuses a backward pass that is not ``fabric.backward``; a
penalty's own ``autograd.grad`` must pass (gankit.utils.autograd.inner_grad), and must give the gradient
plain autograd gives. StyleGAN2 also needs float32 ws in the synthesis's graph, and a float32 w_avg."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gankit.config import load_config
from gankit.objectives.penalties import squared_grad_norm
from gankit.train.engine import train
from gankit.utils.autograd import inner_grad

from tests.tasks.test_stylegan2 import TINY as STYLEGAN2_TINY


def _wrapped(module: nn.Module):
    from lightning_fabric import Fabric

    fabric = Fabric(accelerator="cpu", devices=1, precision="bf16-mixed")
    return fabric.setup_module(module)


def test_inner_grad_passes_fabrics_hook_and_equals_plain_autograd():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    D = _wrapped(net)
    x = torch.randn(5, 6, requires_grad=True)
    with pytest.raises(RuntimeError, match="fabric.backward"):  # what the penalties hit before inner_grad
        torch.autograd.grad(D(x).float().sum(), x, create_graph=True)
    (g,) = inner_grad(D(x).float().sum(), x, create_graph=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the same computation without the wrapper
        (ref,) = torch.autograd.grad(net(x).float().sum(), x, create_graph=True)
    torch.testing.assert_close(g, ref)
    from lightning_fabric import wrappers

    assert wrappers._in_fabric_backward is False  # the flag is put back


def test_r1_through_a_wrapped_bf16_d_matches_its_closed_form():
    """D(x) = a . x has grad a everywhere: R1 = |a|^2 (to bf16's rounding of the product)."""
    lin = nn.Linear(4, 1, bias=False)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, -2.0, 0.5, 3.0]]))
    r1 = squared_grad_norm(_wrapped(lin), torch.randn(7, 4))
    assert math.isclose(float(r1.detach()), 1 + 4 + 0.25 + 9, rel_tol=2e-2)


@pytest.mark.parametrize("over", [
    ["loss.name=wgan_gp", "train.n_critic=1"],
    ["regularizers=[{name: r1, gamma: 1.0, every: 2}]"],
], ids=["wgan_gp", "lazy_r1"])  # fmt: skip
def test_dcgan_penalties_train_in_bf16_mixed(tiny_recipe, tmp_path, over):
    res = train(load_config(tiny_recipe, [*over, "train.precision=bf16-mixed", "train.max_steps=4", "log.log_every=1"]),
                tmp_path / "r", hooks=[])  # fmt: skip
    assert res.status == "finished" and res.step == 4 and all(math.isfinite(v) for v in res.last_metrics.values())


def test_stylegan2_trains_in_bf16_mixed(tiny_recipe, tmp_path):
    """Every phase runs: D, lazy R1 (every 4), G, lazy path length (every 2) and the w_avg update."""
    res = train(load_config(tiny_recipe, [*STYLEGAN2_TINY, "train.precision=bf16-mixed", "train.max_steps=4", "log.log_every=1"]),
                tmp_path / "r", hooks=[])  # fmt: skip
    assert res.status == "finished" and res.step == 4
    m = res.last_metrics
    assert math.isfinite(m["g_pl"]) and math.isfinite(m["d_r1"]) and m["g_pl_length"] > 0
    from gankit.train.checkpoint import load_checkpoint

    w_avg = next(v for k, v in load_checkpoint(res.checkpoint).weights("G").items() if k.endswith("w_avg"))
    assert w_avg.dtype == torch.float32 and w_avg.abs().sum() > 0
