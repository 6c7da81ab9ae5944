import pytest
import torch

from gankit.errors import DataError, GankitError
from gankit.metrics import FIDTracker, evaluate


def test_tracker_matches_evaluate_and_reuses_cache(fmnist_test, fmnist_train):
    tracker = FIDTracker("fmnist", ref="fashion-mnist:test", n_ref=800, seed=2)
    gen = fmnist_train[0][:800]
    fid = tracker.fid_of(gen)
    rep = evaluate(gen, ["fid"], n=800, seed=2)
    assert fid == pytest.approx(rep.value("fid"), rel=1e-12)
    assert rep.info["reference_cache"]["key"] == tracker.stats.key  # same protocol -> same cache entry
    again = FIDTracker("fmnist", ref="fashion-mnist:test", n_ref=800, seed=2)
    assert again.stats.hit
    res = tracker.result(gen)
    assert res.value == fid and res.protocol.n_generated == 800 and res.protocol.n_reference == 800
    assert res.protocol.extractor_hash == tracker.extractor.hash


def test_tracker_with_folder_reference(tmp_path, png_folder, random_images):
    png_folder(tmp_path / "ref", random_images(40, (3, 16, 16), 0))
    with pytest.raises(GankitError, match="image_shape"):
        FIDTracker("fmnist", ref=str(tmp_path / "ref"))
    tr = FIDTracker("fmnist", ref=str(tmp_path / "ref"), image_shape=(3, 16, 16))
    assert tr.stats.resize == "rgb->gray-mean+bilinear-antialias-16x16->28x28"
    assert tr.fid_of(random_images(40, (3, 16, 16), 0)) == pytest.approx(0.0, abs=1e-6)
    assert tr.fid_of(random_images(40, (3, 16, 16), 1)) > 0
    with pytest.raises(DataError, match="1x16x16"):
        tr.fid_of(random_images(10, (1, 16, 16)))
    with pytest.raises(GankitError, match="uint8"):
        tr.fid_of(torch.zeros(10, 3, 16, 16))
