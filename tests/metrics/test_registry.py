"""The metrics registry behind evaluate(): names, declared inputs, errors, extension, report order."""

import json

import numpy as np
import pytest
import torch

import gankit.metrics as gm
from gankit.errors import GankitError
from gankit.metrics import evaluate
from gankit.metrics.registry import FEATURES, INPUTS, METRICS, MetricSpec, metric_names

IMAGE_METRICS = ["memorization", "classes", "is", "pr", "kid", "fid"]  # deliberately not in report order
REPORT_ORDER = [
    "fid", "kid", "precision", "recall", "is", "classes.kl_uniform", "classes.confident_fraction",
    "memorization.pixel_ratio_mean", "memorization.pixel_ratio_median",
    "memorization.feature_ratio_mean", "memorization.feature_ratio_median",
]  # fmt: skip


NAMES = ["fid", "kid", "pr", "is", "classes", "coverage", "memorization", "class_consistency", "intra_fid", "cas", "ppl",
         "l1", "psnr", "ssim", "lpips", "target_class", "psnr_y", "ssim_y", "hole_l1", "hole_psnr"]


def test_names_inputs_and_descriptions():
    assert metric_names() == NAMES
    assert gm.METRICS is METRICS and gm.metric_names() == metric_names()
    assert list(METRICS) == metric_names() and len(METRICS) == 20 and "fid" in METRICS and "fdi" not in METRICS
    inputs = {s.name: s.inputs for s in METRICS.specs()}
    assert inputs == {"fid": "pairs", "kid": "pairs", "pr": "pairs", "is": "samples", "classes": "samples",
                      "coverage": "points", "memorization": "pairs", "class_consistency": "samples+labels",
                      "intra_fid": "samples+labels", "cas": "samples+labels", "ppl": "generator", "l1": "aligned",
                      "psnr": "aligned", "ssim": "aligned", "lpips": "aligned", "target_class": "samples",
                      "psnr_y": "aligned", "ssim_y": "aligned", "hole_l1": "aligned", "hole_psnr": "aligned"}  # fmt: skip
    assert [s.name for s in METRICS.specs() if s.needs_labels] == ["class_consistency", "intra_fid", "cas"]
    features = {s.name: s.features for s in METRICS.specs() if s.features != "extractor"}
    assert features == {"classes": "fmnist", "class_consistency": "fmnist", "coverage": "none", "cas": "none", "ppl": "none",
                        "l1": "none", "psnr": "none", "ssim": "none", "lpips": "none", "target_class": "fmnist",
                        "psnr_y": "none", "ssim_y": "none", "hole_l1": "none", "hole_psnr": "none"}
    for s in METRICS.specs():
        assert s.inputs in INPUTS and s.features in FEATURES and s.description and "\n" not in s.description
        assert callable(s.resolve())  # every "module:function" imports
    lines = METRICS.describe().splitlines()
    assert len(lines) == 20 and len({line.index(s.description) for line, s in zip(lines, METRICS.specs())}) == 1  # aligned


def test_unknown_names_suggest_close_matches(random_images):
    with pytest.raises(GankitError, match=r"unknown metric 'kdi'\. Did you mean 'kid'\? Valid: cas, class_consistency, classes, coverage, fid"):
        METRICS.get("kdi")
    with pytest.raises(GankitError, match="Did you mean 'memorization'"):
        evaluate(random_images(20), "fid,memorisation")
    with pytest.raises(GankitError, match="no metrics requested; choose from fid, kid, pr, is"):
        evaluate(random_images(20), " , ")


def test_select_deduplicates_in_report_order():
    assert [s.name for s in METRICS.select("pr, fid,pr")] == ["fid", "pr"]
    assert [s.name for s in METRICS.select(["coverage", "kid"])] == ["kid", "coverage"]


def test_bad_registrations_are_refused():
    with pytest.raises(ValueError, match="twice"):
        METRICS.add("fid", "pairs", "again", lambda ctx: None)
    with pytest.raises(ValueError, match="inputs"):
        MetricSpec("x", "images", "one line", lambda ctx: None)
    with pytest.raises(ValueError, match="one line"):
        MetricSpec("x", "samples", "two\nlines", lambda ctx: None)
    with pytest.raises(ValueError, match="features 'pixels' is not one of extractor, fmnist, none"):
        MetricSpec("x", "samples", "one line", lambda ctx: None, features="pixels")


def test_a_registered_metric_runs_in_evaluate(monkeypatch, random_images):
    """Adding a metric is one function plus its registration; evaluate() needs no change."""
    from gankit.metrics.protocol import MetricResult

    def mean_pixel(ctx):
        ctx.report.add(MetricResult("mean_pixel", float(ctx.x.double().mean()), ctx.proto(None)))

    monkeypatch.setitem(METRICS._specs, "mean_pixel", MetricSpec("mean_pixel", "samples", "mean pixel value", mean_pixel))
    imgs = random_images(30)
    rep = evaluate(imgs, "mean_pixel,is", n=20)
    assert rep.names() == ["is", "mean_pixel"]  # registration order
    assert rep.value("mean_pixel") == pytest.approx(imgs[:20].numpy().astype(np.float64).mean(), rel=1e-12)
    assert rep.get("mean_pixel").protocol.n_generated == 20
    with pytest.raises(GankitError, match="only 'coverage' applies to them, not mean_pixel"):
        evaluate(torch.zeros(10, 2), ["mean_pixel"], mixture="ring8")


def _tiny(tiny_idx, split):
    from gankit.data.idx import load_idx_dataset

    images, _ = load_idx_dataset("fashion-mnist", split, root=tiny_idx)
    return torch.tensor(np.asarray(images)).unsqueeze(1)


def test_every_image_metric_on_a_tiny_idx_folder(tiny_idx, tmp_path):
    """All image metrics in one call, whatever the request order; FID equals a direct computation."""
    from gankit.metrics.extractors import get_extractor
    from gankit.metrics.fid import feature_statistics, frechet_distance
    from gankit.metrics.reference import subset_indices

    gen = _tiny(tiny_idx, "train")[:40]
    rep = evaluate(gen, IMAGE_METRICS, ref="fashion-mnist:test", n=40, data_root=str(tiny_idx), out_dir=tmp_path)
    assert rep.names() == REPORT_ORDER
    ext = get_extractor("fmnist")
    test_imgs = _tiny(tiny_idx, "test")
    pick = torch.from_numpy(subset_indices(64, 40, 0))
    direct = frechet_distance(*feature_statistics(ext.features(gen)), *feature_statistics(ext.features(test_imgs[pick])))
    assert rep.value("fid") == pytest.approx(direct, rel=1e-6)
    for name in ("fid", "kid", "precision", "is"):
        p = rep.get(name).protocol
        assert p.extractor == "fmnist" and p.n_generated == 40 and p.seed == 0
        assert p.n_reference == (None if name == "is" else 40)
    mem = rep.get("memorization.feature_ratio_mean").protocol
    assert (mem.reference, mem.n_reference, mem.held_out, mem.n_held_out) == ("fashion-mnist:train", 256, "fashion-mnist:test", 64)
    assert rep.value("memorization.pixel_ratio_median") < 1e-6  # the samples are training images
    assert json.loads((tmp_path / "report.json").read_text()) == rep.to_dict()
    assert set(rep.artifacts) == {"memorization_pairs", "report"} and rep.info["reference_cache"]["key"]
    assert list(rep.timings)[:3] == ["load_samples", "load_extractor", "generated_features"]


def test_val_reference_in_evaluate(tiny_idx):
    gen = _tiny(tiny_idx, "test")[:40]
    rep = evaluate(gen, ["fid", "kid"], ref="fashion-mnist:val", n=40, data_root=str(tiny_idx))
    p = rep.get("fid").protocol
    assert p.reference == "fashion-mnist:val" and p.n_reference == 25  # val_size(256) = 256 // 10
    test = evaluate(gen, ["fid"], ref="fashion-mnist:test", n=40, data_root=str(tiny_idx))
    assert rep.info["reference_cache"]["key"] != test.info["reference_cache"]["key"]
