"""Translation metrics: l1 / psnr / ssim against their formulas, target_class against the classifier run
directly, the target reference folder, `gankit eval` and `gankit translate` on tiny runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import gankit
from gankit.cli import main
from gankit.config import load_config
from gankit.errors import GankitError
from gankit.metrics import evaluate
from gankit.metrics.translation_eval import evaluate_translation, target_folder
from gankit.train.engine import train

SMALL = ["train.max_minutes=null", "train.max_steps=2", "train.batch_size=4", "log.progress=false", "log.tensorboard=false",
         "model.generator.base_channels=4", "model.discriminator.base_channels=4"]  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory, tiny_idx):
    root = tmp_path_factory.mktemp("translation")
    out = {}
    for name in ("pix2pix_edges2items", "cyclegan_sandal2sneaker"):
        cfg = load_config(f"configs/{name}.yaml", [f"data.root={tiny_idx}", *SMALL])
        out[name.split("_")[0]] = train(cfg, root / name, hooks=[]).run_dir
    return out


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 1, 28, 28), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def test_l1_psnr_ssim_against_their_formulas():
    x, t = _images(6, 0), _images(6, 1)
    rep = evaluate(x, "l1,psnr,ssim", targets=t, n=6)
    xf, tf = x.double() / 255, t.double() / 255
    assert rep.value("l1") == pytest.approx((xf - tf).abs().mean().item(), rel=1e-6)
    mse = (xf - tf).pow(2).flatten(1).mean(1)
    assert rep.value("psnr") == pytest.approx(float(np.mean([10 * math.log10(1 / m) for m in mse.tolist()])), rel=1e-5)
    same = evaluate(x, "ssim,l1", targets=x.clone(), n=6)
    assert same.value("ssim") == pytest.approx(1.0, abs=1e-6) and same.value("l1") == 0
    assert rep.value("ssim") < 0.2  # independent noise images are structurally unrelated
    assert evaluate(t, "ssim", targets=x, n=6).value("ssim") == pytest.approx(rep.value("ssim"), rel=1e-5)  # symmetric


def test_aligned_metrics_need_matching_targets():
    with pytest.raises(GankitError, match="pass targets="):
        evaluate(_images(4, 0), "l1", n=4)
    with pytest.raises(GankitError, match="targets must be uint8 N x 1 x 28 x 28"):
        evaluate(_images(4, 0), "l1", targets=torch.zeros(4, 3, 28, 28, dtype=torch.uint8), n=4)


def test_target_class_is_the_classifier_argmax_rate():
    from gankit.metrics.extractors.fmnist import load_fmnist_net

    x = _images(40, 3)
    net, _ = load_fmnist_net()
    with torch.no_grad():
        pred = net.eval()(x.float() / 255).argmax(1)  # the classifier's logits on [0, 1] images
    k = int(torch.mode(pred).values)
    rep = evaluate(x, "target_class", target_class=k, n=40)
    assert rep.value("target_class") == pytest.approx((pred == k).float().mean().item())
    with pytest.raises(GankitError, match="target_class=K"):
        evaluate(x, "target_class", n=40)


def test_target_folder_is_written_once_per_content(tmp_path, monkeypatch):
    from gankit.data.folder import load_folder_tensor

    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path))
    x = _images(5, 4)
    f = target_folder(x)
    assert target_folder(x.clone()) == f and target_folder(_images(5, 5)) != f
    assert torch.equal(load_folder_tensor(f, 28, 1), x)


def test_eval_of_paired_and_unpaired_runs(runs):
    pix = evaluate_translation(gankit.load(runs["pix2pix"]), n=20)
    assert set(pix.names()) == {"l1", "psnr", "ssim", "fid"}
    gen = gankit.load(runs["cyclegan"])
    cyc = evaluate_translation(gen, n=20)
    assert set(cyc.names()) == {"fid", "kid", "target_class", "cycle_l1"}
    assert cyc.get("target_class").details["target"] == "7 (Sneaker)"
    from gankit.data import load_translation_pairs

    a, _ = load_translation_pairs(gen.cfg.data, "test", limit=20)
    rec = gankit.load(runs["cyclegan"], direction="BtoA").translate(gen.translate(a))
    assert cyc.value("cycle_l1") == pytest.approx(((rec.float() - a.float()).abs() / 255).mean().item(), rel=1e-6)
    with pytest.raises(GankitError, match="unpaired"):
        evaluate_translation(gankit.load(runs["pix2pix"]), "cycle_l1", n=4)


def test_translate_command_forms(runs, tmp_path, capsys):
    from PIL import Image

    x = _images(3, 6)
    np.save(tmp_path / "in.npy", x.numpy())
    assert main(["translate", str(runs["cyclegan"]), "--input", str(tmp_path / "in.npy"), "--out", str(tmp_path / "out.npy"),
                 "--direction", "BtoA", "--grid", str(tmp_path / "g.png")]) == 0  # fmt: skip
    y = np.load(tmp_path / "out.npy")
    assert y.dtype == np.uint8 and y.shape == (3, 1, 28, 28)
    assert np.array_equal(y, gankit.load(runs["cyclegan"], direction="BtoA").translate(x).numpy())
    assert Image.open(tmp_path / "g.png").size[0] > 3 * 28  # input | output | reconstruction
    (tmp_path / "imgs" / "sub").mkdir(parents=True)
    for i in range(2):
        Image.fromarray(x[i, 0].numpy()).save(tmp_path / "imgs" / "sub" / f"item{i}.png")
    assert main(["translate", str(runs["pix2pix"]), "--input", str(tmp_path / "imgs"), "--out", str(tmp_path / "o")]) == 0
    assert sorted(p.name for p in (tmp_path / "o" / "sub").iterdir()) == ["item0.png", "item1.png"]
    assert main(["translate", str(runs["pix2pix"]), "--input", str(tmp_path / "imgs"), "--out", str(tmp_path / "o.npy")]) == 2
    assert main(["translate", str(runs["pix2pix"]), "--input", str(tmp_path / "in.npy"), "--out", str(tmp_path / "p.npy"),
                 "--direction", "BtoA"]) == 2  # fmt: skip
    assert "learns one direction" in capsys.readouterr().err
    assert main(["eval", str(runs["pix2pix"]), "--n", "10", "--out", str(tmp_path / "ev")]) == 0
    assert "psnr" in capsys.readouterr().out and (tmp_path / "ev" / "report.json").exists()
