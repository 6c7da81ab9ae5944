import json
import math

import numpy as np
import pytest
import torch

from gankit.data.toy2d import sample_mixture
from gankit.errors import DataError, GankitError
from gankit.metrics import evaluate, to_uint8
from gankit.metrics.extractors import get_extractor


def test_fashion_mnist_end_to_end(fmnist_test, fmnist_train, tmp_path):
    gen = fmnist_train[0][:1000]  # real training images stand in for a perfect generator
    rep = evaluate(gen, ["fid", "kid", "is", "pr", "classes"], ref="fashion-mnist:test", n=1000, seed=0, out_dir=tmp_path)
    names = rep.names()
    assert names == ["fid", "kid", "precision", "recall", "is", "classes.kl_uniform", "classes.confident_fraction"]
    ext = get_extractor("fmnist")
    for r in rep.results:
        p = r.protocol
        assert p.extractor == "fmnist" and p.extractor_hash == ext.hash and p.n_generated == 1000
        assert p.seed == 0 and p.resize == "none" and p.image_shape == (1, 28, 28)
    fid = rep.get("fid")
    assert fid.protocol.reference == "fashion-mnist:test" and fid.protocol.n_reference == 1000
    assert 0 < rep.value("fid") < 5  # same distribution, different images
    assert rep.value("precision") > 0.6 and rep.value("recall") > 0.6
    assert 7 < rep.value("is") <= 10
    assert rep.value("classes.kl_uniform") < 0.02 and rep.value("classes.confident_fraction") > 0.8
    assert set(rep.get("classes.kl_uniform").details["histogram"]) >= {"Trouser", "Ankle boot"}
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved == rep.to_dict() and saved["info"]["reference_cache"]["key"]

    # A collapsed generator: one image repeated.
    bad = evaluate(gen[:1].expand(1000, -1, -1, -1).contiguous(), ["fid", "kid", "pr", "classes"], n=1000)
    assert bad.value("fid") > 10 * rep.value("fid")
    assert abs(rep.value("kid")) < 0.01 * bad.value("kid")  # unbiased KID: ~0 (either sign) for equal distributions
    assert bad.value("recall") < 0.05
    assert bad.value("classes.kl_uniform") == pytest.approx(math.log(10), rel=1e-9)


def test_fid_differs_for_noise(fmnist_test, random_images):
    rep = evaluate(random_images(500), ["fid"], n=500)
    assert rep.value("fid") > 50


def test_mismatched_sizes_error(fmnist_test, random_images):
    with pytest.raises(DataError, match="3x28x28.*1x28x28"):
        evaluate(random_images(20, (3, 28, 28)), ["fid"], n=20)


def test_2d_coverage_report(tmp_path):
    x = sample_mixture("ring8", 3000, torch.Generator().manual_seed(0))
    rep = evaluate(x, ["coverage"], mixture="ring8", out_dir=tmp_path, seed=4)
    assert rep.value("coverage.modes") == 8 and rep.value("coverage.hq_fraction") > 0.97
    p = rep.get("coverage.modes").protocol
    assert p.n_generated == 2500 and p.reference == "mixture:ring8" and p.extractor == "none" and p.seed == 4
    assert (tmp_path / "coverage.png").is_file() and rep.artifacts["coverage_plot"] == str(tmp_path / "coverage.png")
    far = evaluate(torch.full((100, 2), 40.0), ["coverage"], mixture="ring8")
    assert far.value("coverage.reverse_kl") is None
    assert json.loads(far.to_json())["metrics"][2]["value"] is None


def test_memorization_with_folder_references(tmp_path, png_folder, random_images):
    def smooth(n, seed):
        g = torch.Generator().manual_seed(seed)
        low = torch.rand(n, 1, 4, 4, generator=g)
        return to_uint8(torch.nn.functional.interpolate(low, size=(28, 28), mode="bilinear"), (0.0, 1.0))

    train, held = smooth(150, 0), smooth(150, 1)
    png_folder(tmp_path / "train", train)
    png_folder(tmp_path / "held", held)
    kw = dict(ref=str(tmp_path / "held"), train_ref=str(tmp_path / "train"), n=60)
    copies = evaluate(train[:60], ["memorization"], out_dir=tmp_path / "out", **kw)
    fresh = evaluate(smooth(60, 2), ["memorization"], **kw)
    assert copies.value("memorization.pixel_ratio_mean") < 1e-5
    assert copies.value("memorization.feature_ratio_median") < 1e-5
    assert 0.8 < fresh.value("memorization.pixel_ratio_median") < 1.25
    p = copies.get("memorization.pixel_ratio_mean").protocol
    assert p.extractor == "pixels" and p.n_reference == 150 and p.held_out == str((tmp_path / "held").resolve())
    assert p.n_held_out == 150
    assert copies.get("memorization.feature_ratio_mean").protocol.extractor == "fmnist"
    assert copies.get("memorization.pixel_ratio_mean").details["baseline_median"] > 0.5
    assert (tmp_path / "out" / "memorization_pairs.png").is_file()


def test_samples_from_npy_path(tmp_path):
    x = sample_mixture("grid25", 2500, torch.Generator().manual_seed(1))
    np.save(tmp_path / "pts.npy", x.numpy())
    assert evaluate(str(tmp_path / "pts.npy"), ["coverage"], mixture="grid25").value("coverage.modes") == 25


def test_empty_sample_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images"):
        evaluate(str(tmp_path / "empty"), ["fid"])


def test_argument_errors(random_images):
    imgs = random_images(20)
    pts = torch.zeros(20, 2)
    with pytest.raises(GankitError, match="Did you mean 'fid'"):
        evaluate(imgs, ["fdi"])
    with pytest.raises(GankitError, match="2D point"):
        evaluate(imgs, ["coverage"])
    with pytest.raises(GankitError, match="only 'coverage'"):
        evaluate(pts, ["fid", "coverage"], mixture="ring8")
    with pytest.raises(GankitError, match="mixture="):
        evaluate(pts, ["coverage"])
    with pytest.raises(GankitError, match="uint8"):
        evaluate(imgs.float(), ["fid"])
    with pytest.raises(GankitError, match="no metrics"):
        evaluate(imgs, [])
    with pytest.raises(DataError, match="not found"):
        evaluate(imgs, ["fid"], ref="/no/such/reference")


def test_to_uint8():
    x = torch.tensor([-1.0, 0.0, 1.0, 2.0])
    assert to_uint8(x).tolist() == [0, 128, 255, 255]
