"""Feature extractors behind one small facade: :func:`get_extractor`.

Both extractors are torch-fidelity feature extractors created through torch-fidelity's registry
(``gankit-fmnist`` and ``gankit-inception-v3``), so Inception and Fashion-MNIST features go through
the same code path; this module only batches images through them and returns float64 numpy arrays.

* ``fmnist`` -- torch-fidelity ``gankit-fmnist``: features ``"feat"`` (128-d), logits ``"logits"``
  (10 Fashion-MNIST classes); input 1 x 28 x 28 (other sizes/RGB adapted by ``preprocess``).
* ``inception`` -- torch-fidelity ``gankit-inception-v3``: features ``"2048"`` (pool3), logits
  ``"logits_unbiased"`` (1008); input 3 x H x W, resized to 299 x 299 inside torch-fidelity.

``fmnist`` is the default for 28x28 grayscale data (it runs ~1000x faster than Inception on CPU);
``inception`` gives numbers comparable with the literature and is meant for GPU users.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gankit.utils.progress import progress_bar

from gankit.errors import GankitError
from gankit.metrics.extractors import fmnist as _fmnist
from gankit.metrics.extractors import inception as _inception
from gankit.metrics.extractors.preprocess import FMNIST_INPUT, INCEPTION_INPUT, InputSpec, prepare_images, resize_method
from gankit.core.registry import did_you_mean

EXTRACTORS = ("fmnist", "inception")
HASH_CHARS = 16

_SPECS = {
    "fmnist": (_fmnist.TF_NAME, "feat", "logits", FMNIST_INPUT),
    "inception": (_inception.TF_NAME, _inception.FEATURE_LAYER, _inception.LOGITS_LAYER, INCEPTION_INPUT),
}
DEFAULT_BATCH_SIZE = {"fmnist": 1000, "inception": 50}  # images per forward pass (memory-bounded on CPU)


def default_extractor_for(image_shape: tuple[int, int, int]) -> str:
    """``fmnist`` for 1 x 28 x 28 images, ``inception`` otherwise."""
    return "fmnist" if tuple(image_shape) == (1, 28, 28) else "inception"


def _check_device(device: str | torch.device) -> torch.device:
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise GankitError(f"invalid device {device!r}; use 'cpu', 'cuda' or 'cuda:N'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise GankitError(f"device {device!r} requested but CUDA is not available on this machine; use --device cpu.")
    return dev


class Extractor:
    """A loaded feature extractor.

    Attributes:
        name: ``"fmnist"`` or ``"inception"``.
        hash: the first 16 hex digits of the weights file's SHA-256 (part of every protocol).
        sha256: the full SHA-256.
        feature_dim, num_logits: output widths.
        spec: the :class:`InputSpec` images are adapted to.
        module: the torch-fidelity ``FeatureExtractorBase`` instance.
    """

    def __init__(self, name: str, module: Any, feature_layer: str, logits_layer: str, spec: InputSpec, device: torch.device):
        self.name = name
        self.module = module
        self.feature_layer = feature_layer
        self.logits_layer = logits_layer
        self.spec = spec
        self.device = device
        self.sha256: str = module.sha256
        self.hash = self.sha256[:HASH_CHARS]
        self.weights_path = str(module.weights_path)
        self._dims: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"Extractor({self.name!r}, hash={self.hash}, device={self.device})"

    def resize_method(self, image_shape: tuple[int, int, int]) -> str:
        return resize_method(tuple(image_shape), self.spec)  # type: ignore[arg-type]

    @torch.inference_mode()
    def run(self, images: torch.Tensor | np.ndarray, batch_size: int | None = None, progress: bool = False) -> dict[str, np.ndarray]:
        """Both outputs for ``uint8`` N x C x H x W images: ``{"features": (N, F), "logits": (N, K)}`` float64.

        ``batch_size`` None: 1000 for fmnist, 50 for inception. Results agree across batch sizes up
        to float32 rounding (~1e-6 relative).
        """
        batch_size = batch_size or DEFAULT_BATCH_SIZE[self.name]
        if isinstance(images, np.ndarray):
            images = torch.from_numpy(images)
        if images.dim() == 4 and len(images) == 0:
            raise GankitError("no images to extract features from (got an empty batch).")
        prepare_images(images[:1], self.spec)  # validate dtype/shape before the loop
        outs: dict[str, list[np.ndarray]] = {"features": [], "logits": []}
        bar = progress_bar(total=len(images), desc=f"{self.name} features", unit="img", disable=not progress, leave=False)
        for i in range(0, len(images), batch_size):
            x = prepare_images(images[i : i + batch_size], self.spec).to(self.device)
            feat, logits = self.module(x)
            outs["features"].append(feat.detach().to("cpu", torch.float64).numpy())
            outs["logits"].append(logits.detach().to("cpu", torch.float64).numpy())
            bar.update(len(x))
        bar.close()
        return {k: np.concatenate(v, axis=0) for k, v in outs.items()}

    def features(self, images: torch.Tensor | np.ndarray, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        """Penultimate features, float64 numpy (N, F)."""
        return self.run(images, batch_size, progress)["features"]

    def logits(self, images: torch.Tensor | np.ndarray, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        """Class logits, float64 numpy (N, K): fmnist's 10 classes; for inception torch-fidelity's
        ``logits_unbiased`` (1008), which is what its Inception Score uses."""
        return self.run(images, batch_size, progress)["logits"]


_LOADED: dict[tuple[str, str, str | None], Extractor] = {}


def get_extractor(
    name: str,
    device: str | torch.device = "cpu",
    inception_weights: str | None = None,
    fmnist_weights: str | None = None,
) -> Extractor:
    """Load (once per process) and return the extractor ``name`` (``"fmnist"`` or ``"inception"``).

    ``inception_weights``: explicit InceptionV3 weights file (else the torch hub cache / download,
    see :mod:`gankit.metrics.extractors.inception`). ``fmnist_weights``: another Fashion-MNIST
    classifier file (default: the shipped asset); its hash is checked against its ``.json``.
    """
    if name not in _SPECS:
        raise GankitError(f"unknown feature extractor {name!r}.{did_you_mean(name, list(EXTRACTORS))}")
    dev = _check_device(device)
    weights = inception_weights if name == "inception" else fmnist_weights
    key = (name, str(dev), str(weights) if weights is not None else None)
    if key not in _LOADED:
        from torch_fidelity.utils import create_feature_extractor

        tf_name, feat_layer, logits_layer, spec = _SPECS[name]
        module = create_feature_extractor(
            tf_name, [feat_layer, logits_layer], cuda=False, verbose=False, feature_extractor_weights_path=weights
        )
        module = module.to(dev)
        _LOADED[key] = Extractor(name, module, feat_layer, logits_layer, spec, dev)
    return _LOADED[key]


def clear_loaded() -> None:
    """Forget loaded extractors (tests; after replacing a weights file)."""
    _LOADED.clear()


__all__ = ["EXTRACTORS", "Extractor", "default_extractor_for", "get_extractor", "clear_loaded"]
