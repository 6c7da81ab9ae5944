"""Fast FID during training: reference statistics are computed (or loaded from the cache) once.

Usage in a training loop::

    tracker = FIDTracker("fmnist", ref="fashion-mnist:test", device="cpu")
    fid = tracker.fid_of(to_uint8(G(z)))      # uint8 N x C x H x W
    result = tracker.result(images)           # the same number as a MetricResult with its protocol

With the Fashion-MNIST extractor, 5,000 generated 28x28 images take about a second on 2 CPU cores.
"""

from __future__ import annotations

import numpy as np
import torch

from gankit.errors import GankitError
from gankit.metrics.extractors import Extractor, default_extractor_for, get_extractor
from gankit.metrics.fid import feature_statistics, frechet_distance
from gankit.metrics.protocol import MetricResult, Protocol
from gankit.metrics.reference import Reference, check_shapes, parse_reference
from gankit.metrics.refstats import RefStats, get_reference_stats


class FIDTracker:
    """FID of generated batches against fixed, cached reference statistics.

    Args:
        extractor: ``"fmnist"``, ``"inception"``, ``"auto"`` (by ``image_shape``) or a loaded :class:`Extractor`.
        ref: reference spec (dataset split or folder); see :func:`gankit.metrics.reference.parse_reference`.
        n_ref: reference images used (seeded subset), 10,000 by default.
        seed: seed of the reference subset.
        image_shape: the generated images' C x H x W; required for a folder reference (and for
            ``"auto"``); checked against a dataset reference.
    """

    def __init__(
        self,
        extractor: str | Extractor = "fmnist",
        ref: str | Reference = "fashion-mnist:test",
        n_ref: int | None = 10000,
        seed: int = 0,
        device: str = "cpu",
        image_shape: tuple[int, int, int] | None = None,
        *,
        inception_weights: str | None = None,
        data_root: str | None = None,
        cache: bool = True,
        batch_size: int | None = None,
        progress: bool = False,
    ) -> None:
        if isinstance(extractor, str):
            if extractor == "auto":
                if image_shape is None:
                    raise GankitError("FIDTracker(extractor='auto') needs image_shape to choose an extractor.")
                extractor = default_extractor_for(image_shape)
            extractor = get_extractor(extractor, device, inception_weights=inception_weights)
        self.extractor = extractor
        self.reference = ref if isinstance(ref, Reference) else parse_reference(ref)
        self.seed = seed
        self.batch_size = batch_size
        self.stats: RefStats = get_reference_stats(
            self.reference, extractor, n=n_ref, seed=seed, image_shape=image_shape, data_root=data_root,
            cache=cache, batch_size=batch_size, progress=progress,
        )  # fmt: skip

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.stats.image_shape

    def features(self, images: torch.Tensor) -> np.ndarray:
        if not torch.is_tensor(images) or images.dtype != torch.uint8 or images.dim() != 4:
            got = f"{images.dtype} {tuple(images.shape)}" if torch.is_tensor(images) else type(images).__name__
            raise GankitError(f"fid_of takes uint8 images N x C x H x W (see gankit.metrics.to_uint8); got {got}.")
        check_shapes(tuple(images.shape[1:]), self.image_shape, self.reference)
        return self.extractor.features(images, batch_size=self.batch_size)

    def fid_of(self, images: torch.Tensor) -> float:
        """FID of ``images`` (uint8 N x C x H x W, N >= 2) against the reference statistics."""
        mu, sigma = feature_statistics(self.features(images))
        return frechet_distance(mu, sigma, self.stats.mu, self.stats.sigma)

    def protocol(self, n_generated: int) -> Protocol:
        return Protocol(
            extractor=self.extractor.name, extractor_hash=self.extractor.hash, n_generated=n_generated,
            n_reference=self.stats.n, reference=self.stats.reference, resize=self.stats.resize, seed=self.seed,
            image_shape=self.image_shape,
        )  # fmt: skip

    def result(self, images: torch.Tensor) -> MetricResult:
        return MetricResult("fid", self.fid_of(images), self.protocol(len(images)))
