"""The real samples D is calibrated on (and MH-GAN's chains start from): data D did not train on, where there is such.

* Fashion-MNIST / MNIST: the run's ``val`` split (the last 5,000 images of the training file,
  :mod:`gankit.data.splits`). It is truly held out when the run selected checkpoints on ``val``
  (training left it out); otherwise D has seen it, and ``details`` says so.
* 2D mixtures: fresh draws from the mixture (training uses one fixed draw of ``data.n_points``).
* An image folder has no held-out split: its own images are used, and ``details`` says so.

``data.classes`` applies as in training. ``data.per_class_limit`` applies too: a class cut to N
training images keeps at most its first N held-out images, so a rare class is no richer in the
calibration data than in training (the rare-class study would otherwise leak the very images it
pretends not to have). Pass ``held_out=`` to :func:`gankit.sampling.rejection_sample` to choose.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch

from gankit.config import Config
from gankit.errors import DataError


@dataclass
class HeldOut:
    x: torch.Tensor  # float samples in the model's range (images in [-1, 1])
    c: torch.Tensor | None  # int64 labels for a conditional run
    source: str  # what the samples are, for the result's details
    unseen: bool  # whether D never trained on them


def _seed(seed: int) -> int:
    return int.from_bytes(hashlib.sha256(f"gankit-heldout:{seed}".encode()).digest()[:8], "little")


def as_model_range(x: torch.Tensor) -> torch.Tensor:
    return x.float().div(127.5).sub(1.0) if x.dtype == torch.uint8 else x.float()


def _cap(labels: torch.Tensor, cfg: Config) -> torch.Tensor:
    """Indices kept when ``data.per_class_limit`` caps classes (ids are original; labels may be remapped)."""
    limits = cfg.data.per_class_limit or {}
    keep = torch.ones(len(labels), dtype=torch.bool)
    for orig, n in limits.items():
        k = cfg.data.classes.index(int(orig)) if cfg.data.classes is not None else int(orig)
        keep[torch.nonzero(labels == k).reshape(-1)[int(n) :]] = False
    return torch.nonzero(keep).reshape(-1)


def _subset(index: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """At most ``n`` of ``index``, drawn at random (a folder lists its files class by class), in index order."""
    if len(index) <= n:
        return index
    pick = torch.randperm(len(index), generator=torch.Generator().manual_seed(_seed(seed)))[:n]
    return index[pick.sort().values]


def load_held_out(cfg: Config, n: int, seed: int, conditional: bool) -> HeldOut:
    """At most ``n`` real samples (2D: exactly ``n``) for calibration, with labels when ``conditional``."""
    from gankit.data import data_spec, load_real_images
    from gankit.data.datasets import IdxDataset
    from gankit.train.eval_hook import holds_out_val

    spec = data_spec(cfg.data.name)
    mix = spec.mixture(cfg.data)
    if mix is not None:
        means, sigma = mix
        g = torch.Generator().manual_seed(_seed(seed))
        modes = torch.randint(len(means), (n,), generator=g)
        x = means[modes] + sigma * torch.randn(n, means.shape[1], generator=g)
        return HeldOut(x, None, f"{n} fresh draws from the {cfg.data.name} mixture (training used a fixed draw of "
                                f"{cfg.data.n_points} points)", True)  # fmt: skip
    if isinstance(spec, IdxDataset):
        x, labels = spec.load_real_labeled(cfg.data, "val", None, seed)
        keep = _subset(_cap(labels, cfg), n, seed)
        x, labels = x[keep], labels[keep]
        unseen = holds_out_val(cfg)
        source = (f"the val split of {cfg.data.name} ({len(x)} images, the end of its training file), "
                  + ("held out of training (checkpoint selection on val)" if unseen else
                     "which this run also trained on (it did not hold val out: eval.select_on is not val)"))  # fmt: skip
        if cfg.data.per_class_limit:
            source += f"; per_class_limit {dict(cfg.data.per_class_limit)} applied to it as in training"
    else:
        labels = None
        if conditional:
            x, labels = spec.load_real_labeled(cfg.data, None, None, seed)
        else:
            x = load_real_images(cfg.data)
        keep = _subset(_cap(labels, cfg) if labels is not None else torch.arange(len(x)), n, seed)
        x, labels = x[keep], (labels[keep] if labels is not None else None)
        unseen = False
        source = f"{len(x)} of the training images of {cfg.data.name} (this data source has no held-out split)"
    if len(x) == 0:
        raise DataError(f"{cfg.data.name}: no real images to calibrate the discriminator on.")
    return HeldOut(as_model_range(x), labels if conditional else None, source, unseen)
