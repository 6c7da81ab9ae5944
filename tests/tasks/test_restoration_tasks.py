"""SRGAN/SRResNet, inpainting and StarGAN as tasks: their stages and loss terms against hand computations,
and the inference path (`upscale`, `inpaint`, `translate(target_class=)`) on runs the tests train."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import gankit
from gankit.config import load_config
from gankit.core.batch import Batch
from gankit.core.clock import Clock
from gankit.core.phase import PhaseContext
from gankit.errors import ConfigError
from gankit.tasks import build_task
from gankit.train.engine import train

SMALL = ["train.max_minutes=null", "train.max_steps=4", "train.batch_size=4", "log.log_every=1", "log.eval_every=1000", "log.ckpt_every=1000",
         "log.progress=false", "log.tensorboard=false", "model.generator.base_channels=4", "model.discriminator.base_channels=4"]  # fmt: skip


def _cfg(name: str, root, *extra: str):  # noqa: ANN001
    return load_config(f"configs/{name}.yaml", [f"data.root={root}", *SMALL, *extra])


def _ctx(nets) -> PhaseContext:  # noqa: ANN001
    return PhaseContext(Clock(0, 0.0), nets, nets, {}, torch.device("cpu"))


def test_sr_pretraining_ends_at_the_configured_step(tiny_idx):
    task = build_task(_cfg("srgan_fmnist_2x", tiny_idx, "task.pretrain_steps=3", "model.generator.n_blocks=1"), (1, 28, 28))
    assert task.scale == 2 and set(task.build()) == {"G", "D"}
    names = [[p.name for p in task.phases(Clock(s, 0.0, 10))] for s in range(5)]
    assert names == [["G_pixel"]] * 3 + [["D", "G"]] * 2
    srresnet = build_task(_cfg("srresnet_fmnist_2x", tiny_idx), (1, 28, 28))
    assert set(srresnet.build()) == {"G"} and all(srresnet.pretraining(Clock(s, 1.0, 10)) for s in (0, 10**6))


def test_sr_g_terms(tiny_idx):
    task = build_task(_cfg("srgan_fmnist_2x", tiny_idx, "model.generator.n_blocks=1", "task.pixel_weight=0.5"), (1, 28, 28))
    nets = task.build()
    for m in nets.values():
        m.eval()
    torch.manual_seed(0)
    a, b = torch.rand(3, 1, 14, 14) * 2 - 1, torch.rand(3, 1, 28, 28) * 2 - 1
    terms = task._g_loss(_ctx(nets), Batch(a=a, b=b))
    sr = nets["G"](a)
    assert torch.allclose(terms["loss"], 1e-3 * F.softplus(-nets["D"](sr)).mean())
    assert torch.allclose(terms["pixel"], 0.5 * (sr - b).pow(2).mean())
    assert torch.allclose(terms["content"], task.content(sr, b)) and "fmnist" in task.content_protocol


def test_relativistic_loss_only_where_supported(tiny_idx):
    esr = build_task(_cfg("srgan_fmnist_2x", tiny_idx, "loss.name=ragan", "model.generator.n_blocks=1"), (1, 28, 28))
    nets = esr.build()
    for m in nets.values():
        m.eval()
    a, b = torch.rand(4, 1, 14, 14) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    assert torch.isfinite(esr._g_loss(_ctx(nets), Batch(a=a, b=b))["loss"])
    with pytest.raises(ConfigError, match="relativistic"):
        build_task(_cfg("inpaint_fmnist", tiny_idx, "loss.name=ragan"), (1, 28, 28))


def test_inpaint_terms_and_composite(tiny_idx):
    task = build_task(_cfg("inpaint_fmnist", tiny_idx), (1, 28, 28))
    nets = task.build()
    for m in nets.values():
        m.eval()
    torch.manual_seed(1)
    b = torch.rand(2, 1, 28, 28) * 2 - 1
    mask = torch.zeros(2, 1, 28, 28)
    mask[:, :, 5:15, 8:20] = 1
    a = torch.where(mask.bool(), torch.zeros_like(b), b)
    terms = task._g_loss(_ctx(nets), Batch(a=a, b=b, mask=mask))
    out = nets["G"](a, mask)
    assert torch.equal(out[mask == 0], a[mask == 0])  # known pixels exactly unchanged
    hole = ((out - b).abs() * mask).sum() / mask.sum()
    assert torch.allclose(terms["hole_l1"], hole)
    assert torch.allclose(terms["loss"], 1e-3 * F.softplus(-nets["D"](out, mask)).mean())


def test_stargan_terms_by_hand(tiny_idx):
    task = build_task(_cfg("stargan_fmnist_domains", tiny_idx), (1, 28, 28))
    nets = task.build()
    for m in nets.values():
        m.eval()
    torch.manual_seed(2)
    x, c = torch.rand(4, 1, 28, 28) * 2 - 1, torch.tensor([0, 3, 7, 9])
    torch.manual_seed(5)
    terms = task._g_loss(_ctx(nets), Batch(x=x, c=c))
    torch.manual_seed(5)
    trg = torch.randint(0, 10, (4,))
    fake = nets["G"](x, trg)
    src, cls = nets["D"](fake)
    logp = cls - cls.exp().sum(1, keepdim=True).log()  # log-softmax by hand
    assert torch.allclose(terms["cls"], -logp[torch.arange(4), trg].mean(), atol=1e-6)
    assert torch.allclose(terms["loss"], -src.mean())  # WGAN's G loss on the patch scores
    assert torch.allclose(terms["rec"], 10 * (nets["G"](fake, c) - x).abs().mean())


def test_inference_paths_and_cli(tiny_idx, tmp_path):
    from gankit.cli import main

    sr = train(_cfg("srresnet_fmnist_2x", tiny_idx, "model.generator.n_blocks=1"), tmp_path / "sr", hooks=[]).run_dir
    up = gankit.load(sr)
    assert up.scale == 2 and up.upscale(torch.zeros(3, 1, 14, 14, dtype=torch.uint8)).shape == (3, 1, 28, 28)
    assert up.upscale(torch.zeros(1, 1, 10, 12, dtype=torch.uint8)).shape == (1, 1, 20, 24)  # any size: convolutional
    np.save(tmp_path / "lr.npy", np.zeros((2, 1, 14, 14), np.uint8))
    assert main(["upscale", str(sr), "--input", str(tmp_path / "lr.npy"), "--out", str(tmp_path / "hr.npy")]) == 0
    assert np.load(tmp_path / "hr.npy").shape == (2, 1, 28, 28)
    from PIL import Image

    (tmp_path / "lr" / "sub").mkdir(parents=True)
    Image.fromarray(np.full((14, 14), 90, np.uint8)).save(tmp_path / "lr" / "a.png")
    Image.fromarray(np.full((8, 10), 30, np.uint8)).save(tmp_path / "lr" / "sub" / "b.png")
    assert main(["upscale", str(sr), "--input", str(tmp_path / "lr"), "--out", str(tmp_path / "hr")]) == 0
    assert Image.open(tmp_path / "hr" / "a.png").size == (28, 28) and Image.open(tmp_path / "hr" / "sub" / "b.png").size == (20, 16)
    assert main(["upscale", str(sr), "--input", str(tmp_path / "lr.npy"), "--out", str(tmp_path / "hr_dir")]) == 2  # .npy in, .npy out

    ip = train(_cfg("inpaint_fmnist", tiny_idx), tmp_path / "ip", hooks=[]).run_dir
    x = torch.randint(0, 256, (2, 1, 28, 28), dtype=torch.uint8)
    m = torch.zeros(2, 1, 28, 28, dtype=torch.uint8)
    m[:, :, 4:12, 4:12] = 1
    done = gankit.load(ip).inpaint(x, m)
    assert torch.equal(done[m.expand_as(done) == 0], x[m.expand_as(x) == 0])
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "m.npy", m.numpy())
    assert main(["inpaint", str(ip), "--input", str(tmp_path / "x.npy"), "--mask", str(tmp_path / "m.npy"), "--out", str(tmp_path / "y.npy")]) == 0
    assert np.array_equal(np.load(tmp_path / "y.npy"), done.numpy())
    with pytest.raises(ConfigError, match="mask"):
        gankit.load(ip).translate(x)

    st = train(_cfg("stargan_fmnist_domains", tiny_idx, "train.n_critic=1"), tmp_path / "st", hooks=[]).run_dir
    g = gankit.load(st)
    assert g.signature["num_classes"] == 10 and g.translate(x, target_class=3).shape == (2, 1, 28, 28)
    with pytest.raises(ConfigError, match="target_class"):
        g.translate(x)
    assert main(["translate", str(st), "--input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "t.npy"), "--target-class", "4"]) == 0
    assert np.array_equal(np.load(tmp_path / "t.npy"), g.translate(x, target_class=4).numpy())
