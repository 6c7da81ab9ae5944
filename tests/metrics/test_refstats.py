import hashlib
import json
import os
import shutil

import numpy as np
import pytest
import torch
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


def write_idx_folder(root, seed, n_train=50, n_test=30):
    """A Fashion-MNIST-named IDX folder of random images; returns (root, train images, test images)."""
    from gankit.data.idx import write_idx

    root.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    out = []
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        imgs = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        write_idx(root / f"{prefix}-images-idx3-ubyte.gz", imgs)
        write_idx(root / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, n).astype(np.uint8))
        out.append(imgs)
    return root, *out


def direct_features(images: np.ndarray) -> np.ndarray:
    """Features of uint8 (N, 28, 28) images straight from the extractor, rounded as the cache stores them."""
    feats = get_extractor("fmnist").run(torch.from_numpy(images.copy()).unsqueeze(1))["features"]
    return feats.astype(np.float32).astype(np.float64)


def test_dataset_cache_is_keyed_by_file_contents(cache, tmp_path):
    """Same dataset name, different IDX folders: different statistics; same files (even copied): a hit."""
    a, _, test_a = write_idx_folder(tmp_path / "a", seed=0)
    b, _, test_b = write_idx_folder(tmp_path / "b", seed=1)
    sa = stats("fashion-mnist:test", n=None, data_root=str(a))
    sb = stats("fashion-mnist:test", n=None, data_root=str(b))
    assert not sa.hit and not sb.hit and sa.key != sb.key and sa.path != sb.path
    np.testing.assert_allclose(sa.features, direct_features(test_a), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(sb.features, direct_features(test_b), rtol=1e-6, atol=1e-6)
    assert np.abs(sa.mu - sb.mu).max() > 1e-3

    again = stats("fashion-mnist:test", n=None, data_root=str(a))
    assert again.hit and again.key == sa.key
    np.testing.assert_array_equal(again.features, sa.features)
    shutil.copytree(a, tmp_path / "copy_of_a")  # other folder, same bytes: the same entry
    copied = stats("fashion-mnist:test", n=None, data_root=str(tmp_path / "copy_of_a"))
    assert copied.hit and copied.key == sa.key

    with safe_open(str(sa.path), framework="numpy") as f:  # the entry records each file's content hash
        files = json.loads(f.metadata()["files"])
    img = a / "t10k-images-idx3-ubyte.gz"
    assert [x["path"] for x in files] == [str(img.resolve())]
    assert files[0]["sha256"] == hashlib.sha256(img.read_bytes()).hexdigest()


def test_dataset_file_replaced_in_place_is_recomputed(cache, tmp_path):
    from gankit.data.idx import write_idx

    root, _, _ = write_idx_folder(tmp_path / "d", seed=2)
    first = stats("fashion-mnist:test", n=None, data_root=str(root))
    img = root / "t10k-images-idx3-ubyte.gz"
    new = np.random.default_rng(3).integers(0, 256, (30, 28, 28), dtype=np.uint8)
    st = img.stat()
    write_idx(img, new)
    os.utime(img, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a later mtime even on coarse clocks
    second = stats("fashion-mnist:test", n=None, data_root=str(root))
    assert not second.hit and second.key != first.key
    np.testing.assert_allclose(second.features, direct_features(new), rtol=1e-6, atol=1e-6)


def test_stale_entry_with_other_fields_is_not_used(cache, ref_folder):
    """A file at the key's path whose stored protocol differs (e.g. a truncated-key collision) is recomputed."""
    from safetensors.numpy import load_file, save_file

    a = stats(ref_folder, n=None)
    data = load_file(str(a.path))
    save_file({k: v * 0 for k, v in data.items()}, str(a.path), metadata={"fields": json.dumps({"reference": "other"})})
    with pytest.warns(UserWarning, match="other inputs"):
        b = stats(ref_folder, n=None)
    assert not b.hit
    np.testing.assert_array_equal(b.features, a.features)
    assert stats(ref_folder, n=None).hit


def test_val_reference_statistics(cache, tmp_path):
    """``fashion-mnist:val`` = the last val_size(50) = 5 training images; its own cache entry."""
    root, train, test = write_idx_folder(tmp_path / "v", seed=4, n_train=50)
    kw = dict(n=None, data_root=str(root))
    val, tr, te = stats("fashion-mnist:val", **kw), stats("fashion-mnist:train", **kw), stats("fashion-mnist:test", **kw)
    assert (val.n, tr.n, te.n) == (5, 50, 30)  # 50 // 10 = 5 < 5000
    assert len({val.key, tr.key, te.key}) == 3 and not val.hit
    assert val.reference == "fashion-mnist:val" and val.path.name.startswith("fashion-mnist-val-fmnist-")
    np.testing.assert_allclose(val.features, direct_features(train[45:]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(val.features, tr.features[45:], rtol=1e-6, atol=1e-6)
    assert stats("fashion-mnist:val", **kw).hit
