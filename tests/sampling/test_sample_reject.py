"""`gankit sample --reject drs|mh` and rejection_sample end to end on tiny trained runs, and their errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from gankit.cli import main
from gankit.config import load_config
from gankit.errors import ConfigError
from gankit.sampling import NoDiscriminator, load_critic, rejection_sample
from gankit.train.checkpoint import list_checkpoints
from gankit.train.engine import train

SMALL = ["train.max_minutes=null", "train.max_steps=4", "train.batch_size=8", "log.log_every=1", "log.eval_every=1000",
         "log.ckpt_every=1000", "log.progress=false", "log.tensorboard=false"]  # fmt: skip
CH = ["model.z_dim=8", "model.generator.base_channels=4", "model.discriminator.base_channels=4"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_idx):  # noqa: ANN201 - family -> run folder, trained on first use
    root, done = tmp_path_factory.mktemp("reject"), {}

    def get(family: str) -> Path:
        if family not in done:
            recipe, over = {
                "cgan": ("cgan_fashion_mnist", [f"data.root={tiny_idx}", *SMALL, *CH]),
                # 40 steps: G overlaps the data enough that D does not separate them (MH's chains can leave their real starts)
                "grid25": ("mlp_grid25_stable", ["data.n_points=512", "model.generator.hidden=32", "model.discriminator.hidden=32",
                                                 SMALL[0], "train.max_steps=40", "train.batch_size=64", *SMALL[3:], "train.n_critic=1"]),
                "stylegan2": ("stylegan2_fashion_mnist", [f"data.root={tiny_idx}", *SMALL, "model.z_dim=8",
                              "model.generator={name: stylegan2, w_dim: 8, mapping_layers: 1, max_channels: 8, min_channels: 4}",
                              "model.discriminator={name: stylegan2, max_channels: 8, min_channels: 4}", "task.pl_every=2",
                              "regularizers=[{name: r1, gamma: 0.1, every: 4}]"]),
                "pix2pix": ("pix2pix_edges2items", [f"data.root={tiny_idx}", *SMALL[:2], "train.batch_size=4", *SMALL[3:],
                                                    "model.generator.base_channels=4", "model.discriminator.base_channels=4"]),
            }[family]  # fmt: skip
            done[family] = train(load_config(f"configs/{recipe}.yaml", over), root / family, hooks=[]).run_dir
        return done[family]

    return get


def test_cli_drs_and_mh_on_a_tiny_run(tiny_recipe, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", str(tiny_recipe), "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["sample", str(run), "--n", "2500", "--reject", "drs", "--out", str(tmp_path / "s.npy")]) == 0
    out = capsys.readouterr().out
    assert "drs: acceptance rate" in out and "gamma" in out
    s = np.load(tmp_path / "s.npy")
    assert s.shape == (2500, 1, 28, 28) and s.dtype == np.uint8
    # A 20-step G is nearly constant: the calibrated D separates its samples from every real image, and MH,
    # whose chains start on real images, cannot leave them -- it says so rather than return real images.
    assert main(["sample", str(run), "--n", "40", "--reject", "mh", "--chain-length", "5", "--out", str(tmp_path / "m.npy")]) == 2
    err = capsys.readouterr().err
    assert "accepted none of 5 proposals" in err and "separates every held-out real sample" in err and "--reject drs" in err
    assert not (tmp_path / "m.npy").exists()
    # seeded: the same command gives the same samples; --gamma 0 is the exact rule and accepts less than -3
    a = rejection_sample(run, 64, "drs", seed=5, gamma=0.0, burn_in=1000)
    b = rejection_sample(run, 64, "drs", seed=5, gamma=0.0, burn_in=1000)
    assert torch.equal(a.samples, b.samples) and a.accepted == 64 and a.proposed >= 64
    assert "val split" in a.details["held_out"] and a.details["calibration"]["n_real"] == 25  # tiny val: 256 // 10
    rates = [rejection_sample(run, 200, "drs", seed=1, gamma=g, burn_in=1000).acceptance_rate for g in (-3.0, 0.0, 3.0)]
    assert rates[0] >= rates[1] >= rates[2] and rates[0] > rates[2], rates
    plain = rejection_sample(run, 64, "drs", seed=5, gamma=-1000.0, burn_in=100)  # a very negative gamma accepts everything
    assert plain.acceptance_rate == 1.0 and plain.proposed == 64


def test_2d_pacgan_run_rejects_whole_packs(runs, tmp_path, capsys):
    run = runs("grid25")
    r = rejection_sample(run, 101, "drs", seed=0, burn_in=2000, calibration_n=2000)
    assert r.samples.shape == (101, 2) and r.samples.dtype == torch.float32 and r.labels is None
    assert r.details["pack"] == 2 and r.proposed % 2 == 0 and r.accepted == 102  # 51 packs of 2
    assert "fresh draws from the grid25 mixture" in r.details["held_out"]
    m = rejection_sample(run, 30, "mh", seed=0, chain_length=4, calibration_n=500)
    assert m.samples.shape == (30, 2) and m.proposed == 4 * 30 + 4 * 2 * m.details["restarts"]
    assert main(["sample", str(run), "--n", "50", "--reject", "drs", "--out", str(tmp_path / "p.npy")]) == 0
    assert np.load(tmp_path / "p.npy").shape == (50, 2) and "acceptance rate" in capsys.readouterr().out


def test_conditional_run_keeps_the_requested_classes(runs, tmp_path):
    run = runs("cgan")
    r = rejection_sample(run, 12, "drs", classes=3, burn_in=200)
    assert r.labels.tolist() == [3] * 12 and r.samples.shape == (12, 1, 28, 28)
    per = [0, 1, 1, 2, 0, 2]
    m = rejection_sample(run, 6, "mh", classes=per, chain_length=30)
    assert m.labels.tolist() == per
    assert main(["sample", str(run), "--n", "8", "--class", "4", "--reject", "drs", "--out", str(tmp_path / "c.npy")]) == 0
    assert np.load(tmp_path / "c.labels.npy").tolist() == [4] * 8
    with pytest.raises(ConfigError, match="classes"):
        rejection_sample(run, 4, "drs", classes=10)


def test_a_d_that_reads_the_whole_batch_is_scored_in_training_batches(runs):
    run = runs("stylegan2")  # minibatch std
    gen, critic = load_critic(run)
    assert critic.batch_dependent and critic.chunk == 8
    r = rejection_sample(gen, 10, "drs", burn_in=64)
    assert r.samples.shape == (10, 1, 28, 28) and r.details["batch_dependent_D"]


def test_clear_errors(runs, tmp_path, capsys):
    export = tmp_path / "export"
    export.mkdir()
    (export / "signature.json").write_text("{}")
    assert main(["sample", str(export), "--n", "4", "--reject", "drs", "--out", str(tmp_path / "e.npy")]) == 2
    err = capsys.readouterr().err
    assert "exports carry the generator only, no discriminator" in err and "Traceback" not in err
    with pytest.raises(NoDiscriminator, match="export folder"):
        rejection_sample(export, 4)
    for argv in (["--reject", "nope"], ["--n", "0", "--reject", "drs"]):
        with pytest.raises(SystemExit) as e:
            main(["sample", str(export), *argv, "--out", str(tmp_path / "e.npy")])
        assert e.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err
    run = runs("grid25")
    for kw, msg in (({"n": 0}, "n: the number"), ({"n": -3}, "n: the number"), ({"method": "smc"}, "choose drs"),
                    ({"method": "mh", "gamma": 1.0}, "MH-GAN has none")):  # fmt: skip
        with pytest.raises(ConfigError, match=msg):
            rejection_sample(run, **({"n": 4} | kw))
    assert main(["sample", str(run), "--n", "4", "--gamma", "1", "--out", str(tmp_path / "g.npy")]) == 2
    assert "add --reject drs" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="maps images to images"):
        load_critic(runs("pix2pix"))


def test_a_checkpoint_without_d_says_so(runs, tmp_path):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(list_checkpoints(runs("grid25") / "checkpoints")[-1], ckpt)
    (ckpt / "D.safetensors").unlink()
    state = json.loads((ckpt / "state.json").read_text())
    state["files"].pop("D.safetensors")
    (ckpt / "state.json").write_text(json.dumps(state))
    with pytest.raises(NoDiscriminator, match="no D.safetensors"):
        rejection_sample(ckpt, 4)
