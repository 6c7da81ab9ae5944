"""The Inception path, with a randomly initialised weights file in torch-fidelity's layout."""

import hashlib
from unittest import mock
from urllib.error import URLError

import numpy as np
import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from gankit.errors import GankitError
from gankit.metrics.extractors import clear_loaded, get_extractor
from gankit.metrics.extractors import inception
from gankit.metrics.extractors.inception import (
    WEIGHTS_FILENAME,
    hash_prefix,
    hub_weights_path,
    load_state_dict_safe,
    resolve_inception_weights,
)


@pytest.fixture(scope="module")
def random_inception_weights(tmp_path_factory):
    """torch.save(state_dict) of a randomly initialised torch-fidelity InceptionV3."""
    with mock.patch.object(tf_inception, "load_state_dict_from_url", lambda *a, **k: {}), mock.patch.object(
        FeatureExtractorInceptionV3, "load_state_dict", lambda self, *a, **k: None
    ):
        torch.manual_seed(0)
        model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"])
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(model.state_dict(), path)
    return path


@pytest.fixture()
def hub_dir(tmp_path):
    old = torch.hub.get_dir()
    torch.hub.set_dir(str(tmp_path / "hub"))
    clear_loaded()
    yield tmp_path / "hub"
    torch.hub.set_dir(old)
    clear_loaded()


def test_expected_file_name():
    assert WEIGHTS_FILENAME == "weights-inception-2015-12-05-6726825d.pth"


def test_explicit_weights_file(random_inception_weights, hub_dir):
    ext = get_extractor("inception", inception_weights=str(random_inception_weights))
    x = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)  # gray: replicated to RGB
    out = ext.run(x, batch_size=2)
    assert out["features"].shape == (3, 2048) and out["logits"].shape == (3, 1008)
    assert np.isfinite(out["features"]).all()
    assert ext.resize_method((1, 28, 28)) == "gray->rgb-replicate+tf1-bilinear-299"
    assert len(ext.hash) == 16


def named_for(monkeypatch, content: bytes) -> str:
    """Make the expected hub file name carry ``content``'s own SHA-256 prefix (as the release file does)."""
    prefix = hashlib.sha256(content).hexdigest()[:8]
    monkeypatch.setattr(inception, "WEIGHTS_FILENAME", f"weights-inception-2015-12-05-{prefix}.pth")
    return prefix


def test_hash_prefix_from_name():
    assert hash_prefix(WEIGHTS_FILENAME) == "6726825d"
    assert hash_prefix("pt_inception-2015-12-05-6726825d.pth") == "6726825d"
    assert hash_prefix("random-inception.pth") is None and hash_prefix("inception-2015-12-05.pth") is None


def test_hub_cache_file_is_used(random_inception_weights, hub_dir, monkeypatch):
    named_for(monkeypatch, random_inception_weights.read_bytes())
    target = hub_weights_path()
    assert target.parent == hub_dir / "checkpoints"
    target.parent.mkdir(parents=True)
    target.write_bytes(random_inception_weights.read_bytes())
    ext = get_extractor("inception")
    assert ext.weights_path == str(target)


def test_offline_without_weights_names_both_options(hub_dir):
    with mock.patch.object(torch.hub, "download_url_to_file", side_effect=URLError("no network")):
        with pytest.raises(GankitError) as e:
            get_extractor("inception")
    msg = str(e.value)
    assert "--inception-weights PATH" in msg and str(hub_weights_path()) in msg


def test_missing_explicit_file(tmp_path):
    with pytest.raises(GankitError, match="not found"):
        get_extractor("inception", inception_weights=str(tmp_path / "nope.pth"))


class Payload:  # any non-tensor object: loading it would need full unpickling
    pass


def test_pickled_objects_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"x": Payload()}, path)
    with pytest.raises(GankitError, match="refused"):
        load_state_dict_safe(path)


def test_wrong_layout_is_a_clear_error(tmp_path):
    path = tmp_path / "small.pth"
    torch.save({"fc.weight": torch.zeros(3, 3)}, path)
    with pytest.raises(GankitError, match="layout"):
        get_extractor("inception", inception_weights=str(path))


def test_evaluate_with_inception(random_inception_weights, hub_dir, tmp_path, png_folder, random_images):
    from gankit.metrics import evaluate

    png_folder(tmp_path / "ref", random_images(4, (3, 32, 32), 0))
    # (FID's 2048 x 2048 eigen-decomposition alone takes seconds on CPU; its maths is tested in test_fid.)
    rep = evaluate(random_images(4, (3, 32, 32), 1), ["kid", "pr"], extractor="inception", ref=str(tmp_path / "ref"),
                   n=4, inception_weights=str(random_inception_weights))  # fmt: skip
    for r in rep.results:
        assert r.protocol.extractor == "inception" and r.protocol.resize == "tf1-bilinear-299"
        assert r.protocol.n_reference == 4 and r.protocol.n_generated == 4
    assert rep.get("kid").details["subset_size"] == 4 and 0 <= rep.value("precision") <= 1


def test_hub_cache_file_with_wrong_hash_is_refused(random_inception_weights, hub_dir):
    """Another file under the release name: a clear error with both hashes; a file the user placed is kept."""
    content = random_inception_weights.read_bytes()
    target = hub_weights_path()
    target.parent.mkdir(parents=True)
    target.write_bytes(content)
    with pytest.raises(GankitError) as e:
        get_extractor("inception")
    msg = str(e.value)
    assert str(target) in msg and "6726825d" in msg and hashlib.sha256(content).hexdigest() in msg
    assert target.read_bytes() == content


def fake_download(content: bytes, calls: list):
    def download(url, dst, *args, **kwargs):
        calls.append((url, dst))
        with open(dst, "wb") as f:
            f.write(content)

    return download


def test_bad_download_is_deleted_and_named(hub_dir):
    calls: list = []
    with mock.patch.object(torch.hub, "download_url_to_file", fake_download(b"<html>rate limited</html>", calls)):
        with pytest.raises(GankitError) as e:
            resolve_inception_weights()
    msg = str(e.value)
    assert calls and calls[0][0] == tf_inception.URL_INCEPTION_V3
    assert WEIGHTS_FILENAME in msg and "6726825d" in msg and hashlib.sha256(b"<html>rate limited</html>").hexdigest() in msg
    assert "deleted" in msg
    assert not hub_weights_path().exists() and list(hub_weights_path().parent.iterdir()) == []  # no partial file


def test_good_download_is_installed(random_inception_weights, hub_dir, monkeypatch):
    content = random_inception_weights.read_bytes()
    named_for(monkeypatch, content)
    calls: list = []
    with mock.patch.object(torch.hub, "download_url_to_file", fake_download(content, calls)):
        path = resolve_inception_weights()
    assert path == hub_weights_path() and path.read_bytes() == content and len(calls) == 1
    assert calls[0][1] != str(path)  # downloaded to a temporary name first
    assert [p.name for p in path.parent.iterdir()] == [path.name]
    with mock.patch.object(torch.hub, "download_url_to_file", side_effect=AssertionError("no second download")):
        assert resolve_inception_weights() == path


def test_offline_download_leaves_nothing(hub_dir):
    with mock.patch.object(torch.hub, "download_url_to_file", side_effect=URLError("no network")):
        with pytest.raises(GankitError, match="download failed"):
            resolve_inception_weights()
    assert list(hub_weights_path().parent.iterdir()) == []


def test_explicit_file_named_as_the_release_is_checked(random_inception_weights, tmp_path):
    content = random_inception_weights.read_bytes()
    for name in ("pt_inception-2015-12-05-6726825d.pth", WEIGHTS_FILENAME):
        fake = tmp_path / name
        fake.write_bytes(content)
        with pytest.raises(GankitError) as e:
            resolve_inception_weights(fake)
        assert str(fake) in str(e.value) and "6726825d" in str(e.value) and hashlib.sha256(content).hexdigest() in str(e.value)
        assert fake.is_file()  # the user's file is not deleted
    renamed = tmp_path / "inception-20240101.pth"  # no release prefix (a date is not a hash): loaded unchecked
    renamed.write_bytes(content)
    assert resolve_inception_weights(renamed) == renamed
