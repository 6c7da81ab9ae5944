"""The GAN task's phases as data: lazy regularisation, optimizer adjustment, time budgets, val selection."""

from __future__ import annotations

import json

import pytest
import torch

from gankit.config import load_config
from gankit.core.phase import lazy_ratio
from gankit.train.engine import Engine, train
from gankit.train.eval_hook import holds_out_val, selection_reference


def test_lazy_r1_is_its_own_phase_with_adjusted_optimizer(tiny_recipe, tmp_path):
    e = Engine(load_config(tiny_recipe, ["regularizers=[{name: r1, gamma: 10, every: 4}]"]), tmp_path / "r", hooks=[])
    names = [(p.name, p.every, p.lazy) for p in e.task.phases(e.clock)]
    assert names == [("D", 1, False), ("D_reg", 4, True), ("G", 1, False)]
    c = 4 / 5
    assert lazy_ratio(4) == pytest.approx(c)
    group = e.optimizers["d"].param_groups[0]
    assert group["lr"] == pytest.approx(2e-4 * c) and group["betas"] == pytest.approx((0.5**c, 0.999**c))
    assert e.optimizers["g"].param_groups[0]["lr"] == pytest.approx(2e-4)  # G's optimizer shares no lazy phase
    ran = []
    for step in range(9):
        out, totals = e.train_step(want=False)
        ran.append("D_reg" in totals)
        e.step += 1
    assert ran == [True, False, False, False, True, False, False, False, True]


def test_lazy_phase_gradient_is_the_penalty_times_the_interval(tiny_recipe, tmp_path):
    """D_reg backpropagates every * (gamma/2) E||grad D(x)||^2 on the step's real batch (StyleGAN2)."""
    from gankit.objectives.penalties import squared_grad_norm

    e = Engine(load_config(tiny_recipe, ["regularizers=[{name: r1, gamma: 10, every: 4}]"]), tmp_path / "r", hooks=[])
    d_phase, reg_phase, _ = e.task.phases(e.clock)
    from gankit.core.phase import PhaseContext

    batch = e.source.next_batch()
    out: dict = {}
    ctx = PhaseContext(e.clock, e.nets, e.raw, e.optimizers, e.device)
    D = e.raw["D"]
    before = [p.detach().clone() for p in D.parameters()]
    state = torch.get_rng_state()
    e._run_phase(reg_phase, ctx, batch, out, want=False)
    got = [torch.zeros_like(p) if p.grad is None else p.grad.clone() for p in D.parameters()]
    with torch.no_grad():
        for p, b in zip(D.parameters(), before):
            p.copy_(b)
    torch.set_rng_state(state)
    pen = 4 * 0.5 * 10 * squared_grad_norm(D, batch.x)
    want = torch.autograd.grad(pen, list(D.parameters()), allow_unused=True)
    want = [torch.zeros_like(p) if w is None else w for p, w in zip(D.parameters(), want)]
    assert any(w.abs().sum() > 0 for w in want)
    assert all(torch.allclose(g, w, rtol=1e-5, atol=1e-8) for g, w in zip(got, want))
    assert out["d_r1"].item() == pytest.approx((pen / 4).item(), rel=1e-5)  # logged unscaled


def test_time_budget_without_a_step_cap_and_schedules_as_fractions(tiny_recipe, tmp_path):
    over = ["train.max_steps=null", "train.max_minutes=0.03", "train.lr_decay=linear", "train.lr_decay_start=0.5",
            "log.log_every=1", "log.eval_every=100000", "log.ckpt_every=100000"]
    res = train(load_config(tiny_recipe, over), tmp_path / "t", hooks=[])
    assert res.status == "time_budget" and res.step > 1
    recs = [json.loads(x) for x in (tmp_path / "t" / "metrics.jsonl").read_text().splitlines()]
    train_recs = [r for r in recs if r["kind"] == "train"]
    for r in train_recs:  # lr = base * (1 - ramp from half the budget to its end), read from the logged progress
        expected = 2e-4 * (1.0 if r["progress"] <= 0.5 else max(0.0, 1 - (r["progress"] - 0.5) / 0.5))
        assert r["lr_g"] <= 2e-4 + 1e-12 and r["lr_g"] >= expected - 2e-4 * 0.2
    assert train_recs[0]["lr_g"] == pytest.approx(2e-4) and train_recs[-1]["lr_g"] < 2e-4


def test_a_time_budget_resumes_without_paying_for_the_final_evaluation(tiny_recipe, tmp_path, monkeypatch):
    """The final evaluation after the budget is not training time: a resumed run must not start already over it."""
    import time as _time

    from gankit.train.checkpoint import find_resume, load_checkpoint
    from gankit.train.engine import Engine

    real = Engine._evaluate

    def slow(self, logger):  # noqa: ANN001
        _time.sleep(2.5)  # far longer than the 1.2 s budget
        return real(self, logger)

    monkeypatch.setattr(Engine, "_evaluate", slow)
    over = ["train.max_steps=null", "train.max_minutes=0.02", "log.eval_every=100000", "log.ckpt_every=100000"]
    first = train(load_config(tiny_recipe, over), tmp_path / "t", hooks=[])
    saved = load_checkpoint(first.checkpoint).state["elapsed_s"]
    assert 1.2 <= saved < 2.5  # the budget, one step past it, not the 2.5 s final evaluation
    more = load_config(tiny_recipe, [*over[:1], "train.max_minutes=0.04", *over[2:]])
    second = train(more, tmp_path / "t", find_resume(tmp_path / "t"), hooks=[])
    assert second.step > first.step + 1


def test_a_recipe_needs_some_budget(tiny_recipe):
    from gankit.errors import ConfigError

    with pytest.raises(ConfigError, match="needs a budget"):
        load_config(tiny_recipe, ["train.max_steps=null"])


def test_best_checkpoint_is_selected_on_val_held_out_of_training(tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe)
    assert holds_out_val(cfg) and selection_reference(cfg) == "fashion-mnist:val"
    e = Engine(cfg, tmp_path / "v", hooks=[])
    assert e.source.num_items == 256 - 25  # the last tenth of this small set is val (5,000 of Fashion-MNIST's 60,000)
    for value in ("test", "off"):
        other = load_config(tiny_recipe, [f"eval.select_on={value}"])
        assert not holds_out_val(other) and Engine(other, tmp_path / value, hooks=[]).source.num_items == 256
    assert selection_reference(load_config(tiny_recipe, ["eval.select_on=test"])) == "fashion-mnist:test"
    res = train(load_config(tiny_recipe, ["eval.select_on=off"]), tmp_path / "off-run")
    assert not (tmp_path / "off-run" / "checkpoints" / "best").exists() and res.status == "finished"
