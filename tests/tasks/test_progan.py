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
from gankit.tasks.progan import growth
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
