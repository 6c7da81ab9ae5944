"""Evaluation of generated samples: FID, KID, IS, precision/recall, class statistics, 2D mode
coverage and memorisation, and for class-conditional samples class consistency, intra-FID and
CAS, each number reported with its protocol.

Entry points (imported lazily, so ``import gankit.metrics`` is cheap):

* :func:`evaluate` -- everything, returns an :class:`EvalReport` (``.format_table()``, ``.to_json()``);
* :data:`METRICS` / :func:`metric_names` -- the registry of metrics ``evaluate`` can compute;
* :func:`load_samples` -- a folder of images or a ``.npy`` file as a tensor;
* :class:`FIDTracker` -- fast FID during training against cached reference statistics;
* :func:`get_extractor` -- the ``fmnist`` / ``inception`` feature extractors;
* :func:`train_fmnist_classifier` -- (re)train the shipped Fashion-MNIST extractor;
* :func:`classification_accuracy_score` -- CAS from tensors (train on generated, test on real);
* :func:`to_uint8` -- generator output in [-1, 1] to uint8 images.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "evaluate": "gankit.metrics.evaluation",
    "to_uint8": "gankit.metrics.evaluation",
    "METRICS": "gankit.metrics.registry",
    "metric_names": "gankit.metrics.registry",
    "load_samples": "gankit.metrics.reference",
    "parse_reference": "gankit.metrics.reference",
    "FIDTracker": "gankit.metrics.tracker",
    "get_extractor": "gankit.metrics.extractors",
    "Extractor": "gankit.metrics.extractors",
    "train_fmnist_classifier": "gankit.metrics.extractors.train_fmnist",
    "fit_fmnist_net": "gankit.metrics.extractors.train_fmnist",
    "classification_accuracy_score": "gankit.metrics.cas",
    "class_consistency": "gankit.metrics.conditional",
    "intra_fid": "gankit.metrics.conditional",
    "Protocol": "gankit.metrics.protocol",
    "MetricResult": "gankit.metrics.protocol",
    "EvalReport": "gankit.metrics.protocol",
    "get_reference_stats": "gankit.metrics.refstats",
    "frechet_distance": "gankit.metrics.fid",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'gankit.metrics' has no attribute {name!r}")
