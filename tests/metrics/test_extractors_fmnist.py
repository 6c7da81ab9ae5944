import json
import shutil

import numpy as np
import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics._io import sha256_file
from gankit.metrics.extractors import clear_loaded, get_extractor
from gankit.metrics.extractors.fmnist import DEFAULT_WEIGHTS, TF_NAME, FeatureExtractorGankitFMNIST, load_fmnist_net


def test_shipped_weights_match_recorded_hash():
    meta = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    assert sha256_file(DEFAULT_WEIGHTS) == meta["sha256"]
    assert DEFAULT_WEIGHTS.stat().st_size < 2_000_000
    assert meta["test_accuracy"] >= 0.92
    assert meta["command"].startswith("gankit features train fashion-mnist")
    model, digest = load_fmnist_net()
    assert digest == meta["sha256"] and sum(p.numel() for p in model.parameters()) == meta["n_params"]


def test_shipped_extractor_accuracy_on_test_subset(fmnist_test):
    images, labels = fmnist_test
    pick = torch.from_numpy(np.random.default_rng(0).choice(len(images), 2000, replace=False))
    ext = get_extractor("fmnist")
    logits = ext.logits(images[pick], batch_size=500)
    acc = float((torch.from_numpy(logits).argmax(1) == labels[pick]).float().mean())
    assert acc >= 0.92


def test_facade_outputs():
    ext = get_extractor("fmnist")
    assert ext.name == "fmnist" and len(ext.hash) == 16 and ext.sha256.startswith(ext.hash)
    x = torch.randint(0, 256, (7, 1, 28, 28), dtype=torch.uint8)
    out = ext.run(x, batch_size=3)
    assert out["features"].shape == (7, 128) and out["logits"].shape == (7, 10)
    assert out["features"].dtype == np.float64
    np.testing.assert_allclose(ext.features(x, batch_size=7), out["features"], rtol=1e-4, atol=1e-5)  # batching: float noise only
    assert get_extractor("fmnist") is ext  # loaded once per process


def test_registered_with_torch_fidelity_and_takes_its_inputs():
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
    from torch_fidelity.utils import create_feature_extractor

    assert FEATURE_EXTRACTORS_REGISTRY[TF_NAME] is FeatureExtractorGankitFMNIST
    fe = create_feature_extractor(TF_NAME, ["feat", "logits"], cuda=False, verbose=False)
    assert fe.get_default_feature_layer_for_metric("fid") == "feat"
    rgb = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)  # what torch-fidelity datasets give
    feat, logits = fe(rgb)
    assert feat.shape == (4, 128) and logits.shape == (4, 10)


def test_hash_mismatch_is_a_clear_error(tmp_path):
    weights = tmp_path / "clf.safetensors"
    shutil.copy(DEFAULT_WEIGHTS, weights)
    meta = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    meta["sha256"] = "0" * 64
    weights.with_suffix(".json").write_text(json.dumps(meta))
    with pytest.raises(GankitError, match="does not match its recorded hash"):
        load_fmnist_net(weights)
    clear_loaded()
    with pytest.raises(GankitError, match="recorded hash"):
        get_extractor("fmnist", fmnist_weights=str(weights))


def test_missing_or_foreign_weights(tmp_path):
    with pytest.raises(GankitError, match="not found"):
        load_fmnist_net(tmp_path / "nope.safetensors")
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    with pytest.raises(GankitError, match="not a Fashion-MNIST classifier"):
        load_fmnist_net(tmp_path / "other.safetensors")


def test_unknown_extractor_and_device():
    with pytest.raises(GankitError, match="fmnist"):
        get_extractor("fminst")
    if not torch.cuda.is_available():
        with pytest.raises(GankitError, match="CUDA"):
            get_extractor("fmnist", device="cuda")
