"""InceptionV3 features through torch-fidelity, with safe, explicit weight loading.

The network is torch-fidelity's ``FeatureExtractorInceptionV3`` (the TF-compatible "pt_inception"
used for published FID/IS/KID numbers, with its own 299x299 resize); we do not reimplement it. Only
the loading of weights differs: torch-fidelity calls ``torch.load(..., weights_only=False)`` on a
user-supplied path, which unpickles arbitrary objects. :class:`FeatureExtractorGankitInceptionV3`
instead loads the state dict itself -- ``torch.load(weights_only=True)`` for ``.pth``/``.pt`` files
or safetensors -- and hands it to torch-fidelity's constructor. It is registered with torch-fidelity
as ``gankit-inception-v3``.

Where the weights come from, in order:

1. an explicit file: ``inception_weights=PATH`` (CLI ``--inception-weights PATH``);
2. the file torch-fidelity downloads, in the torch hub cache:
   ``$TORCH_HOME/hub/checkpoints/weights-inception-2015-12-05-6726825d.pth`` (see
   :func:`hub_weights_path`), placed there by an earlier online run or by hand;
3. a download of that file from torch-fidelity's release URL into the hub cache.

If all three fail (offline, no file), a :class:`GankitError` names options 1 and 2.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import torch
import torch_fidelity.feature_extractor_inceptionv3 as _tf_inception
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from gankit.errors import GankitError
from gankit.metrics._io import sha256_file

TF_NAME = "gankit-inception-v3"
WEIGHTS_FILENAME = os.path.basename(urlparse(URL_INCEPTION_V3).path)  # weights-inception-2015-12-05-6726825d.pth
FEATURE_LAYER = "2048"
LOGITS_LAYER = "logits_unbiased"  # torch-fidelity's layer for the Inception Score


def hub_weights_path() -> Path:
    """Where torch-fidelity's download lands: ``<torch.hub.get_dir()>/checkpoints/<file name>``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME


def _offline_message(reason: str) -> str:
    return (
        f"InceptionV3 weights are not available ({reason}). Either pass the file explicitly with "
        f"`--inception-weights PATH` (Python: inception_weights=PATH), or place it at {hub_weights_path()} "
        f"(the torch hub cache, where torch-fidelity puts it when online; source: {URL_INCEPTION_V3}). "
        "On a CPU-only machine consider the Fashion-MNIST extractor (`--extractor fmnist`) instead."
    )


def resolve_inception_weights(path: str | Path | None = None, download: bool = True) -> Path:
    """Return the weights file to use: explicit ``path``, else the hub cache, else download into it."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise GankitError(f"--inception-weights {p}: file not found.")
        return p
    cached = hub_weights_path()
    if cached.is_file():
        return cached
    if not download:
        raise GankitError(_offline_message(f"no file at {cached} and downloading is disabled"))
    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        torch.hub.download_url_to_file(URL_INCEPTION_V3, str(cached), progress=True)
    except Exception as e:  # URLError, socket timeouts, HTTP errors, ...
        raise GankitError(_offline_message(f"download failed: {e.__class__.__name__}: {e}")) from None
    return cached


def load_state_dict_safe(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a plain tensor state dict without unpickling arbitrary objects."""
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state: Any = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise GankitError(
            f"{path}: cannot load as a state dict of tensors ({e.__class__.__name__}: {str(e).splitlines()[0][:200]}). "
            "Only plain state dicts (torch.save(model.state_dict()) or safetensors) are accepted; "
            "pickled objects are refused for safety."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise GankitError(f"{path}: expected a dict of tensors (a state dict), got {type(state).__name__}.")
    return state


@contextmanager
def _supply_state_dict(state: dict[str, torch.Tensor]) -> Iterator[None]:
    """Make torch-fidelity's constructor take ``state`` instead of downloading/unpickling a file."""
    original = _tf_inception.load_state_dict_from_url
    _tf_inception.load_state_dict_from_url = lambda *args, **kwargs: state
    try:
        yield
    finally:
        _tf_inception.load_state_dict_from_url = original


class FeatureExtractorGankitInceptionV3(FeatureExtractorInceptionV3):
    """torch-fidelity's InceptionV3 with weights resolved by :func:`resolve_inception_weights` and loaded safely."""

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        path = resolve_inception_weights(feature_extractor_weights_path, download=kwargs.pop("download", True))
        state = load_state_dict_safe(path)
        try:
            with _supply_state_dict(state):
                super().__init__(name, features_list, feature_extractor_weights_path=None, **kwargs)
        except RuntimeError as e:  # load_state_dict: missing/unexpected keys or shape mismatch
            first = str(e).splitlines()[0][:300]
            raise GankitError(f"{path}: not InceptionV3 weights in torch-fidelity's layout ({first}).") from None
        self.weights_path = path
        self.sha256 = sha256_file(path)


def register() -> None:
    """Register ``gankit-inception-v3`` with torch-fidelity (idempotent)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if FEATURE_EXTRACTORS_REGISTRY.get(TF_NAME) is not FeatureExtractorGankitInceptionV3:
        FEATURE_EXTRACTORS_REGISTRY.pop(TF_NAME, None)
        register_feature_extractor(TF_NAME, FeatureExtractorGankitInceptionV3)


register()
