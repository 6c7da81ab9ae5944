"""``gankit augment``: N synthetic images of a rare class K from a conditional GAN, ready to merge.

    gankit augment --data DATASET_OR_DIR --class K --n N [--recipe R] [--minutes M]
                   [--filter none|confidence:0.9|drs] --out DIR        # trains a GAN first
    gankit augment --run RUN --class K --n N [--filter ...] --out DIR  # reuses a trained one

Everything is checked before any training starts: the class (an id or a name; the valid ones are
listed), n >= 1, labelled data with at least two classes and at least one image of K, a
conditional recipe (or run), and an ``--out`` that holds no earlier output. A new GAN trains on
the user's data as given -- imbalanced, never completed from elsewhere -- into ``--train-out``
(default ``runs/augment-<recipe>-<time>``) with ``seed`` = ``--seed``; reuse it with ``--run``.

Filters: ``none`` draws ``gen.sample(N, seed, classes=K)`` (what ``gankit sample RUN --class K
--seed S`` gives); ``confidence:T`` keeps samples that a classifier trained on the same data gives
p(K) >= T (:mod:`gankit.augment.confidence`); ``drs`` / ``drs:GAMMA`` is discriminator rejection
sampling (Azadi et al. 2019) through :func:`gankit.sampling.rejection_sample`. The default recipe
is :data:`DEFAULT_RECIPE`, the best conditional recipe measured at 10 CPU minutes; a folder keeps
its networks and reads the images at its ``data.image_size`` (``--set data.image_size=64``).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from gankit.augment.classifier import EPOCHS, RECIPE, train_classifier
from gankit.augment.confidence import confidence_filter
from gankit.augment.data import adapt_data, class_names, is_builtin, resolve_class, training_counts, training_items
from gankit.augment.writer import FILE_PATTERN, MANIFEST, check_out, class_folder, write_imagefolder, write_manifest
from gankit.errors import ConfigError, GankitError

DEFAULT_RECIPE = "tacgan_fashion_mnist"
DEFAULT_THRESHOLD = 0.9


@dataclass(frozen=True)
class FilterSpec:
    kind: str  # "none" | "confidence" | "drs"
    threshold: float | None = None
    gamma: float | None = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "threshold": self.threshold, "gamma": self.gamma}


def parse_filter(text: str) -> FilterSpec:
    """``none``, ``confidence[:T]`` (T in (0, 1], default 0.9) or ``drs[:GAMMA]``."""
    kind, sep, value = str(text).strip().partition(":")
    kind = kind.strip().lower()
    usage = "expected none, confidence:T (0 < T <= 1, e.g. confidence:0.9) or drs (drs:GAMMA to set DRS's gamma)"
    try:
        number = float(value) if sep else None
    except ValueError:
        raise ConfigError(f"--filter {text!r}: {value!r} is not a number; {usage}.") from None
    if number is not None and not math.isfinite(number):
        raise ConfigError(f"--filter {text!r}: {usage}.")
    if kind == "none" and not sep:
        return FilterSpec("none")
    if kind == "confidence":
        t = DEFAULT_THRESHOLD if number is None else number
        if not 0.0 < t <= 1.0:
            raise ConfigError(f"--filter {text!r}: the threshold is a probability in (0, 1], got {t:g}.")
        return FilterSpec("confidence", threshold=t)
    if kind == "drs":
        return FilterSpec("drs", gamma=number)
    raise ConfigError(f"--filter {text!r}: {usage}.")


@dataclass
class AugmentRequest:
    """What ``gankit augment`` was asked (the CLI's arguments, checked again here for library callers)."""

    klass: str | int
    n: int
    out: Path
    data: str | None = None
    recipe: str | None = None
    minutes: float | None = None
    filter: str | FilterSpec = "none"
    run: Path | None = None
    seed: int = 0
    sets: list[str] = field(default_factory=list)
    train_out: Path | None = None
    classifier_epochs: int = EPOCHS
    log: Callable[[str], None] = field(default=lambda m: print(m, file=sys.stderr))


def _check_conditional(gen: Any, where: str) -> None:
    sig = gen.signature
    if gen.is_translator or gen.is_vector or not sig.get("num_classes"):
        what = "an image-to-image" if gen.is_translator else "a 2D-point" if gen.is_vector else "an unconditional"
        raise ConfigError(f"{where} is {what} {sig['task']} run; gankit augment needs a class-conditional image GAN "
                          f"(task cgan, e.g. `gankit train {DEFAULT_RECIPE}`), or leave --run out to train one.")  # fmt: skip


def _check_same_data(data: str, cfg: Any, run: Path) -> None:
    d = cfg.data
    if is_builtin(data):
        same = d.name == data
    else:
        same = d.name == "folder" and d.root is not None and Path(d.root).expanduser().resolve() == Path(data).expanduser().resolve()
    if not same:
        where = f"{d.name} at {d.root}" if d.root else d.name
        raise ConfigError(f"--data {data}: {run} was trained on {where}; leave --data out to use the run's own data, "
                          "or leave --run out to train a new GAN on this data.")  # fmt: skip


def _new_config(req: AugmentRequest) -> tuple[Any, dict[str, Any]]:
    from gankit.cli.recipes import find_recipe
    from gankit.config import apply_overrides, load_raw, validate

    path = find_recipe(str(req.recipe or DEFAULT_RECIPE))
    raw = adapt_data(load_raw(path), str(req.data))
    raw["seed"] = int(req.seed)
    if req.minutes is not None:
        raw["train"] = {**(raw.get("train") or {}), "max_minutes": float(req.minutes), "max_steps": None}
    try:
        cfg = validate(apply_overrides(raw, list(req.sets)))
    except ConfigError as e:
        raise ConfigError(f"{path}: {e}") from None
    return cfg, {"name": cfg.name, "path": str(path), "overrides": list(req.sets), "minutes": req.minutes}


def _conditional_recipe(cfg: Any, recipe: dict[str, Any]) -> None:
    from gankit.data import data_spec
    from gankit.tasks import build_task

    task = build_task(cfg, data_spec(cfg.data.name).sample_shape(cfg.data))
    if not task.signature().get("num_classes") or getattr(task, "image_to_image", False):
        raise ConfigError(f"recipe {recipe['name']} ({recipe['path']}) trains a {cfg.task.name} model without class input; "
                          f"gankit augment needs a class-conditional recipe: {DEFAULT_RECIPE}, acgan_fashion_mnist or "
                          "cgan_fashion_mnist (`gankit recommend --task augment`).")  # fmt: skip


def _train(cfg: Any, req: AugmentRequest) -> tuple[Path, float]:
    from gankit.train.engine import train

    run_dir = Path(req.train_out) if req.train_out else Path("runs") / f"augment-{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    budget = " and ".join(b for b in (f"{cfg.train.max_minutes:g} min" if cfg.train.max_minutes else "",
                                      f"{cfg.train.max_steps} steps" if cfg.train.max_steps else "") if b)  # fmt: skip
    req.log(f"training {cfg.name} on {cfg.data.name}{f' at {cfg.data.root}' if cfg.data.root else ''} for {budget} into {run_dir}")
    t0 = time.perf_counter()
    result = train(cfg, run_dir)
    if result.status == "interrupted":
        raise GankitError(f"training was interrupted at step {result.step}; reuse what it learned with --run {result.run_dir}.")
    return result.run_dir, time.perf_counter() - t0


def _drs(gen: Any, n: int, k: int, seed: int, gamma: float | None) -> tuple[torch.Tensor, int, int, dict[str, Any]]:
    try:
        from gankit.sampling import rejection_sample
    except ImportError as e:
        raise GankitError(f"--filter drs needs gankit.sampling (discriminator rejection sampling), which failed to import ({e}).") from None
    try:
        res = rejection_sample(gen, n, "drs", seed=seed, classes=k, gamma=gamma)
    except GankitError as e:
        raise type(e)(f"--filter drs: {e} (Here: --filter drs:GAMMA sets gamma; --filter none skips DRS.)") from None
    samples = res.samples
    if len(samples) < n or (res.labels is not None and bool((res.labels[:n] != k).any())):
        raise GankitError(f"--filter drs returned {len(samples)} samples (labels {res.labels}) for {n} of class {k}.")
    details = {"method": res.method, "gamma": res.gamma, **dict(res.details or {})}
    return samples[:n], int(res.proposed), int(res.accepted), details


def _fmnist_consistency(samples: torch.Tensor, k: int, names: list[str]) -> float | None:
    """Fraction the shipped Fashion-MNIST classifier assigns to K (None where it does not apply)."""
    from gankit.metrics.conditional import class_consistency
    from gankit.metrics.extractors.fmnist import CLASS_NAMES, load_fmnist_net

    if list(names) != list(CLASS_NAMES) or tuple(samples.shape[1:]) != (1, 28, 28):
        return None
    net, _ = load_fmnist_net()
    with torch.inference_mode():
        logits = torch.cat([net(samples[i : i + 1000].float().div(255.0)) for i in range(0, len(samples), 1000)])
    return float(class_consistency(logits.numpy(), torch.full((len(samples),), k).numpy())["overall"])


def augment(req: AugmentRequest) -> dict[str, Any]:
    """Run ``gankit augment``; returns the manifest it wrote (``req.out / manifest.json``)."""
    from gankit import __version__
    from gankit.inference import load

    t0 = time.perf_counter()
    spec = parse_filter(req.filter) if isinstance(req.filter, str) else req.filter
    if isinstance(req.n, bool) or not isinstance(req.n, int) or req.n < 1:
        raise ConfigError(f"--n: the number of synthetic images, at least 1 (got {req.n!r}).")
    out = Path(req.out)
    seconds: dict[str, float] = {}
    if req.run is not None:
        if req.recipe or req.minutes is not None or req.sets or req.train_out:
            raise ConfigError("--recipe, --minutes, --set and --train-out configure a new training; --run reuses RUN as it is.")
        gen = load(req.run)
        _check_conditional(gen, str(req.run))
        cfg = gen.cfg
        if req.data is not None:
            _check_same_data(req.data, cfg, Path(req.run))
        names = list(gen.class_names or class_names(cfg))
        run_dir = gen.path.parent.parent if gen.path.parent.name == "checkpoints" else Path(req.run)
        recipe = {"name": cfg.name, "path": str(run_dir / "config.yaml"), "overrides": [], "minutes": None}
        k = resolve_class(req.klass, names)
        check_out(out, class_folder(names[k]))
    else:
        if req.data is None:
            raise ConfigError("--data DATASET_OR_DIR is needed (a built-in dataset or an image folder), or --run RUN to reuse a GAN.")
        cfg, recipe = _new_config(req)
        names = class_names(cfg)
        k = resolve_class(req.klass, names)
        check_out(out, class_folder(names[k]))
        have = training_counts(cfg, len(names))
        if have[k] == 0:
            raise ConfigError(f"--class {req.klass}: class {k} ({names[k]}) has no training images in this data "
                              "(data.per_class_limit or data.limit left none); a GAN cannot learn it.")  # fmt: skip
        _conditional_recipe(cfg, recipe)
        run_dir, seconds["training"] = _train(cfg, req)
        gen = load(run_dir)
    folder = class_folder(names[k])
    try:  # a reused run's data may be gone; the counts are then unknown, not an error
        counts: list[int] | None = training_counts(cfg, len(names))
    except GankitError:
        counts = None

    t1 = time.perf_counter()
    details: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    classifier = None
    if spec.kind == "confidence":
        x_train, y_train = training_items(cfg)
        req.log(f"training the confidence classifier on {len(x_train):,} images ({req.classifier_epochs} epochs)")
        classifier = train_classifier(x_train, y_train, seed=req.seed, epochs=req.classifier_epochs, num_classes=len(names))
        seconds["classifier"] = round(time.perf_counter() - t1, 2)
        t1 = time.perf_counter()
        assert spec.threshold is not None
        res = confidence_filter(lambda m, s: gen.sample(m, seed=s, classes=[k]), classifier, k, req.n, spec.threshold, req.seed)
        samples, proposed, accepted, details = res.samples, res.proposed, res.accepted, res.details
    elif spec.kind == "drs":
        samples, proposed, accepted, details = _drs(gen, req.n, k, req.seed, spec.gamma)
    else:
        samples = gen.sample(req.n, seed=req.seed, classes=[k])
        proposed = accepted = req.n
    seconds["sampling"] = round(time.perf_counter() - t1, 2)

    consistency = _fmnist_consistency(samples, k, names)
    if consistency is not None:
        metrics["class_consistency"] = consistency  # the shipped Fashion-MNIST classifier's arg-max == K
    if classifier is not None:
        metrics["filter_classifier"] = {"agreement": float((classifier.predict(samples) == k).float().mean()),
                                        "kept_mean_p": details.get("kept_mean_p"), "recipe": RECIPE,
                                        "epochs": classifier.epochs, "n_train": classifier.n_train}  # fmt: skip
    write_imagefolder(out, folder, samples)
    seconds["total"] = round(time.perf_counter() - t0, 2)
    manifest = {
        "gankit_version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "class": {"id": k, "name": names[k]},
        "n": int(req.n),
        "folder": folder,
        "files": {"pattern": f"{folder}/{FILE_PATTERN.replace('{:06d}', '%06d')}", "count": int(req.n), "shape": list(samples.shape[1:])},
        "recipe": recipe,
        "run": str(run_dir),
        "checkpoint": str(gen.path),
        "step": int(gen.step),
        "weights": gen.weights,
        "trained": req.run is None,
        "seed": int(req.seed),
        "filter": {**spec.describe(), **details},
        "proposed": int(proposed),
        "accepted": int(accepted),
        "acceptance_rate": accepted / proposed if proposed else 0.0,
        "data": {"name": cfg.data.name, "root": cfg.data.root, "classes": cfg.data.classes, "per_class_limit": cfg.data.per_class_limit,
                 "limit": cfg.data.limit, "class_names": names, "training_counts": counts},  # fmt: skip
        "metrics": metrics,
        "seconds": {key: round(v, 2) for key, v in seconds.items()},
    }
    write_manifest(out, manifest)
    return manifest


__all__ = ["DEFAULT_RECIPE", "MANIFEST", "AugmentRequest", "FilterSpec", "augment", "parse_filter"]
