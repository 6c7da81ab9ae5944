"""ProGAN: the growth schedule, fade-in at its ends, images at the final size, exact resume mid-fade."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.config import load_config
from gankit.errors import ConfigError
from gankit.models import build_discriminator, build_generator
from gankit.tasks import build_task
from gankit.tasks.gan import GAN
from gankit.tasks.progan import Schedule, Stage, growth
from gankit.train.checkpoint import load_checkpoint
from gankit.train.engine import Engine, train

TINY = ["task={name: progan, stage_images: 32, fade_images: 32}", "model.z_dim=8",
        "model.generator={name: progan, max_channels: 8, min_channels: 4}",
        "model.discriminator={name: progan, max_channels: 8, min_channels: 4}", "train.batch_size=8"]  # fmt: skip


def test_growth_schedule():
    assert growth(0, 2, 100, 50) == (0, 1.0) and growth(99, 2, 100, 50) == (0, 1.0)
    assert growth(100, 2, 100, 50) == (1, 0.0) and growth(125, 2, 100, 50) == (1, 0.5)
    assert growth(150, 2, 100, 50) == (1, 1.0) and growth(249, 2, 100, 50) == (1, 1.0)
    assert growth(250, 2, 100, 50) == (2, 0.0) and growth(275, 2, 100, 50) == (2, 0.5) and growth(10**9, 2, 100, 50) == (2, 1.0)
    assert growth(10**6, 0, 100, 50) == (0, 1.0)


def test_stages_with_their_own_batch_sizes():
    # 7x7 at batch 8 for 32 images (4 steps); fade to 14 over 8 images at batch 4 (2 steps), 16 more (4 steps);
    # fade to 28 at batch 2 (4 steps); then 28 at batch 2 until the budget ends.
    sched = Schedule([Stage(7, 8, 32), Stage(14, 4, 16), Stage(28, 2, 0)], fade_images=8)
    got = [sched.at(step) for step in range(16)]
    want = [(0, 1.0, 8)] * 4 + [(1, 0.0, 4), (1, 0.5, 4)] + [(1, 1.0, 4)] * 4
    want += [(2, 0.0, 2), (2, 0.25, 2), (2, 0.5, 2), (2, 0.75, 2), (2, 1.0, 2), (2, 1.0, 2)]
    assert got == want


def test_equal_stages_follow_the_image_count_schedule():
    sched = Schedule([Stage(7, 8, 64), Stage(14, 8, 64), Stage(28, 8, 64)], fade_images=32)
    for step in range(60):
        assert sched.at(step)[:2] == growth(step * 8, 2, 64, 32)


def test_each_stage_trains_on_its_batch(tiny_recipe, tmp_path, monkeypatch):
    seen: list[tuple[int, int]] = []
    real_d = GAN._d_loss

    def spy(self, ctx, batch):  # noqa: ANN001
        seen.append((ctx.step, len(batch)))
        return real_d(self, ctx, batch)

    monkeypatch.setattr(GAN, "_d_loss", spy)
    stages = "[{resolution: 7, batch_size: 8, images: 16}, {resolution: 14, batch_size: 4, images: 8}, {batch_size: 2}]"
    over = TINY + [f"task={{name: progan, fade_images: 8, stages: {stages}}}", "train.n_critic=1", "train.max_steps=12"]
    res = train(load_config(tiny_recipe, over), tmp_path / "r", hooks=[])
    assert [b for _, b in seen] == [8, 8] + [4] * 4 + [2] * 6  # 16/8 steps, (8 + 8)/4, then batch 2
    g = load_checkpoint(res.checkpoint).weights("G")
    assert int(g["stage"]) == 2 and float(g["alpha"]) == 1.0  # the 28 fade (4 steps at 2) ended at step 10


@pytest.mark.parametrize("stages, match", [
    ("[{batch_size: 16}, {}, {}]", r"stages\[0\].batch_size: from 1 to train.batch_size \(8"),
    ("[{resolution: 8}, {}, {}]", r"stages\[0\].resolution: the networks grow through \[7, 14, 28\]"),
    ("[{batch: 4}, {}, {}]", r"unknown key\(s\) batch; valid: resolution, batch_size, images"),
    ("[{}, {}]", "one entry per resolution"),
])  # fmt: skip
def test_bad_stages_are_named(tiny_recipe, stages, match):
    with pytest.raises(ConfigError, match=match):
        build_task(load_config(tiny_recipe, TINY + [f"task={{name: progan, stages: {stages}}}"]), (1, 28, 28))


def test_every_stage_gives_final_size_and_fade_ends_match():
    torch.manual_seed(0)
    g = build_generator("progan", {"max_channels": 8, "min_channels": 4}, 8, (1, 28, 28))
    d = build_discriminator("progan", {"max_channels": 8, "min_channels": 4}, (1, 28, 28))
    z = torch.randn(4, 8)
    for stage in range(3):
        g.set_growth(stage, 1.0)
        d.set_growth(stage, 1.0)
        x = g(z)
        assert x.shape == (4, 1, 28, 28) and d(x).shape == (4,)
        side = 7 * 2**stage  # nearest upsampling: constant blocks of 28/side pixels
        assert torch.allclose(x, F.interpolate(F.adaptive_avg_pool2d(x, side), size=28, mode="nearest"), atol=1e-6)
    g.set_growth(1, 1.0)
    full = g(z)
    g.set_growth(2, 0.0)
    assert torch.allclose(g(z), full, atol=1e-6)  # alpha 0: still the previous stage's image
    d.set_growth(1, 1.0)
    s_prev = d(full)
    d.set_growth(2, 0.0)
    assert torch.allclose(d(full), s_prev, atol=1e-5)  # D too: the new block has no say yet


def test_resume_mid_fade_is_exact(tiny_recipe, tmp_path):
    over = TINY + ["log.ckpt_every=1000", "train.n_critic=1"]
    straight = train(load_config(tiny_recipe, over + ["train.max_steps=14"]), tmp_path / "a", hooks=[]).checkpoint
    half = train(load_config(tiny_recipe, over + ["train.max_steps=6"]), tmp_path / "b", hooks=[]).checkpoint  # step 5 ran at 40 images: fading
    w = load_checkpoint(half).weights("G")
    assert int(w["stage"]) == 1 and 0 < float(w["alpha"]) < 1
    resumed = Engine(load_config(tiny_recipe, over + ["train.max_steps=14"]), tmp_path / "b", half, hooks=[]).fit().checkpoint
    a, b = load_checkpoint(straight).weights("G"), load_checkpoint(resumed).weights("G")
    assert all(torch.equal(a[k], b[k]) for k in a) and int(a["stage"]) == 2
    g = gankit.load(tmp_path / "b")
    assert g.sample(3, seed=0).shape == (3, 1, 28, 28)


def test_other_networks_are_refused(tiny_recipe):
    with pytest.raises(ConfigError, match="task progan grows the progan networks"):
        build_task(load_config(tiny_recipe, ["task=progan"]), (1, 28, 28))
