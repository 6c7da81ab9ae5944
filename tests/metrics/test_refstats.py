import json

import numpy as np
import pytest
from safetensors import safe_open

from gankit.errors import DataError
from gankit.metrics.extractors import get_extractor
from gankit.metrics.fid import feature_statistics
from gankit.metrics.refstats import cache_dir, cache_key, get_reference_stats


@pytest.fixture()
def cache(monkeypatch, tmp_path):
    monkeypatch.setenv("GANKIT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "refstats"


@pytest.fixture()
def ref_folder(tmp_path, png_folder, random_images):
    return png_folder(tmp_path / "ref", random_images(30, (1, 28, 28), 5))


def stats(ref, **kw):
    kw.setdefault("image_shape", (1, 28, 28))
    return get_reference_stats(str(ref), get_extractor("fmnist"), **kw)


def test_cache_dir_follows_env(cache):
    assert cache_dir() == cache


def test_miss_then_hit_gives_identical_statistics(cache, ref_folder):
    a = stats(ref_folder, n=None)
    assert not a.hit and a.path is not None and a.path.parent == cache and a.path.is_file()
    b = stats(ref_folder, n=None)
    assert b.hit and b.path == a.path and b.key == a.key
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.mu, b.mu)
    np.testing.assert_array_equal(a.sigma, b.sigma)
    assert a.mu.dtype == np.float64 and a.features.shape == (30, 128) and a.logits.shape == (30, 10)
    mu, sigma = feature_statistics(a.features)
    np.testing.assert_array_equal(mu, a.mu)
    with safe_open(str(a.path), framework="numpy") as f:  # plain safetensors, protocol in the metadata
        fields = json.loads(f.metadata()["fields"])
        assert set(f.keys()) == {"mu", "sigma", "features", "logits"}
    assert fields["extractor"] == "fmnist" and fields["n_reference"] == 30 and fields["extractor_sha256"] == get_extractor("fmnist").sha256


def test_key_changes_with_protocol(cache, ref_folder, png_folder, random_images):
    base = stats(ref_folder, n=20, seed=0)
    assert base.n == 20 and not base.hit
    assert stats(ref_folder, n=20, seed=1).key != base.key  # another subset
    assert stats(ref_folder, n=25, seed=0).key != base.key
    assert stats(ref_folder, n=20, seed=0).hit
    png_folder(ref_folder, random_images(1, (1, 28, 28), 99))  # overwrites 00000.png: the fingerprint changes
    changed = stats(ref_folder, n=20, seed=0)
    assert changed.key != base.key and not changed.hit


def test_cache_key_depends_on_every_field():
    fields = {"reference": "fashion-mnist:test", "extractor": "fmnist", "extractor_sha256": "ab", "n_reference": 10,
              "seed": 0, "resize": "none", "image_shape": [1, 28, 28], "fingerprint": "x", "version": 1}  # fmt: skip
    base = cache_key(fields)
    assert cache_key(dict(reversed(list(fields.items())))) == base
    for k, v in fields.items():
        changed = dict(fields, **{k: [v] if not isinstance(v, list) else v + [1]})
        assert cache_key(changed) != base, k


def test_no_cache_and_corrupt_cache(cache, ref_folder):
    a = stats(ref_folder, n=None, cache=False)
    assert a.path is None and not cache.exists()
    b = stats(ref_folder, n=None)
    b.path.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        c = stats(ref_folder, n=None)
    assert not c.hit and c.path.is_file()
    np.testing.assert_array_equal(c.features, a.features)
    assert stats(ref_folder, n=None).hit


def test_dataset_reference_shape_mismatch(cache, fmnist_test):
    with pytest.raises(DataError, match="1x32x32.*1x28x28"):
        stats("fashion-mnist:test", n=100, image_shape=(1, 32, 32))


def test_dataset_reference_subset(cache, fmnist_test):
    s = stats("fashion-mnist:test", n=300, seed=0)
    assert s.n == 300 and s.reference == "fashion-mnist:test" and s.resize == "none" and s.path.name.startswith("fashion-mnist-test-fmnist-")
