"""psi truncation at sampling and the truncation sweep: limits derived by hand, files written, errors named."""

from __future__ import annotations

import json

import pytest
import torch

import gankit
from gankit.errors import ConfigError, GankitError
from gankit.metrics.truncation_sweep import truncation_sweep


def test_psi_truncates_in_w_for_a_style_g(runs):
    gen = runs["style"]
    G = gen.module.eval()
    z = gen.noise(4, seed=3)
    with torch.no_grad():
        w = G.mapping(z)
        want = G.synthesis((G.mapping.w_avg + 0.6 * (w - G.mapping.w_avg))[:, None].expand(-1, G.num_ws, -1))
        avg = G.synthesis(G.mapping.w_avg.expand(1, G.num_ws, -1).clone())
    assert torch.allclose(gen.generate(z, psi=0.6), want, atol=1e-5)
    every = gen.generate(z, psi=0.0)
    assert torch.allclose(every, avg.expand_as(every), atol=1e-5)  # psi 0: every sample is w_avg's image
    assert torch.equal(gen.generate(z, psi=1.0), gen.generate(z))


def test_psi_scales_z_for_a_g_without_mapping(runs):
    gen = runs["dcgan"]
    z = gen.noise(4, seed=3)
    assert torch.allclose(gen.generate(z, psi=0.5), gen.generate(z * 0.5))
    with pytest.raises(ConfigError, match="psi: from 0"):
        gen.generate(z, psi=1.5)


@pytest.mark.parametrize("kind", ["style", "dcgan"])
def test_sweep_rows_files_and_the_limit_at_psi_0(runs, kind, tiny_idx, tmp_path):
    sweep = truncation_sweep(runs[kind], [1.0, 0.5, 0.0], n=48, ref="fashion-mnist:test", data_root=str(tiny_idx), out_dir=tmp_path)
    assert [r["psi"] for r in sweep.rows] == [1.0, 0.5, 0.0]
    assert all(0 <= r["precision"] <= 1 and 0 <= r["recall"] <= 1 and r["fid"] >= 0 for r in sweep.rows)
    # psi 0 maps every latent to one image: its k-NN ball is a point, so it covers no more real images than psi 1
    assert sweep.rows[2]["recall"] <= sweep.rows[0]["recall"]
    saved = json.loads((tmp_path / "truncation_sweep.json").read_text())
    assert saved["rows"] == sweep.rows and ("in w" if kind == "style" else "in z") in saved["protocol"]
    table = (tmp_path / "truncation_sweep.md").read_text()
    assert table.count("\n| ") == 3 and "| psi | FID" in table
    assert (tmp_path / "truncation_sweep.png").stat().st_size > 1000
    assert sweep.best()["fid"] == min(r["fid"] for r in sweep.rows)


def test_sweep_refuses_psi_outside_0_1(runs):
    with pytest.raises(GankitError, match="psi values from 0 to 1"):
        truncation_sweep(runs["dcgan"], [1.2])


def test_cli_sweep_and_psi_sampling(runs, tmp_path, capsys):
    from gankit.cli import main

    run = runs["style"].path.parent.parent
    assert main(["eval", str(run), "--truncation-sweep", "1,0.5", "--n", "40", "--out", str(tmp_path / "sw")]) == 0
    out = capsys.readouterr().out
    assert "| psi | FID" in out and "lowest FID at psi" in out and (tmp_path / "sw" / "truncation_sweep.png").exists()
    assert main(["sample", str(run), "--n", "4", "--psi", "0", "--out", str(tmp_path / "s.npy")]) == 0
    import numpy as np

    x = np.load(tmp_path / "s.npy")
    assert (x == x[:1]).all()  # psi 0: every sample is w_avg's image
    with pytest.raises(SystemExit) as e:
        main(["eval", str(run), "--truncation-sweep", "1,1.5"])
    assert e.value.code == 2
    assert main(["eval", str(tmp_path / "s.npy"), "--truncation-sweep", "1"]) == 2  # not a run: a clear error


def test_psi_is_refused_where_it_cannot_act(tmp_path, tiny_idx):
    from gankit.config import load_config
    from gankit.inference import load
    from gankit.train.engine import train

    import yaml

    recipe = {"name": "p", "data": {"name": "fashion-mnist", "root": str(tiny_idx)}, "task": {"name": "progan", "stage_images": 8, "fade_images": 8},
              "model": {"z_dim": 8, "generator": {"name": "progan", "max_channels": 8, "min_channels": 4},
                        "discriminator": {"name": "progan", "max_channels": 8, "min_channels": 4}},
              "loss": {"name": "wgan_gp"}, "train": {"batch_size": 8, "max_steps": 2, "n_critic": 1},
              "log": {"progress": False, "tensorboard": False}}  # fmt: skip
    (tmp_path / "p.yaml").write_text(yaml.safe_dump(recipe))
    gen = load(train(load_config(tmp_path / "p.yaml"), tmp_path / "run", hooks=[]).run_dir)
    z = gen.noise(3, seed=1)
    assert torch.allclose(gen.generate(z * 0.5), gen.generate(z), atol=1e-5)  # why: pixel norm undoes the scale
    with pytest.raises(ConfigError, match="pixel-normalises z"):
        gen.generate(z, psi=0.5)
    from gankit.latent import tools

    with pytest.raises(ConfigError, match="pixel-normalises z"):
        tools.truncation_grid(gen, [0, 1], [1.0, 0.5])
