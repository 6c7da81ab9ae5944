"""Class-conditional metrics: class consistency and intra-FID against independent computations; labels handling."""

import json

import numpy as np
import pytest
import torch

from gankit.errors import DataError, GankitError
from gankit.metrics import evaluate
from gankit.metrics.conditional import class_consistency
from gankit.metrics.extractors import get_extractor
from gankit.metrics.extractors.fmnist import DEFAULT_WEIGHTS, load_fmnist_net
from gankit.metrics.fid import fid_from_features
from gankit.metrics.labels import first_n_per_class, sibling_labels_path


def independent_predictions(x: torch.Tensor) -> np.ndarray:
    """Arg-max classes of the shipped classifier, straight from the network (not through the extractor)."""
    net, _ = load_fmnist_net()
    with torch.no_grad():
        return net(x.float() / 255.0).argmax(1).numpy()


def idx_split(root, split):
    from gankit.data.idx import load_idx_dataset

    images, labels = load_idx_dataset("fashion-mnist", split, root=root)
    return torch.tensor(np.asarray(images)).unsqueeze(1), torch.from_numpy(labels)


# -- class consistency ----------------------------------------------------------------------------
def test_class_consistency_known_answers():
    logits = np.zeros((6, 3))
    logits[[0, 1, 2, 3, 4, 5], [0, 0, 1, 2, 2, 2]] = 5.0  # predicted 0, 0, 1, 2, 2, 2
    out = class_consistency(logits, np.array([0, 1, 1, 2, 2, 0]))
    assert out["overall"] == pytest.approx(4 / 6)
    assert out["per_class"] == [0.5, 0.5, 1.0] and out["counts"] == [2, 2, 2]
    assert out["confusion"] == [[1, 0, 1], [1, 1, 0], [0, 0, 2]]
    assert class_consistency(logits[:2], np.array([0, 0]))["per_class"] == [1.0, None, None]  # no samples of 1, 2
    with pytest.raises(GankitError, match="class ids 0..2"):
        class_consistency(logits, np.array([0, 1, 1, 2, 2, 3]))


def test_class_consistency_equals_accuracy_computed_independently(labelled_blobs):
    x, y = labelled_blobs(120, seed=3)
    pred = independent_predictions(x)
    rep = evaluate(x, ["class_consistency"], labels=y, n=120)
    r = rep.get("class_consistency")
    assert r.value == pytest.approx(float(np.mean(pred == y.numpy())), abs=1e-12)
    per = list(r.details["per_class"].values())
    assert per == pytest.approx([float(np.mean(pred[y.numpy() == k] == k)) for k in range(10)], abs=1e-12)
    assert r.protocol.n_generated_per_class == (12,) * 10 and r.protocol.extractor == "fmnist"
    assert r.details["classifier_test_accuracy"] == json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())["test_accuracy"]
    # Labels equal to the classifier's own choice score 1; shifted by one class, 0.
    assert evaluate(x, ["class_consistency"], labels=torch.from_numpy(pred)).value("class_consistency") == 1.0
    assert evaluate(x, ["class_consistency"], labels=torch.from_numpy((pred + 1) % 10)).value("class_consistency") == 0.0


def test_class_consistency_on_real_test_images_is_the_classifier_accuracy(fmnist_test):
    x, y = fmnist_test
    meta = json.loads(DEFAULT_WEIGHTS.with_suffix(".json").read_text())
    right = evaluate(x, ["class_consistency"], labels=y, n=len(x)).value("class_consistency")
    assert right == pytest.approx(meta["test_accuracy"], abs=1e-9)  # 0.9298: recorded when the weights were made
    x, y = x[:2000], y[:2000]
    perm = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]
    wrong = evaluate(x, ["class_consistency"], labels=perm, n=len(x)).value("class_consistency")
    pred = independent_predictions(x)
    assert wrong == pytest.approx(float(np.mean(pred == perm.numpy())), abs=1e-12) and wrong < 0.15  # near chance (0.1)


# -- intra-FID ------------------------------------------------------------------------------------
def test_intra_fid_is_the_mean_of_per_class_fids_and_cached_per_class(blob_idx, session_cache):
    gen, gy = idx_split(blob_idx, "train")
    test, ty = idx_split(blob_idx, "test")
    ext = get_extractor("fmnist")
    direct = [fid_from_features(ext.features(gen[gy == k]), ext.features(test[ty == k])) for k in range(10)]
    kw = dict(labels=gy, ref="fashion-mnist:test", n=500, data_root=str(blob_idx))
    rep = evaluate(gen, ["fid", "intra_fid"], **kw)
    r = rep.get("intra_fid")
    assert r.value == pytest.approx(float(np.mean(direct)), rel=1e-6)
    assert list(r.details["per_class"].values()) == pytest.approx(direct, rel=1e-6)
    p = r.protocol
    assert p.n_generated_per_class == (50,) * 10 and p.n_reference_per_class == (20,) * 10 and p.n_reference == 200
    assert p.reference == "fashion-mnist:test" and "500 (50/class)" in rep.format_table()
    files = sorted(session_cache.glob("refstats/fashion-mnist-test-class*-fmnist-*.safetensors"))
    assert len({f.name.split("-fmnist-")[1] for f in files}) == len(files) >= 10  # one key per class
    again = evaluate(gen, ["intra_fid"], **kw).get("intra_fid")
    assert again.details["reference_cache_hits"] == 10 and again.value == r.value

    # Good images of the wrong class: FID cannot tell, intra-FID can.
    swapped = evaluate(gen, ["fid", "intra_fid"], **{**kw, "labels": (gy + 1) % 10})
    assert swapped.value("fid") == pytest.approx(rep.value("fid"), rel=1e-9)
    assert swapped.value("intra_fid") > 10 * r.value


def test_intra_fid_on_the_val_split_uses_its_labels(blob_idx):
    gen, gy = idx_split(blob_idx, "test")
    train, ty = idx_split(blob_idx, "train")
    val, vy = train[-50:], ty[-50:]  # val_size(500) = 50, the end of the training file
    ext = get_extractor("fmnist")
    direct = np.mean([fid_from_features(ext.features(gen[gy == k]), ext.features(val[vy == k])) for k in range(10)])
    r = evaluate(gen, ["intra_fid"], labels=gy, ref="fashion-mnist:val", data_root=str(blob_idx)).get("intra_fid")
    assert r.value == pytest.approx(float(direct), rel=1e-6)
    assert r.protocol.reference == "fashion-mnist:val" and r.protocol.n_reference_per_class == (5,) * 10


def test_intra_fid_needs_a_labelled_reference_and_two_samples_per_class(tmp_path, png_folder, labelled_blobs, blob_idx):
    x, y = labelled_blobs(40)
    with pytest.raises(DataError, match="without class labels"):
        evaluate(x, ["intra_fid"], labels=y, ref=str(png_folder(tmp_path / "ref", x)))
    with pytest.raises(GankitError, match="class 0 has 1 generated sample"):
        evaluate(x[:11], ["intra_fid"], labels=torch.tensor([0] + [1] * 10), data_root=str(blob_idx))


# -- labels -----------------------------------------------------------------------------------------
def test_missing_labels_are_a_clear_error(labelled_blobs, tmp_path):
    x, _ = labelled_blobs(20)
    for metric in ("class_consistency", "intra_fid", "cas"):
        with pytest.raises(GankitError, match=rf"{metric}: the samples need the class each was generated for.*--per-class"):
            evaluate(x, ["fid", metric])
    np.save(tmp_path / "x.npy", x.numpy())
    with pytest.raises(GankitError, match=r"no .*x\.labels\.npy beside the samples"):
        evaluate(str(tmp_path / "x.npy"), ["class_consistency"])


def test_labels_from_the_file_beside_an_npy(labelled_blobs, tmp_path):
    x, y = labelled_blobs(30)
    np.save(tmp_path / "x.npy", x.numpy())
    np.save(tmp_path / "x.labels.npy", y.numpy())
    assert sibling_labels_path(tmp_path / "x.npy") == tmp_path / "x.labels.npy"
    rep = evaluate(str(tmp_path / "x.npy"), ["class_consistency"])
    assert rep.info["labels"] == str(tmp_path / "x.labels.npy")
    assert rep.value("class_consistency") == evaluate(x, ["class_consistency"], labels=y).value("class_consistency")
    assert evaluate(str(tmp_path / "x.npy"), ["is"], n=30).info.get("labels") is None  # not loaded when not needed


def test_bad_labels(labelled_blobs):
    x, y = labelled_blobs(20)
    with pytest.raises(GankitError, match="19 entries but there are 20 samples"):
        evaluate(x, ["class_consistency"], labels=y[:19])
    with pytest.raises(GankitError, match=r"class ids 0..9.*\[0, 10\]"):
        evaluate(x, ["class_consistency"], labels=torch.where(y == 9, 10, y))
    with pytest.raises(GankitError, match="integer class ids"):
        evaluate(x, ["class_consistency"], labels=y.float())


def test_first_n_is_round_robin_over_classes(labelled_blobs):
    y = torch.arange(30) // 10  # class-major: ten of class 0, then 1, then 2
    keep = first_n_per_class(y, 9)
    assert keep.tolist() == [0, 1, 2, 10, 11, 12, 20, 21, 22]
    inter = torch.arange(30) % 3
    assert first_n_per_class(inter, 9).tolist() == list(range(9))  # interleaved: exactly the first n
    assert first_n_per_class(y, 30) is None
    x, yb = labelled_blobs(100)
    order = torch.argsort(yb, stable=True)  # samples written class by class
    r = evaluate(x[order], ["class_consistency"], labels=yb[order], n=50).get("class_consistency")
    assert r.protocol.n_generated == 50 and r.protocol.n_generated_per_class == (5,) * 10
