"""High-level evaluation: :func:`evaluate` computes the requested metrics and returns an :class:`EvalReport`.

Metrics (``metrics=[...]``):

=============== ===================================================================================
``fid``         Fréchet distance of extractor features to the reference (``ref``)
``kid``         Kernel Inception Distance (cubic polynomial kernel, 100 subsets of <= 1000)
``is``          Inception Score from the extractor's logits (10 splits)
``pr``          precision and recall (Kynkäänniemi et al. 2019, k = 3) against the reference
``classes``     Fashion-MNIST classifier: class histogram, its KL to uniform, fraction with p > 0.9
``coverage``    2D samples only: modes covered, high-quality fraction, reverse KL (needs ``mixture``)
``memorization`` nearest-train / nearest-held-out distance ratios, pixels and features
=============== ===================================================================================

Generated images are the first ``n`` of ``samples``; the reference is a seeded random subset of
``n`` reference images (all if it has fewer). Reference statistics are cached (see
:mod:`gankit.metrics.refstats`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from gankit.utils.images import to_uint8  # noqa: F401 - re-exported as gankit.metrics.to_uint8
from gankit.errors import GankitError
from gankit.metrics import classes as _classes
from gankit.metrics import coverage as _coverage
from gankit.metrics import memorization as _mem
from gankit.metrics.fid import feature_statistics, frechet_distance
from gankit.metrics.inception_score import inception_score
from gankit.metrics.kid import kid_from_features
from gankit.metrics.precision_recall import precision_recall
from gankit.metrics.protocol import EvalReport, MetricResult, Protocol
from gankit.metrics.reference import check_shapes, load_reference_images, load_samples, parse_reference
from gankit.registry import did_you_mean

METRICS = ("fid", "kid", "is", "pr", "classes", "coverage", "memorization")
IMAGE_METRICS = ("fid", "kid", "is", "pr", "classes", "memorization")
EXTRACTOR_CHOICES = ("fmnist", "inception", "auto")




def _check_metrics(metrics: Sequence[str]) -> list[str]:
    if isinstance(metrics, str):
        metrics = [m.strip() for m in metrics.split(",") if m.strip()]
    out: list[str] = []
    for m in metrics:
        if m not in METRICS:
            raise GankitError(f"unknown metric {m!r}.{did_you_mean(m, list(METRICS))}")
        if m not in out:
            out.append(m)
    if not out:
        raise GankitError(f"no metrics requested; choose from {', '.join(METRICS)}.")
    return out


def _as_tensor(samples: Any, progress: bool) -> torch.Tensor:
    if isinstance(samples, (str, Path)):
        return load_samples(samples, progress=progress)
    if isinstance(samples, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(samples))
    if torch.is_tensor(samples):
        return samples.detach().cpu()
    raise GankitError(f"samples must be a tensor, a numpy array or a path; got {type(samples).__name__}.")


class _Timer:
    def __init__(self, report: EvalReport):
        self.report = report

    def __call__(self, name: str):
        timer = self

        class _T:
            def __enter__(self):
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                timer.report.timings[name] = timer.report.timings.get(name, 0.0) + time.perf_counter() - self.t

        return _T()


def evaluate(
    samples: torch.Tensor | np.ndarray | str | Path,
    metrics: Sequence[str],
    extractor: str = "fmnist",
    ref: str = "fashion-mnist:test",
    n: int = 10000,
    seed: int = 0,
    device: str = "cpu",
    out_dir: str | Path | None = None,
    train_ref: str = "fashion-mnist:train",
    *,
    mixture: str | None = None,
    inception_weights: str | None = None,
    data_root: str | None = None,
    batch_size: int | None = None,
    cache: bool = True,
    progress: bool = False,
) -> EvalReport:
    """Evaluate generated ``samples`` and return an :class:`EvalReport`.

    Args:
        samples: uint8 images N x C x H x W, float32 2D points N x 2 (only ``coverage`` applies), or a
            path (folder of images / ``.npy``, see :func:`load_samples`).
        metrics: names from ``fid, kid, is, pr, classes, coverage, memorization``.
        extractor: ``"fmnist"`` (default; the Fashion-MNIST classifier), ``"inception"`` (torch-fidelity
            InceptionV3; GPU recommended) or ``"auto"`` (fmnist for 1x28x28 images, else inception).
            ``classes`` always uses fmnist.
        ref: reference for fid/kid/pr and the held-out set of ``memorization``: ``fashion-mnist:test``,
            ``fashion-mnist:train``, ``mnist:test``, ``mnist:train`` or a folder of images.
        n: number of generated samples used (the first ``n``) and of reference samples (a seeded subset).
        seed: seed for the reference subset, KID subsets, IS shuffling and memorisation baselines.
        device: ``"cpu"`` or ``"cuda"``.
        out_dir: if given, ``report.json`` and the PNGs (coverage scatter, closest memorisation pairs) go here.
        train_ref: training set for ``memorization``.
        mixture: ``"ring8"`` or ``"grid25"`` for ``coverage``.
        inception_weights: InceptionV3 weights file (offline use); see ``extractors.inception``.
        data_root: folder with the IDX dataset files (None: gankit's data cache / system folders).
        batch_size: images per extractor forward pass (None: 1000 for fmnist, 50 for inception).
        cache: use and fill the reference statistics cache.
    """
    wanted = _check_metrics(metrics)
    if extractor not in EXTRACTOR_CHOICES:
        raise GankitError(f"unknown extractor {extractor!r}.{did_you_mean(extractor, list(EXTRACTOR_CHOICES))}")
    if n < 1:
        raise GankitError(f"n must be at least 1; got {n}.")
    report = EvalReport()
    timed = _Timer(report)
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    with timed("load_samples"):
        x = _as_tensor(samples, progress)
    if len(x) == 0:
        raise GankitError("no generated samples to evaluate (got an empty set).")

    if x.is_floating_point() and x.dim() == 2:
        _evaluate_points(x, wanted, mixture, seed, out, report, timed)
    else:
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
            raise GankitError(
                f"samples must be uint8 images N x C x H x W (C = 1 or 3) or float 2D points N x 2; got a {x.dtype} "
                f"tensor of shape {tuple(x.shape)}. Convert generator output with gankit.metrics.to_uint8(x)."
            )
        if "coverage" in wanted:
            raise GankitError("'coverage' applies to 2D point samples (ring8/grid25), not to images.")
        _evaluate_images(
            x[:n], wanted, extractor, ref, n, seed, device, out, train_ref, inception_weights, data_root,
            batch_size, cache, progress, report, timed,
        )  # fmt: skip
    if out is not None:
        report.artifacts["report"] = str(out / "report.json")
        report.to_json(out / "report.json")
    return report


def _evaluate_points(x, wanted, mixture, seed, out, report, timed) -> None:
    others = [m for m in wanted if m != "coverage"]
    if others:
        raise GankitError(f"samples are 2D points; only 'coverage' applies to them, not {', '.join(others)}.")
    if mixture is None:
        raise GankitError("'coverage' needs the true mixture: pass mixture='ring8' or 'grid25' (CLI --mixture).")
    if x.shape[1] != 2:
        raise GankitError(f"'coverage' needs 2D points (N x 2); got N x {x.shape[1]}.")
    with timed("coverage"):
        means, sigma = _coverage.load_mixture(mixture)
        res = _coverage.mode_coverage(x, means, sigma)
    proto = Protocol(
        extractor="none", extractor_hash=None, n_generated=res.n_samples, n_reference=None,
        reference=f"mixture:{mixture}", resize="none", seed=seed,
    )  # fmt: skip
    details = {**res.to_dict(), "sigma": sigma, "threshold": f"{_coverage.THRESHOLD_SIGMAS:g} sigma"}
    report.add(MetricResult("coverage.modes", float(res.modes_covered), proto, details=details))
    report.add(MetricResult("coverage.hq_fraction", res.hq_fraction, proto))
    report.add(MetricResult("coverage.reverse_kl", res.reverse_kl, proto))
    if out is not None:
        path = _coverage.plot_coverage(x[: res.n_samples], means, sigma, out / "coverage.png",
                                       title=f"{mixture}: {res.modes_covered}/{res.n_modes} modes, "
                                       f"{100 * res.hq_fraction:.1f}% high quality")  # fmt: skip
        report.artifacts["coverage_plot"] = str(path)


def _evaluate_images(
    x, wanted, extractor, ref, n, seed, device, out, train_ref, inception_weights, data_root,
    batch_size, cache, progress, report, timed,
) -> None:  # fmt: skip
    from gankit.metrics.extractors import default_extractor_for, get_extractor
    from gankit.metrics.refstats import get_reference_stats

    shape = tuple(int(s) for s in x.shape[1:])
    ext_name = default_extractor_for(shape) if extractor == "auto" else extractor
    reference = parse_reference(ref) if any(m in wanted for m in ("fid", "kid", "pr", "memorization")) else None
    loaded: dict[str, torch.Tensor] = {}

    def ref_images(r) -> torch.Tensor:
        if r.spec not in loaded:
            with timed("load_reference"):
                loaded[r.spec] = load_reference_images(r, shape, data_root, progress)
        return loaded[r.spec]

    needs_ext = any(m in wanted for m in ("fid", "kid", "pr", "is", "memorization"))
    gen: dict[str, np.ndarray] = {}
    ext = None
    if needs_ext:
        with timed("load_extractor"):
            ext = get_extractor(ext_name, device, inception_weights=inception_weights)
        with timed("generated_features"):
            gen = ext.run(x, batch_size=batch_size, progress=progress)

    def proto(e, n_ref=None, reference_spec=None, **kw) -> Protocol:
        return Protocol(
            extractor=e.name if e is not None else "pixels", extractor_hash=e.hash if e is not None else None,
            n_generated=len(x), n_reference=n_ref, reference=reference_spec,
            resize=e.resize_method(shape) if e is not None else "none", seed=seed, image_shape=shape, **kw,
        )  # fmt: skip

    if any(m in wanted for m in ("fid", "kid", "pr")):
        with timed("reference_stats"):
            rs = get_reference_stats(
                reference, ext, n=n, seed=seed, image_shape=shape, data_root=data_root, cache=cache,
                batch_size=batch_size, progress=progress, load_images=lambda: ref_images(reference),
            )  # fmt: skip
        report.info["reference_cache"] = {"hit": rs.hit, "file": str(rs.path) if rs.path else None, "key": rs.key}
        p = proto(ext, rs.n, rs.reference)
        if "fid" in wanted:
            with timed("fid"):
                mu, sigma = feature_statistics(gen["features"])
                report.add(MetricResult("fid", frechet_distance(mu, sigma, rs.mu, rs.sigma), p))
        if "kid" in wanted:
            with timed("kid"):
                k = kid_from_features(gen["features"], rs.features, seed=seed)
            report.add(MetricResult("kid", k["mean"], p, std=k["std"], details={"subsets": k["subsets"], "subset_size": k["subset_size"]}))
        if "pr" in wanted:
            with timed("pr"):
                pr = precision_recall(gen["features"], rs.features)
            report.add(MetricResult("precision", pr["precision"], p, details={"k": pr["k"]}))
            report.add(MetricResult("recall", pr["recall"], p, details={"k": pr["k"]}))

    if "is" in wanted:
        with timed("is"):
            s = inception_score(gen["logits"], seed=seed)
        report.add(MetricResult("is", s["mean"], proto(ext), std=s["std"], details={"splits": s["splits"], "classes": int(gen["logits"].shape[1])}))

    if "classes" in wanted:
        with timed("classes"):
            if ext is not None and ext.name == "fmnist":
                cext, logits = ext, gen["logits"]
            else:
                cext = get_extractor("fmnist", device)
                logits = cext.logits(x, batch_size=batch_size, progress=progress)
            c = _classes.class_statistics(logits)
        from gankit.metrics.extractors.fmnist import CLASS_NAMES

        details = {"histogram": dict(zip(CLASS_NAMES, c["histogram"])), "counts": c["counts"]}
        report.add(MetricResult("classes.kl_uniform", c["kl_uniform"], proto(cext), details=details))
        report.add(MetricResult("classes.confident_fraction", c["confident_fraction"], proto(cext), details={"threshold": c["threshold"]}))

    if "memorization" in wanted:
        train = parse_reference(train_ref)
        tr_img, ho_img = ref_images(train), ref_images(reference)
        if train.kind == "dataset":
            check_shapes(shape, tuple(tr_img.shape[1:]), train)
        if reference.kind == "dataset":
            check_shapes(shape, tuple(ho_img.shape[1:]), reference)
        with timed("memorization_pixels"):
            pix = _mem.memorization_ratios(_mem.pixel_vectors(x), _mem.pixel_vectors(tr_img), _mem.pixel_vectors(ho_img), seed=seed)
        pp = proto(None, pix.n_train, train.spec, held_out=reference.spec, n_held_out=pix.n_held_out)
        report.add(MetricResult("memorization.pixel_ratio_mean", pix.ratio_mean, pp, details=pix.summary()))
        report.add(MetricResult("memorization.pixel_ratio_median", pix.ratio_median, pp))
        with timed("memorization_features"):
            kw = dict(seed=seed, data_root=data_root, cache=cache, batch_size=batch_size, progress=progress, n=None, image_shape=shape)
            tr_stats = get_reference_stats(train, ext, load_images=lambda: tr_img, **kw)
            ho_stats = get_reference_stats(reference, ext, load_images=lambda: ho_img, **kw)
            feat = _mem.memorization_ratios(gen["features"], tr_stats.features, ho_stats.features, seed=seed)
        fp = proto(ext, feat.n_train, train.spec, held_out=reference.spec, n_held_out=feat.n_held_out)
        report.add(MetricResult("memorization.feature_ratio_mean", feat.ratio_mean, fp, details=feat.summary()))
        report.add(MetricResult("memorization.feature_ratio_median", feat.ratio_median, fp))
        if out is not None:
            path = _mem.plot_closest_pairs(x, tr_img, pix.d_train, pix.train_index, out / "memorization_pairs.png")
            report.artifacts["memorization_pairs"] = str(path)
