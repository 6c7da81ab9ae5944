import json
import math

import pytest
import torch
from PIL import Image

from gankit.config import load_config
from gankit.errors import CheckpointError, TrainingDiverged
from gankit.objectives import LOSSES
from gankit.objectives.losses.nonsaturating import NonSaturating
from gankit.train.checkpoint import list_checkpoints, load_checkpoint
from gankit.train.engine import Engine, train


def _weights(ckpt):
    return load_checkpoint(ckpt).weights("G") | {f"D.{k}": v for k, v in load_checkpoint(ckpt).weights("D").items()}


def test_smoke_run_writes_grid_checkpoint_and_finite_metrics(tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe)
    res = train(cfg, tmp_path / "run")
    assert res.step == 20 and res.status == "finished"
    assert [p.name for p in list_checkpoints(tmp_path / "run" / "checkpoints")] == ["step-000010", "step-000020"]
    img = Image.open(res.grid)
    assert img.size[0] > 28 * 4  # a grid, not one image
    recs = [json.loads(x) for x in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    train_recs = [r for r in recs if r["kind"] == "train"]
    assert [r["step"] for r in train_recs] == [1, 5, 10, 15, 20]
    for r in train_recs:
        for key in ("d_loss", "g_loss", "d_real", "d_fake", "acc_real", "acc_fake", "grad_norm_d", "grad_norm_g", "img_per_s"):
            assert math.isfinite(r[key]), key
        assert 0 <= r["acc_real"] <= 1 and 0 <= r["d_real"] <= 1
    assert (tmp_path / "run" / "config.yaml").is_file()
    assert any((tmp_path / "run" / "tb").iterdir())


def test_same_seed_same_weights(tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe, ["train.max_steps=6"])
    a = train(cfg, tmp_path / "a").checkpoint
    b = train(cfg, tmp_path / "b").checkpoint
    wa, wb = _weights(a), _weights(b)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    c = train(load_config(tiny_recipe, ["train.max_steps=6", "seed=1"]), tmp_path / "c").checkpoint
    assert not torch.equal(_weights(c)["net.0.weight"], wa["net.0.weight"])


@pytest.mark.parametrize("loss", ["nonsaturating", "wgan_gp"])
def test_resume_is_exact(tiny_recipe, tmp_path, loss):
    """10 steps straight == 5 steps, a new process-like Engine resuming, 5 more steps."""
    over = [f"loss.name={loss}", "log.ckpt_every=1000"]
    straight = train(load_config(tiny_recipe, over + ["train.max_steps=10"]), tmp_path / "straight").checkpoint
    half = train(load_config(tiny_recipe, over + ["train.max_steps=5"]), tmp_path / "split").checkpoint
    assert half.name == "step-000005"
    t = Engine(load_config(tiny_recipe, over + ["train.max_steps=10"]), tmp_path / "split", resume_from=half)
    assert t.step == 5
    resumed = t.fit().checkpoint
    ws, wr = _weights(straight), _weights(resumed)
    assert ws.keys() == wr.keys()
    for k in ws:
        assert torch.equal(ws[k], wr[k]), k
    # the optimizer state continued too (Adam's step counter)
    st = load_checkpoint(resumed).state["optimizers"]["g"]["state"]
    assert int(next(iter(st.values()))["step"]) == 10
    steps = [json.loads(x)["step"] for x in (tmp_path / "split" / "metrics.jsonl").read_text().splitlines() if '"train"' in x]
    assert steps == sorted(set(steps))  # no duplicated records after resume


def test_resume_mid_schedule_is_exact(tiny_recipe, tmp_path):
    """A run killed after its step-4 checkpoint continues on the same LR decay schedule."""
    import shutil

    cfg = load_config(tiny_recipe, ["train.max_steps=8", "log.ckpt_every=4", "train.lr_decay=linear", "train.grad_clip=1.0"])
    straight = train(cfg, tmp_path / "straight").checkpoint
    (tmp_path / "crashed" / "checkpoints").mkdir(parents=True)
    shutil.copytree(tmp_path / "straight" / "checkpoints" / "step-000004", tmp_path / "crashed" / "checkpoints" / "step-000004")
    resumed = Engine(cfg, tmp_path / "crashed", resume_from=tmp_path / "crashed" / "checkpoints" / "step-000004").fit().checkpoint
    ws, wr = _weights(straight), _weights(resumed)
    assert all(torch.equal(ws[k], wr[k]) for k in ws)
    assert load_checkpoint(resumed).state["optimizers"]["g"]["param_groups"][0]["lr"] == pytest.approx(2e-4 * (1 - 7 / 8))


def test_keep_last_k(tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe, ["train.max_steps=8", "log.ckpt_every=2", "log.keep_last=2"])
    train(cfg, tmp_path / "r")
    assert [p.name for p in list_checkpoints(tmp_path / "r" / "checkpoints")] == ["step-000006", "step-000008"]


class _NaNAfter(NonSaturating):
    calls = 0

    def g_loss(self, fake):
        type(self).calls += 1
        loss = super().g_loss(fake)
        return loss * float("nan") if type(self).calls > 7 else loss


LOSSES.register("test_nan_after_7")(_NaNAfter)


def test_nan_stops_with_step_and_keeps_last_good_checkpoint(tiny_recipe, tmp_path):
    cfg = load_config(tiny_recipe, ["loss.name=test_nan_after_7", "log.ckpt_every=5"])
    with pytest.raises(TrainingDiverged, match=r"step 8.*G loss = nan"):
        train(cfg, tmp_path / "r")
    ckpts = list_checkpoints(tmp_path / "r" / "checkpoints")
    assert [p.name for p in ckpts] == ["step-000005"]
    w = load_checkpoint(ckpts[0]).weights("G")
    assert all(torch.isfinite(v.float()).all() for v in w.values())


def test_resume_with_other_networks_is_a_clear_error(tiny_recipe, tmp_path):
    ck = train(load_config(tiny_recipe, ["train.max_steps=2"]), tmp_path / "r").checkpoint
    other = load_config(tiny_recipe, ["model.generator.base_channels=8"])
    with pytest.raises(CheckpointError, match="does not fit"):
        Engine(other, tmp_path / "r", resume_from=ck)


def test_vector_data_run_writes_scatter(tmp_path):
    from gankit.config import validate

    cfg = validate(
        {
            "name": "ring",
            "data": {"name": "ring8", "n_points": 512},
            "model": {"z_dim": 4, "generator": {"name": "mlp", "hidden": 16}, "discriminator": {"name": "mlp", "hidden": 16}},
            "train": {"batch_size": 64, "max_steps": 4},
            "log": {"progress": False, "eval_every": 4},
        }
    )
    res = train(cfg, tmp_path / "ring")
    assert res.grid.is_file() and Image.open(res.grid).size[0] >= 200


def test_progress_bar_to_a_log_file_is_not_redrawn_every_step(tiny_recipe, tmp_path, capfd):
    """A non-terminal stderr (a log file, CI) gets a handful of bar lines, not one per step or log."""
    cfg = load_config(tiny_recipe, ["log.progress=true", "log.log_every=1", "train.max_steps=40"])
    train(cfg, tmp_path / "run")
    bar_lines = [x for x in capfd.readouterr().err.replace("\r", "\n").splitlines() if "step/s" in x or "/40" in x]
    assert 1 <= len(bar_lines) <= 4, bar_lines


def test_weights_do_not_depend_on_a_warm_evaluation_cache(tiny_recipe, tmp_path, monkeypatch):
    """Reference statistics computed on a cold cache used to draw from training's RNG: the first run
    of a recipe trained differently from the second. Hooks now run on a forked RNG."""
    over = ["train.max_steps=6", "log.eval_every=3", "log.ckpt_every=1000"]
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cold-cache"))
    cold = train(load_config(tiny_recipe, over), tmp_path / "cold").checkpoint
    warm = train(load_config(tiny_recipe, over), tmp_path / "warm").checkpoint  # same cache, now warm
    assert any((tmp_path / "cold-cache").rglob("*.npz")) or any((tmp_path / "cold-cache").rglob("*"))
    wc, ww = _weights(cold), _weights(warm)
    assert all(torch.equal(wc[k], ww[k]) for k in wc)
