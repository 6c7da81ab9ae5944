"""Classification Accuracy Score on labelled blobs (trains in about a second) and, if installed, Fashion-MNIST."""

import numpy as np
import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics import evaluate
from gankit.metrics.cas import classification_accuracy_score, real_subset, train_and_test
from gankit.metrics.extractors.train_fmnist import fit_fmnist_net


def blob_split(root, split):
    from gankit.data.idx import load_idx_dataset

    images, labels = load_idx_dataset("fashion-mnist", split, root=root)
    return torch.tensor(np.asarray(images)).unsqueeze(1), torch.from_numpy(labels)


def shuffled(y: torch.Tensor, seed: int = 0) -> torch.Tensor:
    return y[torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))]


def test_real_images_score_like_real_data_and_shuffled_labels_near_chance(blob_idx):
    x, y = blob_split(blob_idx, "train")
    kw = dict(ref="fashion-mnist:test", train_ref="fashion-mnist:train", data_root=str(blob_idx), n=500, cas_epochs=2, cache=True)
    good = evaluate(x, ["cas"], labels=y, **kw)
    cas, real = good.value("cas"), good.value("cas.real")
    assert real > 0.9 and cas > 0.9 and abs(cas - real) < 0.05
    bad = evaluate(x, ["cas"], labels=shuffled(y), **kw)
    assert bad.value("cas") < 0.35 and bad.value("cas.real") == real  # chance is 0.1; the real twin is unchanged
    assert bad.get("cas.real").details["cached"] is True and good.get("cas.real").details["cached"] is False
    p = good.get("cas").protocol
    assert p.extractor == "fmnistnet-trained" and p.reference == "fashion-mnist:test" and p.n_reference == 200
    assert p.n_generated == 500 and p.n_generated_per_class == (50,) * 10 and p.n_reference_per_class == (20,) * 10
    d = good.get("cas").details
    assert d["epochs"] == 2 and d["n_train"] == 500 and d["cpu_seconds"] > 0 and d["real_accuracy"] == real
    assert good.get("cas.real").details["n_train"] == 500 and set(d["per_class"]) >= {"Trouser", "Bag"}


def test_cas_is_deterministic_for_a_seed(labelled_blobs):
    x, y = labelled_blobs(300, seed=0)
    xt, yt = labelled_blobs(100, seed=1)
    ys = shuffled(y)  # an unlearnable task: the accuracies are not pinned at 1.0
    a = train_and_test(x, ys, xt, yt, epochs=1, seed=5)
    b = train_and_test(x, ys, xt, yt, epochs=1, seed=5)
    timing = ("wall_seconds", "cpu_seconds")
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}
    state = torch.random.get_rng_state()
    m1, h1 = fit_fmnist_net(x, ys, epochs=1, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG is left alone
    m2, h2 = fit_fmnist_net(x, ys, epochs=1, seed=5)
    m3, _ = fit_fmnist_net(x, ys, epochs=1, seed=6)
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    assert h1 == h2 and all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not all(torch.equal(s1[k], s3[k]) for k in s1 if s1[k].is_floating_point())
    m4, _ = fit_fmnist_net(x.float() / 255.0, ys, epochs=1, seed=5)  # uint8 scaled per batch = a float copy
    assert all(torch.equal(s1[k], m4.state_dict()[k]) for k in s1)


def test_real_twin_takes_as_many_real_images_per_class():
    labels = np.repeat(np.arange(3), 10)
    pick = real_subset(labels, (2, 0, 5), seed=0)
    assert np.bincount(labels[pick], minlength=3).tolist() == [2, 0, 5]
    assert np.array_equal(pick, real_subset(labels, (2, 0, 5), seed=0))
    assert not np.array_equal(pick, real_subset(labels, (2, 0, 5), seed=1))
    with pytest.raises(GankitError, match="needs 11 training images of class 1.*has 10"):
        real_subset(labels, (1, 11, 1), seed=0)


def test_cas_errors(blob_idx, labelled_blobs):
    x, y = labelled_blobs(40)
    xt, yt = labelled_blobs(20, seed=1)
    with pytest.raises(GankitError, match="no generated samples of class\\(es\\) 8, 9"):
        classification_accuracy_score(x[y < 8], y[y < 8], x, y, xt, yt, epochs=1)
    with pytest.raises(GankitError, match="would train on its test set"):
        evaluate(x, ["cas"], labels=y, ref="fashion-mnist:train", train_ref="fashion-mnist:train", data_root=str(blob_idx))
    with pytest.raises(GankitError, match="cas_epochs must be at least 1"):
        evaluate(x, ["cas"], labels=y, cas_epochs=0)


def test_cas_on_fashion_mnist_training_images(fmnist_train, fmnist_test):
    """Real training images as "generated": the CAS is the real-data accuracy up to the choice of images."""
    x, y = fmnist_train
    xt, yt = fmnist_test[0][:3000], fmnist_test[1][:3000]
    pick = torch.from_numpy(real_subset(y.numpy(), (200,) * 10, seed=1))
    out = classification_accuracy_score(x[pick], y[pick], x, y, xt, yt, epochs=2, seed=0)
    assert out["cas"]["n_train"] == out["real"]["n_train"] == 2000
    assert 0.7 < out["real"]["accuracy"] < 0.93 and abs(out["cas"]["accuracy"] - out["real"]["accuracy"]) < 0.04
    wrong = train_and_test(x[pick], shuffled(y[pick]), xt, yt, epochs=2, seed=0)
    assert wrong["accuracy"] < 0.3
