"""Pix2Pix and CycleGAN: their loss terms against hand computations, the L1-only baseline, exact resume
(CycleGAN's pools included), and `gankit.load(...).translate` in both directions."""

from __future__ import annotations

import pytest
import torch

import gankit
from gankit.config import load_config
from gankit.core.batch import Batch
from gankit.core.clock import Clock
from gankit.core.phase import PhaseContext
from gankit.errors import ConfigError
from gankit.tasks import build_task
from gankit.train.checkpoint import load_checkpoint
from gankit.train.engine import Engine, train

SMALL = ["train.max_minutes=null", "train.max_steps=2", "train.batch_size=4", "log.log_every=1", "log.eval_every=1000", "log.ckpt_every=1000",
         "log.progress=false", "log.tensorboard=false", "model.generator.base_channels=4", "model.discriminator.base_channels=4"]  # fmt: skip


def _cfg(name: str, root, *extra: str):  # noqa: ANN001
    return load_config(f"configs/{name}.yaml", [f"data.root={root}", *SMALL, *extra])


def _ctx(task, nets) -> PhaseContext:  # noqa: ANN001
    return PhaseContext(Clock(0, 0.0), nets, nets, {}, torch.device("cpu"))


def test_pix2pix_terms_are_the_papers(tiny_idx):
    cfg = _cfg("pix2pix_edges2items", tiny_idx, "train.max_steps=1")
    task = build_task(cfg, (1, 28, 28))
    nets = task.build()
    assert set(nets) == {"G", "D"} and [p.name for p in task.phases(Clock(0, 0.0))] == ["D", "G"]
    torch.manual_seed(0)
    a, b = torch.rand(2, 1, 28, 28) * 2 - 1, torch.rand(2, 1, 28, 28) * 2 - 1
    for m in nets.values():
        m.eval()  # no dropout / batch statistics: G(a) is the same on every call
    terms = task._g_loss(_ctx(task, nets), Batch(a=a, b=b))
    fake = nets["G"](a)
    scores = nets["D"](torch.cat([a, fake], 1)).flatten(1)
    assert torch.allclose(terms["l1"], 100 * (fake - b).abs().mean())
    assert torch.allclose(terms["loss"], torch.nn.functional.softplus(-scores).mean())  # non-saturating on every patch
    l1_only = build_task(_cfg("pix2pix_edges2items", tiny_idx, "task.gan_weight=0"), (1, 28, 28))
    assert set(l1_only.build()) == {"G"} and [p.name for p in l1_only.phases(Clock(0, 0.0))] == ["G"]


def test_cyclegan_terms_are_the_papers(tiny_idx):
    task = build_task(_cfg("cyclegan_sandal2sneaker", tiny_idx), (1, 28, 28))
    nets = task.build()
    assert set(nets) == {"G_AB", "G_BA", "D_A", "D_B"}
    for m in nets.values():
        m.eval()
    torch.manual_seed(1)
    a, b = torch.rand(3, 1, 28, 28) * 2 - 1, torch.rand(3, 1, 28, 28) * 2 - 1
    terms = task._g_loss(_ctx(task, nets), Batch(a=a, b=b))
    G, F, DA, DB = nets["G_AB"], nets["G_BA"], nets["D_A"], nets["D_B"]
    fb, fa = G(a), F(b)
    adv = (DB(fb) - 1).pow(2).mean() + (DA(fa) - 1).pow(2).mean()  # gan_weight 2 x lsgan's (1/2)(D - 1)^2
    assert torch.allclose(terms["loss"], adv, rtol=1e-5)
    assert torch.allclose(terms["cycle"], 10 * ((F(fb) - a).abs().mean() + (G(fa) - b).abs().mean()), rtol=1e-5)
    assert torch.allclose(terms["identity"], 5 * ((F(a) - a).abs().mean() + (G(b) - b).abs().mean()), rtol=1e-5)


def test_identity_needs_equal_channels(tiny_idx):
    with pytest.raises(ConfigError, match="same channels"):
        build_task(_cfg("cyclegan_sandal2sneaker", tiny_idx, "data.channels_b=3"), (3, 28, 28))
    with pytest.raises(ConfigError, match="unpaired"):
        build_task(load_config("configs/cyclegan_sandal2sneaker.yaml", [f"data.root={tiny_idx}", "data.name=fmnist-edges2items"]), (1, 28, 28))


def test_cyclegan_resume_is_bit_exact_pools_included(tiny_idx, tmp_path):
    import os
    import signal

    from gankit.core.hooks import Hook

    class StopAt(Hook):  # Ctrl-C after step 3 of 6: mid-schedule (the lr decays from step 3), pools full
        def on_log(self, run, step, values):  # noqa: ANN001
            if step == 3:
                os.kill(os.getpid(), signal.SIGINT)

    cfg = _cfg("cyclegan_sandal2sneaker", tiny_idx, "task.pool_size=3", "train.lr_decay=linear", "train.lr_decay_start=0.5", "train.max_steps=6")
    straight = train(cfg, tmp_path / "a", hooks=[]).checkpoint
    half = train(cfg, tmp_path / "b", hooks=[StopAt()])
    assert half.status == "interrupted" and 3 <= half.step < 6  # it stops at the next step boundary
    resumed = Engine(cfg, tmp_path / "b", half.checkpoint, hooks=[]).fit().checkpoint
    x, y = load_checkpoint(straight), load_checkpoint(resumed)
    for net in ("G_AB", "G_BA", "D_A", "D_B"):
        wa, wb = x.weights(net), y.weights(net)
        assert all(torch.equal(wa[k], wb[k]) for k in wa), net
    pa, pb = x.state["task_state"]["pools"], y.state["task_state"]["pools"]
    assert pa["A"]["count"] == pb["A"]["count"] == 3 and torch.equal(torch.as_tensor(pa["B"]["images"]), torch.as_tensor(pb["B"]["images"]))


def test_translate_both_directions_and_shapes(tiny_idx, tmp_path):
    run = train(_cfg("cyclegan_sandal2sneaker", tiny_idx, "train.max_steps=2"), tmp_path / "c", hooks=[]).run_dir
    ab, ba = gankit.load(run), gankit.load(run, direction="BtoA")
    assert (ab.weights, ba.weights) == ("G_AB", "G_BA") and ab.is_translator
    x = torch.randint(0, 256, (5, 1, 28, 28), dtype=torch.uint8)
    out = ab.translate(x)
    assert out.dtype == torch.uint8 and out.shape == (5, 1, 28, 28)
    assert torch.equal(out, ab.translate(x.float() / 127.5 - 1))  # uint8 and float inputs are the same images
    with pytest.raises(ConfigError, match="1-channel"):
        ab.translate(torch.zeros(2, 3, 28, 28, dtype=torch.uint8))
    with pytest.raises(ConfigError, match="use translate"):
        ab.sample(2)  # a translator takes images, not noise
