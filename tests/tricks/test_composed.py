"""Remedies together, in the real loop: finite losses and exact resume."""

import json
import math

import pytest
import torch

from gankit.config import load_config
from gankit.train.checkpoint import load_checkpoint
from gankit.train.engine import Engine, train

STABLE = (
    "regularizers=[{name: spectral_norm}, {name: r1, gamma: 1.0, every: 2}, {name: diffaugment}, {name: ema, decay: 0.9},"
    " {name: instance_noise, sigma: 0.1, until: 20}, {name: one_sided_label_smoothing}]"
)
COMMON = ["model.discriminator.norm=none", "log.ckpt_every=1000", "log.eval_every=1000", "log.log_every=1", "log.tensorboard=false"]


def _weights(ckpt, names=("G", "D")):
    """Every network file, the trick tensors kept in the task state (historical means), D's and G's optimizer tensors."""
    ck = load_checkpoint(ckpt)
    out = {f"{n}.{k}": v for n in names for k, v in ck.weights(n).items()}
    for i, t in enumerate(ck.state["task_state"]["tricks"]):
        for group, tensors in t["weights"].items():
            out |= {f"trick{i}.{group}.{k}": v for k, v in tensors.items()}
    for name, opt in ck.state["optimizers"].items():
        out |= {f"optim_{name}.{p}.{k}": v for p, st in opt["state"].items() for k, v in st.items() if torch.is_tensor(v)}
    return out


def _records(run):
    return [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if '"train"' in x]


def _straight_vs_resumed(tiny_recipe, tmp_path, over, names, n=10):
    for d in ("straight", "split"):
        (tmp_path / d).mkdir()  # RunLogger opens metrics.jsonl before fit() creates the folder when tensorboard is off
    straight = train(load_config(tiny_recipe, over + [f"train.max_steps={n}"]), tmp_path / "straight", hooks=[]).checkpoint
    half = train(load_config(tiny_recipe, over + [f"train.max_steps={n // 2}"]), tmp_path / "split", hooks=[]).checkpoint
    t = Engine(load_config(tiny_recipe, over + [f"train.max_steps={n}"]), tmp_path / "split", resume_from=half, hooks=[])
    resumed = t.fit().checkpoint
    ws, wr = _weights(straight, names), _weights(resumed, names)
    assert ws.keys() == wr.keys()
    for k in ws:
        assert torch.equal(ws[k], wr[k]), k
    ss, sr = load_checkpoint(straight).state["task_state"], load_checkpoint(resumed).state["task_state"]
    assert [t["state"] for t in ss["tricks"]] == [t["state"] for t in sr["tricks"]]
    return tmp_path / "straight"


def test_stable_composition_trains_and_resumes_exactly(tiny_recipe, tmp_path):
    """spectral norm + lazy R1 + DiffAugment + EMA + instance noise + smoothing, with TTUR and clipping."""
    over = COMMON + [STABLE, "optim.g.lr=1e-4", "optim.d.lr=4e-4", "train.grad_clip=10"]
    run = _straight_vs_resumed(tiny_recipe, tmp_path, over, ("G", "D", "G_ema"))
    recs = _records(run)
    assert [r["step"] for r in recs] == list(range(1, 11))
    for r in recs[:6]:
        for key in ("d_loss", "g_loss", "d_total", "g_total", "d_r1", "acc_real", "grad_norm_d", "grad_norm_g"):
            assert math.isfinite(r[key]), key
    assert all(r["d_r1"] > 0 for r in recs)  # computed every other step, logged in between
    assert all(recs[i + 1]["d_r1"] == recs[i]["d_r1"] for i in range(0, 10, 2))  # steps 1, 3, ... compute it (clock.step 0, 2, ...)
    assert len({recs[i]["d_r1"] for i in range(0, 10, 2)}) == 5
    # lazy: its own phase (D_reg), whose total is R1 alone; the D phase's total is the loss only
    assert all(r["d_reg_total"] == pytest.approx(r["d_r1"]) for r in recs)
    assert all(r["d_total"] == pytest.approx(r["d_loss"]) for r in recs)


def test_other_remedies_resume_exactly(tiny_recipe, tmp_path):
    """Trick state (historical means), D's Adam state read by unrolling, packing, FM, flips."""
    regs = ("regularizers=[{name: pacgan, pac: 2}, {name: historical_averaging, weight: 0.01}, {name: unrolled, steps: 1},"
            " {name: feature_matching, weight: 0.1}, {name: label_flip, p: 0.2}, {name: two_sided_label_smoothing}]")  # fmt: skip
    run = _straight_vs_resumed(tiny_recipe, tmp_path, COMMON + [regs, "loss.name=lsgan"], ("G", "D"), n=6)
    ck = load_checkpoint(run / "checkpoints" / "step-000006")
    assert {p.stem for p in ck.path.glob("*.safetensors")} == {"G", "D", "state"}  # no hist_* files: the means are task state
    hist = ck.state["task_state"]["tricks"][1]
    assert hist["state"] == {"count": 7} and set(hist["weights"]) == {"hist_D", "hist_G"}  # initial weights + 6 G steps
    assert set(hist["weights"]["hist_G"]) == {k for k in ck.weights("G") if k.endswith(("weight", "bias"))}  # parameters, no buffers
    assert ck.state["optimizers"]["d"]["state"]  # D's Adam moments, which the unrolled steps continue
    r = _records(run)[-1]
    for key in ("d_loss", "g_loss", "d_hist_avg", "g_fm", "g_hist_avg"):
        assert math.isfinite(r[key]), key


@pytest.mark.parametrize(
    "loss,regs",
    [
        ("wgan_gp", "[{name: r1}, {name: historical_averaging}, {name: feature_matching, replace: true}, {name: ema}, {name: pacgan}]"),
        ("hinge", "[{name: spectral_norm, 'on': both}, {name: unrolled, steps: 2}, {name: instance_noise, schedule: exponential}]"),
        ("wgan", "[{name: dragan}, {name: diffaugment, policy: [translation]}, {name: r2, every: 3}]"),
        ("nonsaturating", "[{name: dragan}, {name: r2}, {name: two_sided_label_smoothing}, {name: label_flip}, {name: historical_averaging, 'on': D}]"),
    ],
)
def test_more_compositions_run(tiny_recipe, tmp_path, loss, regs):
    """Two steps with two D steps each, for every loss family."""
    cfg = load_config(tiny_recipe, COMMON + [f"regularizers={regs}", f"loss.name={loss}", "train.max_steps=2", "train.n_critic=2"])
    (tmp_path / "r").mkdir()
    assert train(cfg, tmp_path / "r", hooks=[]).step == 2
    assert all(math.isfinite(r["g_total"]) and math.isfinite(r["d_total"]) for r in _records(tmp_path / "r"))
