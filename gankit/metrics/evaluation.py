"""High-level evaluation: :func:`evaluate` computes the requested metrics and returns an :class:`EvalReport`.

The metrics (``metrics=[...]``) are those of :data:`gankit.metrics.registry.METRICS`:

=============== ===================================================================================
``fid``         Fréchet distance of extractor features to the reference (``ref``)
``kid``         Kernel Inception Distance (cubic polynomial kernel, 100 subsets of <= 1000)
``pr``          precision and recall (Kynkäänniemi et al. 2019, k = 3) against the reference
``is``          Inception Score from the extractor's logits (10 splits)
``classes``     Fashion-MNIST classifier: class histogram, its KL to uniform, fraction with p > 0.9
``coverage``    2D samples only: modes covered, high-quality fraction, reverse KL (needs ``mixture``)
``memorization`` nearest-train / nearest-held-out distance ratios, pixels and features
=============== ===================================================================================

and, for class-conditional samples with ``labels`` (the class each sample was generated for):

===================== =============================================================================
``class_consistency`` fraction the Fashion-MNIST classifier assigns to their requested class
``intra_fid``         mean over classes k of FID(generated class k, reference class k)
``cas``               Classification Accuracy Score (train on samples, test on real) and its real twin
===================== =============================================================================

and, compared row by row with their own ``targets`` (image-to-image translation and restoration):
``l1``, ``psnr``, ``ssim``, ``lpips``; ``psnr_y`` / ``ssim_y`` (super-resolution: BT.601 Y of RGB,
``crop_border``); ``hole_l1`` / ``hole_psnr`` (inpainting: the hole of ``masks`` only).

Generated images are the first ``n`` of ``samples`` (with labels, taken round-robin over the
classes, see :func:`gankit.metrics.labels.first_n_per_class`); the reference is a seeded random subset of
``n`` reference images (all if it has fewer). Reference statistics are cached (see
:mod:`gankit.metrics.refstats`). Each metric's ``report(ctx)`` function gets an
:class:`~gankit.metrics.context.EvalContext`, which computes shared inputs (extractor, features,
reference statistics) once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from gankit.utils.images import to_uint8  # noqa: F401 - re-exported as gankit.metrics.to_uint8
from gankit.errors import GankitError
from gankit.metrics.context import EvalContext
from gankit.metrics.labels import NEEDS_LABELS, as_labels, check_labels, first_n_per_class, sibling_labels_path
from gankit.metrics.protocol import EvalReport
from gankit.metrics.reference import load_samples
from gankit.metrics.registry import METRICS, MetricSpec, metric_names  # noqa: F401 - re-exported
from gankit.core.registry import did_you_mean

EXTRACTOR_CHOICES = ("fmnist", "inception", "auto")


def _as_tensor(samples: Any, progress: bool) -> torch.Tensor:
    if isinstance(samples, (str, Path)):
        return load_samples(samples, progress=progress)
    if isinstance(samples, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(samples))
    if torch.is_tensor(samples):
        return samples.detach().cpu()
    raise GankitError(f"samples must be a tensor, a numpy array or a path; got {type(samples).__name__}.")


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
    labels: torch.Tensor | np.ndarray | str | Path | None = None,
    cas_epochs: int | None = None,
    generator: Any = None,
    targets: torch.Tensor | np.ndarray | None = None,
    target_class: int | None = None,
    masks: torch.Tensor | np.ndarray | None = None,
    crop_border: int = 0,
    ppl_similarity: str = "auto",
    lpips_weights: str | Path | None = None,
    vgg_weights: str | Path | None = None,
) -> EvalReport:
    """Evaluate generated ``samples`` and return an :class:`EvalReport`.

    Args:
        samples: uint8 images N x C x H x W, float32 2D points N x 2 (only ``coverage`` applies), or a
            path (folder of images / ``.npy``, see :func:`load_samples`).
        metrics: names from :func:`metric_names` (``fid, kid, pr, is, classes, coverage, memorization,
            class_consistency, intra_fid, cas``), a list or a comma string.
        extractor: ``"fmnist"`` (default; the Fashion-MNIST classifier), ``"inception"`` (torch-fidelity
            InceptionV3; GPU recommended) or ``"auto"`` (fmnist for 1x28x28 images, else inception).
            ``classes`` and ``class_consistency`` always use fmnist; ``cas`` trains its own classifier.
        ref: reference for fid/kid/pr and the held-out set of ``memorization``: ``fashion-mnist:test``,
            ``fashion-mnist:val``, ``fashion-mnist:train`` (likewise ``mnist:...``) or a folder of images.
            ``intra_fid`` and ``cas`` need a dataset split (its labels give each real image's class) and
            use all its images of each class.
        n: number of generated samples used (the first ``n``; with labels round-robin over classes) and
            of reference samples (a seeded subset).
        seed: seed for the reference subset, KID subsets, IS shuffling and memorisation baselines.
        device: ``"cpu"`` or ``"cuda"``.
        out_dir: if given, ``report.json`` and the PNGs (coverage scatter, closest memorisation pairs) go here.
        train_ref: training set for ``memorization``, and the real training images of ``cas.real``.
        mixture: ``"ring8"`` or ``"grid25"`` for ``coverage``.
        inception_weights: InceptionV3 weights file (offline use); see ``extractors.inception``.
        data_root: folder with the IDX dataset files (None: gankit's data cache / system folders).
        batch_size: images per extractor forward pass (None: 1000 for fmnist, 50 for inception).
        cache: use and fill the reference statistics cache (and the cache of ``cas.real``).
        labels: the class each sample was generated for, int64 (N,) (a tensor, array or ``.npy`` path);
            needed by ``class_consistency``, ``intra_fid`` and ``cas``. None with ``samples`` a path
            ``x.npy``: ``x.labels.npy`` beside it is used when one of those metrics is requested.
        cas_epochs: training epochs of ``cas`` (None: :data:`gankit.metrics.cas.DEFAULT_EPOCHS`, 3).
        generator: the :func:`gankit.load` result the samples came from, for metrics of the generator itself
            (``ppl``); ``gankit eval RUN`` passes it.
        targets: uint8 images aligned with ``samples`` (row i is sample i's own target), for the ``aligned``
            metrics of translation (``l1``, ``psnr``, ``ssim``, ``lpips``).
        target_class: the Fashion-MNIST class translated images should have (``target_class``).
        masks: hole masks aligned with ``samples`` (N x 1 x H x W, 1 marking the hole, 0/1 of any dtype), for the
            inpainting metrics ``hole_l1`` and ``hole_psnr`` (which also need ``targets``).
        crop_border: pixels cut from every side before ``psnr_y`` / ``ssim_y`` (super-resolution: the scale).
        ppl_similarity: the network of ``ppl``: ``"auto"`` (fmnist features for 1x28x28 images, else pixels),
            ``"fmnist"``, ``"pixels"`` or ``"lpips"`` (LPIPS-VGG v0.1, the StyleGAN paper's; needs both files below).
        lpips_weights, vgg_weights: LPIPS v0.1's lin-layer file (``vgg.pth``) and torchvision's VGG16 state dict
            (``vgg16-397923af.pth``) for ``ppl_similarity="lpips"``; never downloaded (see ``extractors.lpips_vgg``).

    Returns the :class:`EvalReport`; with labels, its ``info["labels"]`` says where they came from.
    """
    wanted = METRICS.select(metrics)
    if extractor not in EXTRACTOR_CHOICES:
        raise GankitError(f"unknown extractor {extractor!r}.{did_you_mean(extractor, list(EXTRACTOR_CHOICES))}")
    if n < 1:
        raise GankitError(f"n must be at least 1; got {n}.")
    report = EvalReport()
    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    ctx = EvalContext(
        torch.empty(0), report, extractor=extractor, ref=ref, train_ref=train_ref, n=n, seed=seed, device=device,
        out=out, mixture=mixture, inception_weights=inception_weights, data_root=data_root, batch_size=batch_size,
        cache=cache, progress=progress, cas_epochs=cas_epochs, generator=generator, ppl_similarity=ppl_similarity,
        lpips_weights=lpips_weights, vgg_weights=vgg_weights,
    )  # fmt: skip
    for spec in wanted:
        if spec.inputs == "generator":
            ctx.need_generator(spec.name)  # before any sample is read
    from gankit.metrics.ppl import check_similarity

    if any(s.name == "ppl" for s in wanted):  # bad options and weights files fail before any work
        check_similarity(ppl_similarity, lpips_weights, vgg_weights, tuple(generator.signature["output_shape"]), device)
    else:
        check_similarity(ppl_similarity)
    if cas_epochs is not None and cas_epochs < 1:
        raise GankitError(f"cas_epochs must be at least 1; got {cas_epochs}.")
    with ctx.timed("load_samples"):
        y = _labels_for(samples, labels, wanted, report)  # missing labels fail before the samples are read
        x = _as_tensor(samples, progress)
    if len(x) == 0:
        raise GankitError("no generated samples to evaluate (got an empty set).")

    if x.is_floating_point() and x.dim() == 2:
        others = [s.name for s in wanted if s.images]
        if others:
            only = " or ".join(repr(s.name) for s in METRICS.specs() if not s.images)
            raise GankitError(f"samples are 2D points; only {only} applies to them, not {', '.join(others)}.")
        ctx.x = x
    else:
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
            raise GankitError(
                f"samples must be uint8 images N x C x H x W (C = 1 or 3) or float 2D points N x 2; got a {x.dtype} "
                f"tensor of shape {tuple(x.shape)}. Convert generator output with gankit.metrics.to_uint8(x)."
            )
        points = [s.name for s in wanted if not s.images]
        if points:
            raise GankitError(f"{points[0]!r} applies to 2D point samples (ring8/grid25), not to images.")
        if y is not None:
            from gankit.metrics.extractors.fmnist import NUM_CLASSES

            check_labels(y, len(x), NUM_CLASSES)
            keep = first_n_per_class(y, n)
            ctx.x, ctx.labels = (x, y) if keep is None else (x[keep], y[keep])
        else:
            ctx.x = x[:n]
        ctx.targets, ctx.target_class = _aligned_targets(targets, ctx.x, wanted), target_class
        ctx.masks, ctx.crop_border = _aligned_masks(masks, ctx.x, wanted), _crop_border(crop_border, ctx.x)
        _prepare_images(ctx, wanted)
    for spec in wanted:
        spec.run(ctx)
    if out is not None:
        report.artifacts["report"] = str(out / "report.json")
        report.to_json(out / "report.json")
    return report


def _aligned_targets(targets: Any, x: torch.Tensor, wanted: list[MetricSpec]) -> torch.Tensor | None:
    """``targets`` cut to the samples used, checked to match them image for image."""
    aligned = [s.name for s in wanted if s.inputs == "aligned"]
    if targets is None:
        if aligned:
            raise GankitError(f"{', '.join(aligned)}: compare each output with its own target; pass targets= (uint8, aligned with the samples).")
        return None
    t = torch.as_tensor(np.asarray(targets)) if not isinstance(targets, torch.Tensor) else targets
    if t.dtype != torch.uint8 or tuple(t.shape[1:]) != tuple(x.shape[1:]) or len(t) < len(x):
        raise GankitError(f"targets must be uint8 N x {' x '.join(map(str, x.shape[1:]))} with at least {len(x)} rows (one per sample), "
                          f"got {t.dtype} {tuple(t.shape)}.")  # fmt: skip
    return t[: len(x)]


def _aligned_masks(masks: Any, x: torch.Tensor, wanted: list[MetricSpec]) -> torch.Tensor | None:
    """``masks`` as bool (True in the hole), cut to the samples used and checked against them."""
    from gankit.metrics.registry import NEEDS_MASKS
    from gankit.metrics.restoration import as_hole_mask

    if masks is None:
        needing = [s.name for s in wanted if s.name in NEEDS_MASKS]
        if needing:
            raise GankitError(f"{', '.join(needing)}: measure the hole only; pass masks= (N x 1 x H x W, 1 marking the hole, "
                              "aligned with the samples).")  # fmt: skip
        return None
    return as_hole_mask(masks, len(x), tuple(x.shape[-2:]))


def _crop_border(crop_border: int, x: torch.Tensor) -> int:
    c = int(crop_border)
    if c != crop_border or c < 0 or 2 * c >= min(x.shape[-2:]):
        raise GankitError(f"crop_border must be an integer in 0..{(min(x.shape[-2:]) - 1) // 2} for {x.shape[-2]} x {x.shape[-1]} images; "
                          f"got {crop_border!r}.")  # fmt: skip
    return c


def _labels_for(samples: Any, labels: Any, wanted: list[MetricSpec], report: EvalReport) -> torch.Tensor | None:
    """The labels given, else ``x.labels.npy`` beside samples ``x.npy`` when a metric needs them; a clear error if none."""
    needing = [s.name for s in wanted if s.needs_labels]
    if labels is not None:
        report.info["labels"] = str(labels) if isinstance(labels, (str, Path)) else "labels= argument"
        return as_labels(labels)
    if not needing:
        return None
    if isinstance(samples, (str, Path)) and str(samples).lower().endswith(".npy"):
        sibling = sibling_labels_path(samples)
        if sibling.is_file():
            report.info["labels"] = str(sibling)
            return as_labels(sibling)
        raise GankitError(f"{', '.join(needing)}: no labels given and no {sibling} beside the samples; {NEEDS_LABELS}.")
    raise GankitError(f"{', '.join(needing)}: {NEEDS_LABELS}.")


def _prepare_images(ctx: EvalContext, wanted: list[MetricSpec]) -> None:
    """Fail early on a bad reference, and extract the generated features once for every metric using them."""
    if any(s.inputs in ("pairs", "samples+labels") for s in wanted):
        ctx.reference  # noqa: B018 - parses ``ref``: a bad spec fails before the extractor is loaded
    if any(s.features == "extractor" for s in wanted):
        ctx.gen  # noqa: B018


__all__ = ["EXTRACTOR_CHOICES", "METRICS", "evaluate", "metric_names", "to_uint8"]
