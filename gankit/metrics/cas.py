"""Classification Accuracy Score (CAS, Ravuri & Vinyals 2019): train on generated, test on real.

A fixed classifier -- gankit's Fashion-MNIST architecture (:class:`~gankit.metrics.extractors.fmnist.FMNISTNet`)
with the shipped classifier's recipe (:func:`~gankit.metrics.extractors.train_fmnist.fit_fmnist_net`:
Adam, lr 2e-3, warm-up then cosine decay, batch 128, no augmentation) -- is trained from scratch on
the generated samples only, labelled with the class each was generated for, and its top-1
accuracy on the real test split (``ref``) is the CAS. Next to it, ``cas.real``: the same
classifier, recipe, seed and number of images per class, trained on real training images
(``train_ref``, a seeded per-class subset). A generator whose class-k samples cover class k as real
data does gets a CAS near ``cas.real``; one that draws good images of few modes, or of the wrong
class, gets much less, which FID and IS do not show.

Defaults: :data:`DEFAULT_EPOCHS` = 3 epochs and :data:`DEFAULT_PER_CLASS` = 6,000 samples per class
-- as many as Fashion-MNIST's training set, 60,000 images. Measured on one CPU thread: one
classifier on 60,000 real training images took 135 CPU seconds for 3 epochs (42 s for 1) and
reached 91.62% test accuracy (89.74% after 1; the shipped classifier's 6 epochs: 92.98%). So ``cas``
costs ~2.3 CPU minutes and ``cas.real`` as much again; ``cas.real`` is cached (keyed by the real
data's fingerprint, the per-class counts, the seed and the recipe), so re-evaluating pays it once.
:func:`gankit.metrics.evaluate` keeps the first ``n`` samples (round-robin over classes), so pass
``n`` of at least the number of samples (60,000) for the default. Deterministic for a seed, device
and thread count: the seed fixes initialisation, batch order,
dropout and the real subset; the caller's RNG state is restored.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from typing import Any

import numpy as np
import torch

from gankit.errors import GankitError
from gankit.metrics.extractors.train_fmnist import (
    DEFAULT_AUGMENT,
    DEFAULT_BATCH_SIZE,
    DEFAULT_LR,
    fit_fmnist_net,
)

DEFAULT_EPOCHS = 3
DEFAULT_PER_CLASS = 6000  # images per class a caller should generate for CAS (60,000 for 10 classes)
CLASSIFIER = "fmnistnet-trained"  # Protocol.extractor of CAS: the architecture, trained afresh
CACHE_VERSION = 1


def recipe(epochs: int, batch_size: int = DEFAULT_BATCH_SIZE) -> str:
    return (
        f"FMNISTNet from scratch, {epochs} epochs, batch {batch_size}, Adam lr {DEFAULT_LR:g} with linear warm-up "
        f"and cosine decay, augmentation {DEFAULT_AUGMENT}"
    )


def train_and_test(
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    x_test: torch.Tensor,
    y_test: torch.Tensor,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    device: str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> dict[str, Any]:
    """Train the classifier on uint8 ``x_train`` (N x 1 x 28 x 28) / ``y_train`` and test it on ``x_test`` / ``y_test``.

    Returns accuracy, per-class accuracy (None for a class absent from the test set), the training
    set size, and the wall and CPU seconds (training and testing) with the thread count.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    model, _ = fit_fmnist_net(x_train, y_train, epochs=epochs, seed=seed, device=device, batch_size=batch_size, progress=progress)
    model.eval()
    with torch.inference_mode():
        pred = torch.cat([model(x_test[i : i + 1000].float().div_(255.0).to(device)).argmax(1).cpu() for i in range(0, len(x_test), 1000)])
    correct = (pred == y_test).numpy()
    yt = y_test.numpy()
    per_class = [float(correct[yt == c].mean()) if (yt == c).any() else None for c in range(int(model.head.out_features))]
    return {
        "accuracy": float(correct.mean()),
        "per_class": per_class,
        "n_train": len(x_train),
        "epochs": epochs,
        "seed": seed,
        "wall_seconds": round(time.perf_counter() - wall, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "threads": torch.get_num_threads(),
    }


def real_subset(labels: np.ndarray, counts: tuple[int, ...], seed: int, spec: str = "the real training set") -> np.ndarray:
    """Sorted indices of ``counts[k]`` seeded random real images of each class ``k``: the real-data twin of the generated set."""
    labels = np.asarray(labels, dtype=np.int64)
    rng = np.random.default_rng(seed)
    picks = []
    for c, m in enumerate(counts):
        of_c = np.flatnonzero(labels == c)
        if m > len(of_c):
            raise GankitError(
                f"cas: the real-data baseline needs {m} training images of class {c} (as many as generated) but {spec} "
                f"has {len(of_c)}; generate at most {len(of_c)} per class."
            )
        if m:
            picks.append(rng.choice(of_c, size=m, replace=False))
    return np.sort(np.concatenate(picks)) if picks else np.zeros(0, dtype=np.int64)


def classification_accuracy_score(
    generated: torch.Tensor,
    labels: torch.Tensor,
    real_train: torch.Tensor,
    real_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    device: str = "cpu",
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = False,
) -> dict[str, dict[str, Any]]:
    """``{"cas": ..., "real": ...}``: :func:`train_and_test` on the generated set and on as many real images per class.

    All images uint8 N x 1 x 28 x 28, labels int64. Every class of the test set must have generated samples.
    """
    counts = _counts(labels, test_labels)
    pick = torch.from_numpy(real_subset(real_labels.numpy(), counts, seed))
    kw = dict(epochs=epochs, seed=seed, device=device, batch_size=batch_size, progress=progress)
    return {
        "cas": train_and_test(generated, labels, test, test_labels, **kw),
        "real": train_and_test(real_train[pick], real_labels[pick], test, test_labels, **kw),
    }


def _counts(labels: torch.Tensor, test_labels: torch.Tensor) -> tuple[int, ...]:
    k = int(max(int(labels.max()), int(test_labels.max()))) + 1
    counts = tuple(int(c) for c in torch.bincount(labels, minlength=k))
    missing = sorted(set(torch.unique(test_labels).tolist()) - {c for c, m in enumerate(counts) if m})
    if missing:
        raise GankitError(
            f"cas: no generated samples of class(es) {', '.join(map(str, missing))}, which the test set has; "
            "generate samples of every class (e.g. `gankit sample --per-class M`)."
        )
    return counts


def _cache_path(fields: dict[str, Any]):
    from gankit.metrics.refstats import cache_dir, cache_key

    return cache_dir().parent / "cas" / f"real-{cache_key(fields)}.json"


def _real_baseline(ctx, train_ref, test_ref, counts, test, test_labels, epochs: int) -> tuple[dict[str, Any], bool]:
    """``cas.real``'s numbers, from the cache when the same real data, counts, seed and recipe were trained before."""
    from gankit.metrics._io import write_json_atomic
    from gankit.metrics.reference import dataset_fingerprint

    def sha(a: np.ndarray) -> str:
        return hashlib.sha256(np.ascontiguousarray(a, dtype=np.int64).tobytes()).hexdigest()

    fields = {
        "version": CACHE_VERSION, "train": train_ref.spec, "train_fingerprint": dataset_fingerprint(train_ref, ctx.data_root)[0],
        "train_labels": sha(ctx.ref_labels(train_ref)), "test": test_ref.spec,
        "test_fingerprint": dataset_fingerprint(test_ref, ctx.data_root)[0], "test_labels": sha(test_labels.numpy()),
        "counts": list(counts), "seed": ctx.seed, "epochs": epochs, "batch_size": DEFAULT_BATCH_SIZE, "lr": DEFAULT_LR,
        "augment": DEFAULT_AUGMENT, "device": torch.device(ctx.device).type, "torch": torch.__version__,
    }  # fmt: skip
    path = _cache_path(fields)
    if ctx.cache and path.is_file():
        try:
            entry = json.loads(path.read_text())
            if entry.get("fields") == fields:
                return entry["result"], True
        except (OSError, ValueError, KeyError, AttributeError):
            pass
        warnings.warn(f"CAS cache {path} is unreadable or for other inputs; retraining", stacklevel=2)
    from gankit.metrics.extractors.preprocess import FMNIST_INPUT, prepare_images

    images = prepare_images(ctx.ref_images(train_ref), FMNIST_INPUT)
    pick = torch.from_numpy(real_subset(ctx.ref_labels(train_ref), counts, ctx.seed, train_ref.spec))
    real_y = torch.from_numpy(ctx.ref_labels(train_ref))[pick]
    result = train_and_test(images[pick], real_y, test, test_labels, epochs=epochs, seed=ctx.seed, device=ctx.device, progress=ctx.progress)
    if ctx.cache:
        try:
            write_json_atomic(path, {"fields": fields, "result": result})
        except OSError as e:
            warnings.warn(f"cannot write the CAS cache {path} ({e}); set GANKIT_CACHE to a writable folder", stacklevel=2)
    return result, False


def report(ctx) -> None:
    """``cas`` of :func:`gankit.metrics.evaluate`: ``cas`` (trained on the samples) and ``cas.real`` (on real images), tested on ``ref``."""
    from gankit.metrics.extractors.fmnist import CLASS_NAMES, NUM_CLASSES
    from gankit.metrics.extractors.preprocess import FMNIST_INPUT, prepare_images, resize_method
    from gankit.metrics.labels import class_counts
    from gankit.metrics.protocol import MetricResult, Protocol
    from gankit.metrics.reference import check_shapes, parse_reference

    labels = ctx.need_labels("cas")
    test_ref, train_ref = ctx.reference, parse_reference(ctx.train_ref)
    if test_ref.spec == train_ref.spec:
        raise GankitError(f"cas: the real-data baseline would train on its test set ({test_ref.spec}); pass a train_ref other than ref.")
    epochs = DEFAULT_EPOCHS if ctx.cas_epochs is None else int(ctx.cas_epochs)
    test, test_labels = ctx.ref_images(test_ref), torch.from_numpy(ctx.ref_labels(test_ref))
    check_shapes(ctx.shape, tuple(test.shape[1:]), test_ref)
    counts = _counts(labels, test_labels)
    test_x = prepare_images(test, FMNIST_INPUT)
    with ctx.timed("cas"):
        gen = train_and_test(
            prepare_images(ctx.x, FMNIST_INPUT), labels, test_x, test_labels,
            epochs=epochs, seed=ctx.seed, device=ctx.device, progress=ctx.progress,
        )  # fmt: skip
    with ctx.timed("cas_real"):
        check_shapes(ctx.shape, tuple(ctx.ref_images(train_ref).shape[1:]), train_ref)
        real, cached = _real_baseline(ctx, train_ref, test_ref, counts, test_x, test_labels, epochs)
    proto = Protocol(
        extractor=CLASSIFIER, extractor_hash=None, n_generated=len(ctx.x), n_reference=len(test), reference=test_ref.spec,
        resize=resize_method(ctx.shape, FMNIST_INPUT), seed=ctx.seed, image_shape=ctx.shape,
        n_generated_per_class=class_counts(labels, NUM_CLASSES), n_reference_per_class=class_counts(test_labels, NUM_CLASSES),
    )  # fmt: skip

    def details(r: dict[str, Any], trained_on: str, **extra: Any) -> dict[str, Any]:
        per = {CLASS_NAMES[c] if c < len(CLASS_NAMES) else str(c): v for c, v in enumerate(r["per_class"])}
        return {"trained_on": trained_on, "tested_on": test_ref.spec, "per_class": per, "recipe": recipe(epochs),
                **{k: r[k] for k in ("n_train", "epochs", "wall_seconds", "cpu_seconds", "threads")}, **extra}  # fmt: skip

    ratio = gen["accuracy"] / real["accuracy"] if real["accuracy"] > 0 else None
    ctx.report.add(MetricResult("cas", gen["accuracy"], proto, details=details(gen, "generated samples", real_accuracy=real["accuracy"], ratio_to_real=ratio)))
    ctx.report.add(MetricResult("cas.real", real["accuracy"], proto, details=details(real, f"{train_ref.spec} (seeded per-class subset)", cached=cached)))


__all__ = [
    "DEFAULT_EPOCHS", "DEFAULT_PER_CLASS", "classification_accuracy_score", "real_subset", "recipe", "report", "train_and_test",
]  # fmt: skip
