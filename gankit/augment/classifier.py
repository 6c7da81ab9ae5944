"""The downstream classifier: one fixed small CNN, one fixed training recipe, and its metrics.

Why fixed: the augmentation study compares *training sets* (imbalanced real data, oversampling,
classical augmentation, GAN samples), so everything else -- architecture, optimiser, epochs,
batch order -- must stay the same, and only ``seed`` may vary. The same network is the
confidence filter's judge (:mod:`gankit.augment.confidence`), trained on the imbalanced data.

API (what ``benchmarks/augmentation_fashion_mnist.py`` calls)::

    from gankit.augment.classifier import train_classifier, evaluate_classifier
    model = train_classifier(x_uint8, y, seed=0, epochs=EPOCHS, extra=(x_syn, y_syn) or None)
    model.predict_proba(x_uint8)        # float32 N x K, softmax
    m = evaluate_classifier(model, x_test, y_test, rare_class=6)
    m["rare_recall"], m["rare_precision"], m["rare_f1"], m["balanced_accuracy"], m["macro_f1"]

``x`` is uint8 N x C x H x W (any C, any H = W >= 4), ``y`` int64 class ids. The recipe
(:data:`RECIPE`): Adam lr 1e-3, batch 128, linear warm-up over the first 5 % of the steps then
cosine decay to 0, plain cross-entropy (no class weights, no augmentation -- those are the
study's conditions, not the classifier's), :data:`EPOCHS` epochs. Deterministic for a seed,
device and thread count; the caller's RNG state is restored.

Metrics (:func:`metrics_from_confusion`, rows = true class, columns = predicted): recall_k =
C[k,k] / row_k; precision_k = C[k,k] / column_k (0 when nothing is predicted as k); F1_k =
2 C[k,k] / (row_k + column_k). Balanced accuracy is the mean recall over the classes present in
the test labels; macro-F1 the mean F1 over the classes present in the labels or the predictions
(scikit-learn's conventions, so numbers compare with published ones).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError

EPOCHS = 5
BATCH_SIZE = 128
LR = 1e-3
WIDTHS = (16, 32, 64)
RECIPE = (f"SmallCNN {WIDTHS} + fc 128, Adam lr {LR:g}, batch {BATCH_SIZE}, 5% linear warm-up then cosine decay, "
          "cross-entropy, no augmentation")  # fmt: skip


class SmallCNN(nn.Module):
    """Three conv-BN-ReLU blocks (the first two max-pooled), pooled to 3 x 3, fc 128, dropout, linear head.

    Input: float in [-1, 1], N x C x H x W; adaptive pooling makes it work at any size >= 4.
    """

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        a, b, c = WIDTHS
        self.body = nn.Sequential(
            nn.Conv2d(channels, a, 3, padding=1, bias=False), nn.BatchNorm2d(a), nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(inplace=True), nn.MaxPool2d(2, ceil_mode=True),
            nn.Conv2d(b, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(3), nn.Flatten(),
        )  # fmt: skip
        self.head = nn.Sequential(nn.Linear(c * 9, 128), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(128, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def _scale(x: torch.Tensor) -> torch.Tensor:
    return x.float().div_(127.5).sub_(1.0)


@dataclass(eq=False)
class Classifier:
    """A trained :class:`SmallCNN` with what it was trained on; ``predict_proba`` takes uint8 images."""

    net: SmallCNN
    num_classes: int
    image_shape: tuple[int, int, int]
    seed: int
    epochs: int
    n_train: int
    history: list[dict[str, float]] = field(default_factory=list)
    device: str = "cpu"

    @torch.inference_mode()
    def predict_proba(self, x: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
        """Softmax probabilities, float32 N x K on CPU, for uint8 N x C x H x W images."""
        _check_images(x, "images")
        if tuple(x.shape[1:]) != self.image_shape:
            raise ConfigError(f"the classifier was trained on {self.image_shape} images, got {tuple(x.shape[1:])}.")
        self.net.eval()
        out = [F.softmax(self.net(_scale(x[i : i + batch_size]).to(self.device)).float(), 1).cpu() for i in range(0, len(x), batch_size)]
        return torch.cat(out) if out else torch.empty(0, self.num_classes)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Arg-max class ids, int64 N."""
        return self.predict_proba(x).argmax(1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.predict_proba(x)


def _check_images(x: torch.Tensor, what: str) -> None:
    if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.dim() != 4:
        got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise ConfigError(f"{what}: expected uint8 N x C x H x W images, got {got}.")


def _check_labels(x: torch.Tensor, y: torch.Tensor, what: str) -> torch.Tensor:
    y = torch.as_tensor(y).long().reshape(-1)
    if len(y) != len(x):
        raise ConfigError(f"{what}: {len(x)} images but {len(y)} labels.")
    if len(y) and int(y.min()) < 0:
        raise ConfigError(f"{what}: class ids are >= 0, got {int(y.min())}.")
    return y


def train_classifier(
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int = 0,
    epochs: int = EPOCHS,
    extra: tuple[torch.Tensor, torch.Tensor] | None = None,
    *,
    num_classes: int | None = None,
    device: str = "cpu",
) -> Classifier:
    """Train the fixed classifier on ``(x, y)`` plus ``extra`` (e.g. synthetic samples), from scratch.

    ``num_classes`` defaults to the largest label + 1; pass it when a class may be absent.
    ``seed`` fixes initialisation, batch order and dropout.
    """
    _check_images(x, "training images")
    y = _check_labels(x, y, "training data")
    if extra is not None:
        ex, ey = extra
        _check_images(ex, "extra images")
        ey = _check_labels(ex, ey, "extra data")
        if tuple(ex.shape[1:]) != tuple(x.shape[1:]):
            raise ConfigError(f"extra images are {tuple(ex.shape[1:])}, the training images {tuple(x.shape[1:])}.")
        x, y = torch.cat([x, ex]), torch.cat([y, ey])
    if len(x) == 0:
        raise ConfigError("the classifier needs at least one training image.")
    if epochs < 1:
        raise ConfigError(f"epochs: at least 1, got {epochs}.")
    k = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if int(y.max()) >= k or k < 2:
        raise ConfigError(f"num_classes {k}: needs at least 2 classes and more than the largest label {int(y.max())}.")
    n = len(x)
    per_epoch = math.ceil(n / BATCH_SIZE)
    total = epochs * per_epoch
    warmup = max(1, total // 20)

    def lr_at(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    history: list[dict[str, float]] = []
    with torch.random.fork_rng(devices=[torch.device(device)] if device.startswith("cuda") else []):
        torch.manual_seed(seed)
        order = torch.Generator().manual_seed(seed)
        net = SmallCNN(x.shape[1], k).to(device)
        opt = torch.optim.Adam(net.parameters(), lr=LR)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
        for epoch in range(epochs):
            net.train()
            perm = torch.randperm(n, generator=order)
            loss_sum, correct = 0.0, 0
            for b in range(per_epoch):
                idx = perm[b * BATCH_SIZE : (b + 1) * BATCH_SIZE]
                xb, yb = _scale(x[idx]).to(device), y[idx].to(device)
                logits = net(xb)
                loss = F.cross_entropy(logits, yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                loss_sum += float(loss.detach()) * len(idx)
                correct += int((logits.argmax(1) == yb).sum())
            history.append({"epoch": epoch + 1, "train_loss": loss_sum / n, "train_acc": correct / n})
    net.eval()
    return Classifier(net, k, tuple(x.shape[1:]), seed, epochs, n, history, device)  # type: ignore[arg-type]


def confusion_matrix(y_true: torch.Tensor | np.ndarray, y_pred: torch.Tensor | np.ndarray, num_classes: int) -> np.ndarray:
    """int64 K x K counts, rows = true class, columns = predicted (torchmetrics' multiclass confusion matrix)."""
    from torchmetrics.functional.classification import multiclass_confusion_matrix

    t, p = torch.as_tensor(np.asarray(y_true)).long(), torch.as_tensor(np.asarray(y_pred)).long()
    if t.shape != p.shape:
        raise ConfigError(f"confusion matrix: {len(t)} labels but {len(p)} predictions.")
    if len(t) == 0:
        return np.zeros((num_classes, num_classes), dtype=np.int64)
    return multiclass_confusion_matrix(p, t, num_classes, validate_args=True).numpy().astype(np.int64)


def metrics_from_confusion(confusion: np.ndarray | list[list[int]], rare_class: int) -> dict[str, Any]:
    """Rare-class recall/precision/F1, balanced accuracy, macro-F1, accuracy and per-class values (module docstring)."""
    c = np.asarray(confusion, dtype=np.int64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 2 or (c < 0).any():
        raise ConfigError(f"a confusion matrix is K x K (K >= 2) non-negative counts, got shape {c.shape}.")
    k = c.shape[0]
    if not 0 <= rare_class < k:
        raise ConfigError(f"rare_class {rare_class}: the classes are 0..{k - 1}.")
    tp, support, predicted = np.diag(c).astype(np.float64), c.sum(1), c.sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        f1 = np.where(support + predicted > 0, 2 * tp / (support + predicted), np.nan)
    n = int(c.sum())

    def value(a: np.ndarray, i: int) -> float | None:
        return None if np.isnan(a[i]) else float(a[i])

    return {
        "n": n,
        "accuracy": float(tp.sum() / n) if n else float("nan"),
        "balanced_accuracy": float(np.nanmean(recall)) if (support > 0).any() else float("nan"),
        "macro_f1": float(np.nanmean(f1)) if (support + predicted > 0).any() else float("nan"),
        "rare_class": int(rare_class),
        "rare_recall": value(recall, rare_class),
        "rare_precision": float(precision[rare_class]),
        "rare_f1": value(f1, rare_class),
        "per_class": {"recall": [value(recall, i) for i in range(k)], "precision": [float(p) for p in precision],
                      "f1": [value(f1, i) for i in range(k)], "support": support.tolist()},  # fmt: skip
        "confusion": c.tolist(),
    }


def evaluate_classifier(model: Classifier, x: torch.Tensor, y: torch.Tensor, rare_class: int) -> dict[str, Any]:
    """:func:`metrics_from_confusion` of ``model`` on real test images ``x`` (uint8) with labels ``y``."""
    y = _check_labels(x, y, "test data")
    if len(y) and int(y.max()) >= model.num_classes:
        raise ConfigError(f"test labels go up to {int(y.max())}, but the classifier has {model.num_classes} classes.")
    pred = model.predict(x)
    return metrics_from_confusion(confusion_matrix(y, pred, model.num_classes), rare_class)


__all__ = ["EPOCHS", "RECIPE", "Classifier", "SmallCNN", "confusion_matrix", "evaluate_classifier", "metrics_from_confusion",
           "train_classifier"]  # fmt: skip
