"""Latent tools: interpolation ends at the seeds, truncation's limits, style mixing copies exactly the chosen layers."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

import gankit
from gankit.cli import main
from gankit.errors import ConfigError
from gankit.latent import tools


@pytest.mark.parametrize("kind,space", [("style", "z"), ("style", "w"), ("dcgan", "z")])
def test_interpolation_starts_and_ends_at_the_seeds(runs, kind, space):
    g = runs[kind]
    frames = tools.interpolate(g, 3, 7, 5, space)
    assert frames.shape == (5, 1, 28, 28)
    assert torch.equal(frames[0], g.sample(1, seed=3)[0]) and torch.equal(frames[-1], g.sample(1, seed=7)[0])
    assert not torch.equal(frames[2], frames[0])


def test_interpolation_in_w_needs_a_style_based_g(runs):
    with pytest.raises(ConfigError, match="style-based generator"):
        tools.interpolate(runs["dcgan"], 0, 1, 4, "w")


@pytest.mark.parametrize("kind", ["style", "dcgan"])
def test_truncation_one_is_the_sample_and_zero_is_one_image(runs, kind):
    g = runs[kind]
    grid = tools.truncation_grid(g, [1, 2], [1.0, 0.0])
    assert torch.equal(grid[0], g.sample(1, seed=1)[0]) and torch.equal(grid[2], g.sample(1, seed=2)[0])
    assert torch.equal(grid[1], grid[3])  # psi = 0: the average (w_avg, or z = 0), whatever the seed


def test_style_mixing_copies_exactly_the_chosen_layers(runs):
    g = runs["style"]
    m = g.module
    all_layers = f"0-{m.num_ws - 1}"
    cells = tools.style_mix(g, [1, 2], [5, 6, 7], all_layers)
    assert cells.shape[0] == (1 + 2) * (1 + 3)
    cols = cells[1:4]
    assert torch.equal(cells[5:8], cols) and torch.equal(cells[9:12], cols)  # every layer from the column: its image
    fine = tools.style_mix(g, [1], [5], "fine")
    assert not torch.equal(fine[3], fine[1]) and fine[2].shape == fine[3].shape
    with pytest.raises(ConfigError, match="indices 0..5"):
        tools.parse_layers("0-9", m.layer_groups(), m.num_ws)
    with pytest.raises(ConfigError, match="coarse, middle, fine"):
        tools.parse_layers("texture", m.layer_groups(), m.num_ws)
    with pytest.raises(ConfigError, match="style mixing needs a style-based generator"):
        tools.style_mix(runs["dcgan"], [1], [2])


def test_cli_writes_an_animation_and_grids(runs, tmp_path):
    run = str(runs["style"].path.parent.parent)
    assert main(["latent", "interpolate", run, "--from", "1", "--to", "2", "--steps", "6", "--space", "w", "--out", str(tmp_path / "a.gif")]) == 0
    gif = Image.open(tmp_path / "a.gif")
    assert gif.n_frames == 6
    assert main(["latent", "truncation", run, "--seeds", "0,1", "--psi", "1,0.5,0", "--out", str(tmp_path / "t.png")]) == 0
    assert main(["latent", "style-mix", run, "--rows", "0,1", "--cols", "2,3", "--layers", "coarse", "--out", str(tmp_path / "m.png")]) == 0
    assert Image.open(tmp_path / "m.png").size[0] > 3 * 28


@pytest.mark.parametrize("kind", ["style", "dcgan"])
def test_projecting_a_sample_of_g_itself_recovers_it(runs, kind, tmp_path):
    from gankit.latent.projection import project

    g = runs[kind]
    target = g.generate(g.noise(1, seed=5))
    other = g.generate(g.noise(1, seed=6))
    baseline = float(((other.clamp(-1, 1) - target.clamp(-1, 1)) / 2).square().mean().sqrt())  # another sample of G
    p = project(g, target, steps=300)
    assert p.error < 0.1 * baseline, (p.error, baseline)
    assert p.space == ("w" if kind == "style" else "z") and len(p.history) == 8


def test_project_cli_writes_its_outputs(runs, tmp_path):
    import json

    from gankit.utils.images import save_png

    g = runs["style"]
    save_png(g.sample(1, seed=3)[0, 0].numpy(), tmp_path / "img.png")
    run = str(g.path.parent.parent)
    assert main(["latent", "project", run, "--image", str(tmp_path / "img.png"), "--steps", "20", "--out", str(tmp_path / "p")]) == 0
    rep = json.loads((tmp_path / "p" / "report.json").read_text())
    assert rep["space"] == "w" and 0 <= rep["rms_error_0_1"] < 1
    assert all((tmp_path / "p" / f).is_file() for f in ("reconstruction.png", "progress.png", "latent.safetensors"))


def test_pca_direction_is_the_top_principal_axis_of_w(runs):
    from gankit.latent.directions import pca_direction

    g = runs["style"]
    d = pca_direction(g, 0, n=3000)
    w = g.module.mapping(g.noise(3000, seed=0)).detach()
    wc = w - w.mean(0)
    var_along = float((wc @ (d / d.norm())).var())
    assert abs(var_along ** 0.5 - float(d.norm())) < 1e-3 * float(d.norm()) + 1e-6  # scaled by its own std
    rand = torch.randn_like(d)
    assert var_along >= float((wc @ (rand / rand.norm())).var())  # no direction has more variance
    with pytest.raises(ConfigError, match="style-based"):
        pca_direction(runs["dcgan"], 0)


def test_edit_grid_and_cli(runs, tmp_path):
    from safetensors.torch import save_file

    from gankit.latent.directions import edit_grid, load_direction

    g = runs["style"]
    d = load_direction(g, "pca:1")
    grid = edit_grid(g, d, [4, 5], 2.0, steps=5)
    assert grid.shape[0] == 10 and torch.equal(grid[2], g.sample(1, seed=4)[0])  # the middle column is the seed itself
    save_file({"direction": torch.ones(8)}, str(tmp_path / "d.safetensors"))
    run = str(g.path.parent.parent)
    assert main(["latent", "edit", run, "--direction", str(tmp_path / "d.safetensors"), "--seeds", "1,2", "--out", str(tmp_path / "e.png")]) == 0
    save_file({"direction": torch.ones(3)}, str(tmp_path / "bad.safetensors"))
    assert main(["latent", "edit", run, "--direction", str(tmp_path / "bad.safetensors"), "--out", str(tmp_path / "f.png")]) == 2
    assert main(["latent", "edit", run, "--direction", "texture:3", "--out", str(tmp_path / "f.png")]) == 2
    assert not (tmp_path / "f.png").exists()


def test_class_direction_points_towards_the_class(runs, monkeypatch):
    """A stand-in classifier calls an image class 0 when it is brighter than the median of G's samples:
    the probe's direction must make images brighter."""
    from gankit.latent import directions

    g = runs["style"]
    imgs = directions._render(g, directions._latents(g, 2000, 0)[0])
    median = float(imgs.mean(dim=(1, 2, 3)).median())

    class Bright(torch.nn.Module):
        def forward(self, x):
            m = x.mean(dim=(1, 2, 3)) - (median + 1) / 2
            return torch.stack([m] + [-m] * 9, dim=1)

    import gankit.metrics.extractors.fmnist as fm

    monkeypatch.setattr(fm, "load_fmnist_net", lambda weights=None: (Bright(), "fake"))
    d = directions.class_direction(g, 0, n=2000)
    grid = directions.edit_grid(g, d, [7, 8, 9], 2.0, steps=3).float()
    brightness = grid.reshape(3, 3, -1).mean(-1)
    assert (brightness[:, 2] > brightness[:, 0]).all()
