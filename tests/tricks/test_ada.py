"""ADA: each transform at probability p, p moving towards its target from the sign of D(real), exact resume."""

from __future__ import annotations

import torch

from gankit.config import load_config
from gankit.core.clock import Clock
from gankit.tricks import TRICKS
from gankit.tricks.base import StepContext
from gankit.tricks.inputs.ada import augment, flip, rotate90
from gankit.train.checkpoint import load_checkpoint
from gankit.train.engine import Engine, train

CLOCK = Clock(0, 0.0, 10)


def test_p_zero_is_identity_and_p_one_transforms_every_sample():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 8, 8, requires_grad=True)
    assert augment(x, 0.0) is x
    y = augment(x, 1.0)
    assert y.shape == x.shape and all(not torch.equal(y[i], x[i]) for i in range(64))
    y.square().sum().backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0  # differentiable, so G learns through it


def test_each_transform_fires_at_about_p():
    torch.manual_seed(1)
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(4000, 1, 1, 1)
    changed = (flip(x, 0.3) != x).flatten(1).any(1).float().mean().item()
    assert abs(changed - 0.3) < 0.03
    r = rotate90(x, 0.5)
    assert abs((r != x).flatten(1).any(1).float().mean().item() - 0.5) < 0.03
    k1 = torch.rot90(x[0], 1, dims=(1, 2))
    assert any(torch.equal(r[i], k1) for i in range(50))  # a real 90-degree rotation


def _feed(ada, sign: float, steps: int, n: int = 32):
    for _ in range(steps):
        ctx = StepContext(CLOCK, None, None, real_scores=torch.full((n,), sign))
        ada.d_term(ctx)
        ada.after_step("D", CLOCK)


def test_p_moves_towards_the_target_at_its_speed():
    ada = TRICKS.build("ada", {"target": 0.6, "interval": 4, "speed_images": 1000})
    _feed(ada, +1.0, 8)  # D sure every real is real: r_t = 1 > 0.6, overfitting -> more augmentation
    assert abs(ada.p - 2 * 4 * 32 / 1000) < 1e-9
    _feed(ada, -1.0, 4)  # r_t = -1 < 0.6 -> less
    assert abs(ada.p - 4 * 32 / 1000) < 1e-9
    _feed(ada, -1.0, 400)
    assert ada.p == 0.0  # clamped
    _feed(ada, +1.0, 4000)
    assert ada.p == 1.0


def test_p_survives_resume_bit_exactly(tiny_recipe, tmp_path):
    over = ["regularizers=[{name: ada, speed_images: 2000, interval: 2}]", "log.ckpt_every=1000"]
    straight = train(load_config(tiny_recipe, over + ["train.max_steps=10"]), tmp_path / "a", hooks=[]).checkpoint
    half = train(load_config(tiny_recipe, over + ["train.max_steps=5"]), tmp_path / "b", hooks=[]).checkpoint
    state = load_checkpoint(half).state["task_state"]["tricks"][0]["state"]
    assert state["p"] > 0 and state["d_steps"] == 5 and state["count"] == 16  # mid-interval sums kept too
    e = Engine(load_config(tiny_recipe, over + ["train.max_steps=10"]), tmp_path / "b", half, hooks=[])
    assert e.task.tricks[0].p == state["p"]
    resumed = e.fit().checkpoint
    a, b = load_checkpoint(straight), load_checkpoint(resumed)
    assert a.state["task_state"] == b.state["task_state"]
    wa, wb = a.weights("G"), b.weights("G")
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
