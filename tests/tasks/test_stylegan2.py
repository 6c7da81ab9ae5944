"""StyleGAN2's task: its phases and lazy intervals, path length against a closed form, mixing, exact resume."""

from __future__ import annotations

import math

import pytest
import torch

import gankit
from gankit.config import load_config
from gankit.errors import ConfigError
from gankit.tasks import build_task
from gankit.tasks.stylegan2 import path_length_penalty
from gankit.train.checkpoint import load_checkpoint
from gankit.train.engine import Engine, train

TINY = [
    "task=stylegan2", "model.z_dim=8",
    "model.generator={name: stylegan2, w_dim: 8, mapping_layers: 1, max_channels: 8, min_channels: 4}",
    "model.discriminator={name: stylegan2, max_channels: 8, min_channels: 4}",
    "regularizers=[{name: r1, gamma: 0.1, every: 4}, {name: ema, half_life_images: 500}]",
    "optim.g={lr: 0.0025, betas: [0.0, 0.99]}", "optim.d={lr: 0.0025, betas: [0.0, 0.99]}",
    "task.pl_every=2", "train.batch_size=8",
]  # fmt: skip


def test_phases_intervals_and_lazy_optimizers(tiny_recipe, tmp_path):
    e = Engine(load_config(tiny_recipe, TINY + ["train.max_steps=4"]), tmp_path / "r", hooks=[])
    phases = {p.name: (p.every, p.lazy, p.optimizer) for p in e.task.phases(e.clock)}
    assert phases == {"D": (1, False, "d"), "D_reg": (4, True, "d"), "G": (1, False, "g"), "G_reg": (2, True, "g")}
    g, d = e.optimizers["g"].param_groups[0], e.optimizers["d"].param_groups[0]
    assert math.isclose(g["lr"], 0.0025 * 2 / 3) and math.isclose(g["betas"][1], 0.99 ** (2 / 3))
    assert math.isclose(d["lr"], 0.0025 * 4 / 5) and math.isclose(d["betas"][1], 0.99 ** (4 / 5))
    ema = next(t for t in e.task.tricks if t.kind == "averager")
    assert math.isclose(ema.decay, 0.5 ** (8 / 500))  # half-life in images at batch 8


def test_path_length_on_a_linear_synthesis_equals_its_closed_form():
    """img = sum_l A_l w_l: J_{w_l}^T y = A_l^T y, so a = sqrt(mean_l |A_l^T y|^2)."""
    torch.manual_seed(0)
    n, layers, dim, h = 5, 3, 4, 6
    A = torch.randn(layers, dim, h * h)
    ws = torch.randn(n, layers, dim, requires_grad=True)
    img = torch.einsum("nld,ldp->np", ws, A).reshape(n, 1, h, h)
    torch.manual_seed(1)
    pen, lengths = path_length_penalty(img, ws, torch.tensor(0.3), decay=0.01)
    torch.manual_seed(1)
    y = (torch.randn(n, 1, h, h) / h).reshape(n, h * h)
    want = torch.einsum("ldp,np->nld", A, y).square().sum(2).mean(1).sqrt()
    assert torch.allclose(lengths, want, atol=1e-5)
    mu = 0.3 + 0.01 * (want.mean() - 0.3)
    assert torch.allclose(pen.pl_mean_new, mu) and torch.allclose(pen.value, (want - mu).square().mean(), atol=1e-6)


def test_style_mixing_probability_and_cutoffs(tiny_recipe):
    task = build_task(load_config(tiny_recipe, TINY + ["task.style_mixing=1.0"]), (1, 28, 28))
    num_ws = task._num_ws()
    _, cut = task._mixing(4000, torch.device("cpu"))
    assert num_ws == 6 and ((cut >= 1) & (cut < num_ws)).all()
    task.mixing = 0.9
    _, cut = task._mixing(4000, torch.device("cpu"))
    kept = (cut == num_ws).float().mean().item()
    assert abs(kept - 0.1) < 0.03 or (cut == num_ws).all()  # one cutoff per batch; 10 % keep their own styles
    task.mixing = 0.0
    assert task._mixing(8, torch.device("cpu")) == (None, None)


def test_resume_is_exact_with_both_lazy_phases(tiny_recipe, tmp_path):
    over = TINY + ["log.ckpt_every=1000"]
    straight = train(load_config(tiny_recipe, over + ["train.max_steps=8"]), tmp_path / "a", hooks=[]).checkpoint
    half = train(load_config(tiny_recipe, over + ["train.max_steps=5"]), tmp_path / "b", hooks=[]).checkpoint
    assert float(load_checkpoint(half).state["task_state"]["pl_mean"]) > 0  # the path-length mean is saved
    resumed = Engine(load_config(tiny_recipe, over + ["train.max_steps=8"]), tmp_path / "b", half, hooks=[]).fit().checkpoint
    for net in ("G", "D", "G_ema"):
        a, b = load_checkpoint(straight).weights(net), load_checkpoint(resumed).weights(net)
        assert all(torch.equal(a[k], b[k]) for k in a), net


def test_conditional_mode_and_loading(tiny_recipe, tmp_path):
    run = train(load_config(tiny_recipe, TINY + ["task.conditional=true", "train.max_steps=2"]), tmp_path / "c", hooks=[]).run_dir
    g = gankit.load(run)
    assert g.signature["task"] == "stylegan2" and g.signature["num_classes"] == 10
    assert g.sample(4, seed=0, classes=[3]).shape == (4, 1, 28, 28)
    unc = train(load_config(tiny_recipe, TINY + ["train.max_steps=2"]), tmp_path / "u", hooks=[]).run_dir
    assert gankit.load(unc).signature["num_classes"] == 0


def test_other_networks_are_refused(tiny_recipe):
    with pytest.raises(ConfigError, match="task stylegan2 trains the stylegan2 networks"):
        build_task(load_config(tiny_recipe, ["task=stylegan2"]), (1, 28, 28))


def test_seeded_sampling_is_reproducible_despite_noise_inputs(tiny_recipe, tmp_path):
    run = train(load_config(tiny_recipe, TINY + ["train.max_steps=2"]), tmp_path / "s", hooks=[]).run_dir
    g = gankit.load(run)
    a = g.sample(5, seed=3)
    torch.manual_seed(123)  # the global stream must not matter
    assert torch.equal(a, g.sample(5, seed=3))
    g.module.train()
    z = g.noise(2, seed=0)
    assert not torch.equal(g.module(z), g.module(z))  # training draws fresh noise
