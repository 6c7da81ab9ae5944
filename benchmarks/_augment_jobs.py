"""The augmentation study's units of work: one GAN training, one classifier row. Each caches its JSON.

A *cell* is one rare class cut to one level (``shirt`` at 1 %). Per cell, the GANs are trained once
(``gan`` the recipe as shipped, ``lowdata`` the same plus DiffAugment or ADA) and every classifier
row of every seed reuses them. Each function here is a pure function of its arguments and the
cache folder, importable by a spawned worker (``--parallel``), and writes its result atomically,
so a killed study loses only the jobs in flight. A copy of every result JSON is kept in
``Study.results`` (benchmarks/results/augmentation, a few kB each, in git): a new checkout has
no cache, and a rerun then redoes only what is missing. The cache key of a result covers every
setting that changes it; a result whose key differs is recomputed.
"""

from __future__ import annotations

import functools
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

import _results
from _results import key_of as _hash, read_cached

ROOT = Path(__file__).resolve().parent.parent
#: The conditions, in table order: (key, label). ``gan_*`` and ``lowdata`` add synthetic images.
CONDITIONS = [
    ("real", "(a) imbalanced real"),
    ("oversample", "(b) + random oversampling"),
    ("classical", "(c) + classical augmentation"),
    ("gan", "(d) + cGAN samples"),
    ("gan_conf", "(e) (d) filtered by confidence"),
    ("gan_drs", "(e) (d) filtered by DRS"),
    ("lowdata", "(f) + cGAN with {low} samples"),
]
SYNTHETIC = ("classical", "gan", "gan_conf", "gan_drs", "lowdata")
#: The GAN each condition samples from.
GAN_OF = {"gan": "gan", "gan_conf": "gan", "gan_drs": "gan", "lowdata": "lowdata"}
LOW_DATA = {
    "diffaugment": {"name": "diffaugment", "policy": ["color", "translation", "cutout"], "translation_ratio": 0.125, "cutout_ratio": 0.5},
    "ada": {"name": "ada"},
}


@dataclass(frozen=True)
class Study:
    """Every setting of a study run (picklable: it travels to the worker processes)."""

    out: str
    recipe: str = "tacgan_fashion_mnist"  # gankit augment's default recipe
    minutes: float = 10.0
    steps: int | None = None  # a fixed number of GAN steps instead of minutes (--tiny)
    gan_overrides: tuple[str, ...] = ()  # extra recipe overrides of both GANs (--tiny: small nets)
    low_data: str = "diffaugment"
    balance: bool = False
    epochs: int = 5
    confidence: float = 0.9
    gamma: float | None = None
    calibration_n: int = 5000
    burn_in: int = 10000  # DRS's burn-in samples (its estimate of max D~)
    quality_n: int = 1000
    data_root: str | None = None
    limit: int | None = None  # only the first N training images (--tiny)
    test_limit: int | None = None
    n_add: int | None = None  # synthetic images per condition; None: up to the median class count
    results: str | None = None  # kept copies of every result JSON (benchmarks/results/augmentation, in git); None: none


@dataclass(frozen=True)
class Cell:
    klass: int
    name: str
    level: float  # percent of the class's training images kept

    @property
    def tag(self) -> str:
        return f"{self.name}-{self.level:g}pct"


def lookup(study: Study, path: Path, key: str) -> dict | None:
    """The result of the current settings at ``path``: the cache's, else the kept copy's."""
    return _results.lookup(study.out, study.results, path, key)


def save(study: Study, path: Path, obj: dict) -> None:
    _results.save(study.out, study.results, path, obj)


def cell_dir(study: Study, cell: Cell) -> Path:
    return Path(study.out) / cell.tag


# --------------------------------------------------------------------------- data


def _data_overrides(study: Study) -> list[str]:
    out = [f"data.root={study.data_root}"] if study.data_root else []
    return out + ([f"data.limit={study.limit}"] if study.limit else [])


@functools.lru_cache(maxsize=8)
def class_counts(study: Study) -> np.ndarray:
    """Training images per class before any cut (after ``--limit``)."""
    from gankit.data.idx import load_idx_dataset

    _, labels = load_idx_dataset("fashion-mnist", "train", study.data_root)
    labels = labels[: study.limit] if study.limit else labels
    return np.bincount(labels, minlength=10)


def n_real(study: Study, cell: Cell) -> int:
    """How many images of the rare class the cut keeps: ``level`` % of them, at least 1 (60 and 300 at 1 and 5 %)."""
    return max(1, int(round(class_counts(study)[cell.klass] * cell.level / 100.0)))


def n_added(study: Study, cell: Cell) -> int:
    """Synthetic (or copied) rare-class images each enlarging condition adds: up to the median class count."""
    if study.n_add:
        return study.n_add
    counts = class_counts(study)
    others = np.delete(counts, cell.klass)
    return max(1, int(np.median(others)) - n_real(study, cell))


def gan_config(study: Study, cell: Cell, kind: str):  # type: ignore[no-untyped-def]
    """The recipe of the cell's GAN ``kind`` (``gan`` | ``lowdata``), trained on the cut data only."""
    from gankit.config import load_config, load_raw

    path = ROOT / "configs" / f"{study.recipe}.yaml"
    budget = [f"train.max_steps={study.steps}", "train.max_minutes=null"] if study.steps else \
        [f"train.max_minutes={study.minutes}", "train.max_steps=null"]  # fmt: skip
    over = [*_data_overrides(study), f"data.per_class_limit={{{cell.klass}: {n_real(study, cell)}}}", "seed=0", *budget,
            "eval.fid=off", "log.progress=false", "log.tensorboard=false", "log.eval_every=100000000",
            "log.ckpt_every=100000000", "log.keep_last=1", *study.gan_overrides]  # fmt: skip
    if study.balance:
        over.append("data.balance=true")
    if kind == "lowdata":
        regs = [r for r in load_raw(path).get("regularizers", []) if r.get("name") not in LOW_DATA]
        over.append("regularizers=" + json.dumps(regs + [LOW_DATA[study.low_data]]))
    return load_config(path, over), {"recipe": path.read_text(), "overrides": over}


def imbalanced_train(study: Study, cell: Cell) -> tuple[torch.Tensor, torch.Tensor]:
    """Exactly the images the cell's GAN trains on (the data layer's own selection), uint8 N x 1 x 28 x 28."""
    from gankit.data.datasets import _images
    from gankit.train.eval_hook import holds_out_val

    cfg, _ = gan_config(study, cell, "gan")
    return _images(cfg.data, "train", cfg.data.limit, holds_out_val(cfg), training=True)


def test_set(study: Study) -> tuple[torch.Tensor, torch.Tensor]:
    from gankit.data.idx import load_idx_dataset

    x, y = load_idx_dataset("fashion-mnist", "test", study.data_root)
    n = study.test_limit or len(x)
    return torch.from_numpy(x[:n].copy()).unsqueeze(1), torch.from_numpy(y[:n].copy()).long()


# --------------------------------------------------------------------------- GAN


def gan_key(study: Study, cell: Cell, kind: str) -> str:
    return _hash(gan_config(study, cell, kind)[1])


def train_gan(study: Study, cell: Cell, kind: str) -> dict:
    """Train (or find cached) the cell's GAN ``kind``; the JSON beside the run has its steps and time."""
    from gankit.train.engine import train

    key = gan_key(study, cell, kind)
    info = cell_dir(study, cell) / f"{kind}.json"
    cached = read_cached(info, key)
    if cached and (cell_dir(study, cell) / kind / "checkpoints").is_dir():
        return cached
    run = cell_dir(study, cell) / kind
    shutil.rmtree(run, ignore_errors=True)
    cfg, _ = gan_config(study, cell, kind)
    t0 = time.perf_counter()
    res = train(cfg, run, hooks=[])
    out = {"key": key, "kind": kind, "cell": cell.tag, "steps": res.step, "status": res.status,
           "seconds": round(time.perf_counter() - t0, 1), "threads": torch.get_num_threads()}  # fmt: skip
    save(study, info, out)
    return out


# --------------------------------------------------------------------------- classifier rows


def row_key(study: Study, cell: Cell, cond: str, seed: int) -> str:
    from gankit.augment.classifier import RECIPE

    parts: dict[str, Any] = {"cond": cond, "seed": seed, "epochs": study.epochs, "recipe": RECIPE, "n_real": n_real(study, cell),
                             "limit": study.limit, "test_limit": study.test_limit, "root": study.data_root}  # fmt: skip
    if cond != "real":
        parts["n_add"] = n_added(study, cell)
    if cond in GAN_OF:
        parts["gan"] = gan_key(study, cell, GAN_OF[cond])
    if cond == "gan_conf":
        parts["confidence"] = study.confidence
    if cond == "gan_drs":
        parts["drs"] = [study.gamma, study.calibration_n, study.burn_in]
    if cond in SYNTHETIC:
        parts["quality_n"] = study.quality_n
    return _hash(parts)


def row_path(study: Study, cell: Cell, cond: str, seed: int) -> Path:
    return cell_dir(study, cell) / "rows" / f"{cond}-seed{seed}.json"


def judge_path(study: Study, cell: Cell, seed: int) -> Path:
    return cell_dir(study, cell) / "models" / f"real-seed{seed}.pt"


def _judge(study: Study, cell: Cell, seed: int):  # type: ignore[no-untyped-def]
    """The classifier of condition (a), same seed: the confidence filter's judge, trained on the cut data only."""
    from gankit.augment.classifier import Classifier, SmallCNN

    saved = torch.load(judge_path(study, cell, seed), weights_only=True)
    net = SmallCNN(saved["channels"], saved["num_classes"])
    net.load_state_dict(saved["state"])
    net.eval()
    return Classifier(net, saved["num_classes"], tuple(saved["image_shape"]), seed, saved["epochs"], saved["n_train"])


def _extra(study: Study, cell: Cell, cond: str, seed: int, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """The rare-class images condition ``cond`` adds, and what the filter (if any) measured."""
    import gankit
    from gankit.augment.baselines import classical_augment, random_oversample

    n, k = n_added(study, cell), cell.klass
    if cond == "oversample":
        return random_oversample(x, y, k, n, seed)[0], {}
    if cond == "classical":
        return classical_augment(x, y, k, n, seed)[0], {}
    run = cell_dir(study, cell) / GAN_OF[cond]
    sample_seed = 1000 + seed  # never the seeds the training or the filters use
    if cond in ("gan", "lowdata"):
        return gankit.load(run).sample(n, seed=sample_seed, classes=k), {}
    if cond == "gan_conf":
        return _confident(gankit.load(run), _judge(study, cell, seed), k, n, study.confidence, sample_seed)
    from gankit.sampling import rejection_sample

    held = _calibration_set(study, cell, x, y, sample_seed)
    res = rejection_sample(run, n, "drs", seed=sample_seed, classes=k, gamma=study.gamma, calibration_n=len(held[0]), held_out=held,
                           burn_in=study.burn_in)  # fmt: skip
    return torch.as_tensor(res.samples), {"proposed": res.proposed, "accepted": res.accepted,
                                          "acceptance_rate": res.acceptance_rate, "gamma": res.gamma}  # fmt: skip


def _confident(gen: Any, judge: Any, k: int, n: int, threshold: float, seed: int) -> tuple[torch.Tensor, dict]:
    """``gankit augment``'s confidence filter; where it stops short (acceptance under its bound), every
    sample that passed within the same number of proposals, so the row reports fewer added images
    instead of none.
    """
    from gankit.augment.confidence import CHUNK, class_probability, confidence_filter, keep_mask, max_proposals, round_seed
    from gankit.errors import ConfigError

    def propose(m: int, s: int) -> torch.Tensor:
        return gen.sample(m, seed=s, classes=k)

    try:
        res = confidence_filter(propose, judge, k, n, threshold, seed=seed)
        return res.samples, {"proposed": res.proposed, "accepted": res.accepted, "acceptance_rate": res.acceptance_rate,
                             "threshold": threshold, "short": False}  # fmt: skip
    except ConfigError:
        pass
    kept, proposed, r, cap = [], 0, 0, max_proposals(n)
    while proposed < cap:
        x = propose(min(CHUNK, cap - proposed), round_seed(seed, r))
        kept.append(x[keep_mask(class_probability(judge, x, k), threshold)])
        proposed, r = proposed + len(x), r + 1
    x = torch.cat(kept)
    if len(x) == 0:
        raise ConfigError(f"the confidence filter kept none of {proposed:,} samples (p(class {k}) >= {threshold:g}).")
    return x, {"proposed": proposed, "accepted": len(x), "acceptance_rate": len(x) / proposed, "threshold": threshold, "short": True}


def _calibration_set(study: Study, cell: Cell, x: torch.Tensor, y: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """DRS's real calibration data: every rare-class training image plus other training images, ``calibration_n`` in all.

    Only the cut training data: the run's validation split would hand the filter rare-class images
    the study pretends not to have (D has seen these, which the calibration tolerates).
    """
    rare, others = torch.nonzero(y == cell.klass).flatten(), torch.nonzero(y != cell.klass).flatten()
    g = torch.Generator().manual_seed(seed)
    idx = torch.cat([rare, others[torch.randperm(len(others), generator=g)[: max(0, study.calibration_n - len(rare))]]])
    return x[idx], y[idx]


def synthetic_quality(study: Study, cell: Cell, images: torch.Tensor) -> dict:
    """Intra-class FID and class consistency of (at most ``quality_n``) added images of the rare class.

    A metric that cannot be computed (a test split with under 2 images of the class) is None, with why.
    """
    from gankit.errors import GankitError
    from gankit.metrics import evaluate

    x = images[: study.quality_n]
    labels = torch.full((len(x),), cell.klass, dtype=torch.int64)
    out: dict[str, Any] = {"n": len(x)}
    for name in ("intra_fid", "class_consistency"):
        try:
            rep = evaluate(x, name, extractor="fmnist", ref="fashion-mnist:test", n=len(x), labels=labels, data_root=study.data_root)
            out[name] = rep.value(name)
        except GankitError as e:
            out[name], out[f"{name}_error"] = None, str(e)
    return out


def classifier_row(study: Study, cell: Cell, cond: str, seed: int) -> dict:
    """Train the fixed classifier on condition ``cond``'s training set and score it on the real test split."""
    from gankit.augment.classifier import evaluate_classifier, train_classifier
    from gankit.errors import GankitError

    key = row_key(study, cell, cond, seed)
    path = row_path(study, cell, cond, seed)
    cached = lookup(study, path, key)
    if cached and (cond != "real" or judge_path(study, cell, seed).is_file()):
        return cached
    x, y = imbalanced_train(study, cell)
    xt, yt = test_set(study)
    out: dict[str, Any] = {"key": key, "cell": cell.tag, "cond": cond, "seed": seed, "n_real": int((y == cell.klass).sum()),
                           "n_train": len(x), "n_added": 0}  # fmt: skip
    extra, t0 = None, time.perf_counter()
    if cond != "real":
        try:
            images, out["filter"] = _extra(study, cell, cond, seed, x, y)
        except GankitError as e:  # a filter that keeps too few samples is a result, not a crash
            out.update(error=str(e), n_added=0)
            save(study, path, out)
            return out
        out["seconds_synthetic"] = round(time.perf_counter() - t0, 1)
        out["n_added"] = len(images)
        if cond in SYNTHETIC:
            out["quality"] = synthetic_quality(study, cell, images)
        extra = (images, torch.full((len(images),), cell.klass, dtype=torch.int64))
    t0 = time.perf_counter()
    model = train_classifier(x, y, seed=seed, epochs=study.epochs, extra=extra, num_classes=10)
    out["seconds_classifier"] = round(time.perf_counter() - t0, 1)
    m = evaluate_classifier(model, xt, yt, rare_class=cell.klass)
    out["metrics"] = {k: m[k] for k in ("rare_recall", "rare_precision", "rare_f1", "balanced_accuracy", "macro_f1", "accuracy")}
    out["per_class_recall"] = m["per_class"]["recall"]
    if cond == "real":  # the confidence filter's judge for this seed
        judge_path(study, cell, seed).parent.mkdir(parents=True, exist_ok=True)
        torch.save({"state": model.net.state_dict(), "channels": int(x.shape[1]), "num_classes": model.num_classes,
                    "image_shape": list(model.image_shape), "epochs": model.epochs, "n_train": model.n_train},
                   judge_path(study, cell, seed))  # fmt: skip
    save(study, path, out)
    return out


def run_job(job: tuple) -> dict:
    """Worker entry point: ``("gan", study, cell, kind)`` or ``("row", study, cell, cond, seed)``."""
    torch.set_num_threads(1)
    kind, study, cell, *rest = job
    return train_gan(study, cell, *rest) if kind == "gan" else classifier_row(study, cell, *rest)


