"""What a metric's ``report(ctx)`` function sees: :class:`EvalContext`.

Everything expensive is computed once, on first use, and shared between metrics: the parsed
reference, reference images and labels (per spec), the loaded extractor, the generated samples'
features and logits (also under the Fashion-MNIST classifier, for the class metrics), and the
reference statistics of ``ref``. Each step is timed into ``report.timings``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from gankit.errors import GankitError
from gankit.metrics.protocol import EvalReport, Protocol


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


_UNSET: Any = object()


class EvalContext:
    """The samples, the options of :func:`gankit.metrics.evaluate`, the report, and shared lazy values.

    Attributes set from the call: ``x`` (uint8 images N x C x H x W, already cut to ``n``, or float
    points N x D), ``labels`` (int64 (N,), the class each sample was generated for, or None),
    ``extractor`` (``"fmnist"``, ``"inception"`` or ``"auto"``), ``ref``, ``train_ref``,
    ``n``, ``seed``, ``device``, ``out`` (Path or None), ``mixture``, ``inception_weights``,
    ``data_root``, ``batch_size``, ``cache``, ``progress``, ``cas_epochs``, ``ppl_similarity`` (``"auto"``,
    ``"fmnist"``, ``"pixels"`` or ``"lpips"``), ``lpips_weights`` and ``vgg_weights`` (LPIPS' files), ``report``
    and ``timed`` (``with ctx.timed("name"):`` adds the time to ``report.timings``).
    """

    def __init__(
        self,
        x: torch.Tensor,
        report: EvalReport,
        *,
        extractor: str = "fmnist",
        ref: str = "fashion-mnist:test",
        train_ref: str = "fashion-mnist:train",
        n: int = 10000,
        seed: int = 0,
        device: str = "cpu",
        out: Path | None = None,
        mixture: str | None = None,
        inception_weights: str | None = None,
        data_root: str | None = None,
        batch_size: int | None = None,
        cache: bool = True,
        progress: bool = False,
        labels: torch.Tensor | None = None,
        cas_epochs: int | None = None,
        generator: Any = None,
        ppl_similarity: str = "auto",
        lpips_weights: str | Path | None = None,
        vgg_weights: str | Path | None = None,
    ) -> None:
        self.x, self.labels, self.report, self.timed = x, labels, report, _Timer(report)
        self.generator = generator  # a gankit.load() Inference, for metrics of the generator itself (ppl)
        self.targets: torch.Tensor | None = None  # uint8, row i the target of sample i (translation metrics)
        self.target_class: int | None = None  # the class translated images should have (target_class)
        self.masks: torch.Tensor | None = None  # bool N x 1 x H x W, True in the hole, row i sample i's (hole_l1, hole_psnr)
        self.crop_border: int = 0  # pixels cut from each side before psnr_y / ssim_y (super-resolution: the scale)
        self.extractor, self.ref, self.train_ref, self.n, self.seed, self.device = extractor, ref, train_ref, n, seed, device
        self.out, self.mixture, self.inception_weights, self.data_root = out, mixture, inception_weights, data_root
        self.batch_size, self.cache, self.progress, self.cas_epochs = batch_size, cache, progress, cas_epochs
        self.ppl_similarity, self.lpips_weights, self.vgg_weights = ppl_similarity, lpips_weights, vgg_weights
        self._reference = self._ext = self._gen = self._ref_stats = self._fmnist = _UNSET
        self._images: dict[str, torch.Tensor] = {}
        self._labels: dict[str, np.ndarray] = {}

    def need_generator(self, metric: str) -> Any:
        if self.generator is None:
            raise GankitError(f"{metric} measures the generator itself; evaluate a run folder (gankit eval RUN --metrics {metric}).")
        return self.generator

    # -- images -------------------------------------------------------------------------------
    @property
    def shape(self) -> tuple[int, ...]:
        """C x H x W of the generated images."""
        return tuple(int(s) for s in self.x.shape[1:])

    @property
    def extractor_name(self) -> str:
        from gankit.metrics.extractors import default_extractor_for

        return default_extractor_for(self.shape) if self.extractor == "auto" else self.extractor  # type: ignore[arg-type]

    @property
    def reference(self):
        """The parsed ``ref`` (a :class:`~gankit.metrics.reference.Reference`)."""
        if self._reference is _UNSET:
            from gankit.metrics.reference import parse_reference

            self._reference = parse_reference(self.ref)
        return self._reference

    def ref_images(self, r) -> torch.Tensor:
        """All images of reference ``r``, loaded once per spec at the samples' shape."""
        if r.spec not in self._images:
            from gankit.metrics.reference import load_reference_images

            with self.timed("load_reference"):
                self._images[r.spec] = load_reference_images(r, self.shape, self.data_root, self.progress)  # type: ignore[arg-type]
        return self._images[r.spec]

    def ref_labels(self, r) -> np.ndarray:
        """Class labels (int64) of dataset reference ``r``, aligned with :meth:`ref_images`; DataError for a folder."""
        if r.spec not in self._labels:
            from gankit.metrics.reference import load_reference_labels

            self._labels[r.spec] = load_reference_labels(r, self.data_root)
        return self._labels[r.spec]

    def need_labels(self, metric: str) -> torch.Tensor:
        """The samples' labels, or the error every ``samples+labels`` metric gives without them."""
        if self.labels is None:
            from gankit.errors import GankitError
            from gankit.metrics.labels import NEEDS_LABELS

            raise GankitError(f"{metric}: {NEEDS_LABELS}.")
        return self.labels

    @property
    def has_extractor(self) -> bool:
        return self._ext is not _UNSET

    @property
    def ext(self):
        """The loaded :class:`~gankit.metrics.extractors.Extractor` (``extractor_name``)."""
        if self._ext is _UNSET:
            from gankit.metrics.extractors import get_extractor

            with self.timed("load_extractor"):
                self._ext = get_extractor(self.extractor_name, self.device, inception_weights=self.inception_weights)
        return self._ext

    @property
    def gen(self) -> dict[str, np.ndarray]:
        """``{"features", "logits"}`` of the generated images under :attr:`ext`."""
        if self._gen is _UNSET:
            ext = self.ext
            with self.timed("generated_features"):
                self._gen = ext.run(self.x, batch_size=self.batch_size, progress=self.progress)
        return self._gen

    @property
    def fmnist(self):
        """(the Fashion-MNIST classifier, ``{"features", "logits"}`` of the generated images under it).

        Shares :attr:`gen` when ``extractor`` is fmnist; otherwise runs the classifier once more.
        """
        if self._fmnist is _UNSET:
            if self.extractor_name == "fmnist":
                self._fmnist = (self.ext, self.gen)
            else:
                from gankit.metrics.extractors import get_extractor

                with self.timed("load_extractor"):
                    ext = get_extractor("fmnist", self.device)
                with self.timed("fmnist_features"):
                    self._fmnist = (ext, ext.run(self.x, batch_size=self.batch_size, progress=self.progress))
        return self._fmnist

    def stats(self, r, *, n: int | None, info: bool = False, label: int | None = None):
        """Reference statistics of ``r`` under :attr:`ext` (cached on disk; images shared with other metrics).

        ``label``: of the images of that class only (a dataset reference, labels from :meth:`ref_labels`).
        """
        from gankit.metrics.refstats import get_reference_stats

        rs = get_reference_stats(
            r, self.ext, n=n, seed=self.seed, image_shape=self.shape, data_root=self.data_root, cache=self.cache,  # type: ignore[arg-type]
            batch_size=self.batch_size, progress=self.progress, load_images=lambda: self.ref_images(r),
            label=label, load_labels=lambda: self.ref_labels(r),
        )  # fmt: skip
        if info:
            self.report.info["reference_cache"] = {"hit": rs.hit, "file": str(rs.path) if rs.path else None, "key": rs.key}
        return rs

    @property
    def ref_stats(self):
        """Statistics of a seeded subset of ``n`` images of :attr:`reference` (shared by fid, kid, pr)."""
        if self._ref_stats is _UNSET:
            reference = self.reference
            self.ext  # noqa: B018 - loaded outside the "reference_stats" timing
            with self.timed("reference_stats"):
                self._ref_stats = self.stats(reference, n=self.n, info=True)
        return self._ref_stats

    def proto(self, e=None, n_ref: int | None = None, reference_spec: str | None = None, **kw: Any) -> Protocol:
        """The protocol of a number measured on the generated images with extractor ``e`` (None: pixels)."""
        return Protocol(
            extractor=e.name if e is not None else "pixels", extractor_hash=e.hash if e is not None else None,
            n_generated=len(self.x), n_reference=n_ref, reference=reference_spec,
            resize=e.resize_method(self.shape) if e is not None else "none", seed=self.seed, image_shape=self.shape,
            **kw,
        )  # fmt: skip


__all__ = ["EvalContext"]
