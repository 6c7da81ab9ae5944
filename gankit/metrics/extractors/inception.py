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

The file name carries the first hex digits of the file's SHA-256 (torch hub's convention,
``...-6726825d.pth``). A download is written to a temporary name, checked against that prefix and
only then moved into place; a mismatch deletes it and raises a :class:`GankitError` naming the
file and both hashes. The hub-cache file, and an explicit file whose name carries the release's
prefix (torch-fidelity's ``weights-inception-2015-12-05-6726825d.pth`` or pytorch-fid's
``pt_inception-2015-12-05-6726825d.pth``), are checked the same way but never deleted; other
explicit files (a renamed or converted copy) are loaded unchecked, their hash goes into the protocol.
"""

from __future__ import annotations

import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

import torch
import torch_fidelity.feature_extractor_inceptionv3 as _tf_inception
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from gankit.errors import GankitError
from gankit.metrics._io import sha256_file_cached

TF_NAME = "gankit-inception-v3"
WEIGHTS_FILENAME = os.path.basename(urlparse(URL_INCEPTION_V3).path)  # weights-inception-2015-12-05-6726825d.pth
FEATURE_LAYER = "2048"
LOGITS_LAYER = "logits_unbiased"  # torch-fidelity's layer for the Inception Score
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.[A-Za-z0-9]+$")


def hash_prefix(name: str | Path) -> str | None:
    """The SHA-256 prefix a file name carries (``weights-...-6726825d.pth`` -> ``6726825d``), or None."""
    m = _HASH_IN_NAME.search(Path(name).name)
    return m.group(1) if m else None


def check_weights_hash(path: str | Path, expected: str | None = None, *, what: str = "InceptionV3 weights") -> str:
    """The file's SHA-256, after checking that it starts with ``expected`` (default: the prefix in its name).

    No prefix to check: the hash is returned unchecked. Mismatch: :class:`GankitError` naming the
    file, the expected prefix and the actual hash.
    """
    p = Path(path)
    source = "given" if expected is not None else "from its file name"
    expected = expected if expected is not None else hash_prefix(p)
    actual = sha256_file_cached(p)
    if expected is not None and not actual.startswith(expected.lower()):
        raise GankitError(
            f"{what} {p}: SHA-256 mismatch: expected a hash starting with {expected} ({source}), got {actual}. "
            f"The file is damaged, truncated or not the released weights; delete it and download it again "
            f"from {URL_INCEPTION_V3}."
        )
    return actual


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
        if hash_prefix(p) == hash_prefix(WEIGHTS_FILENAME):  # named as the released file: must be it
            check_weights_hash(p)
        return p
    cached = hub_weights_path()
    if cached.is_file():
        check_weights_hash(cached)
        return cached
    if not download:
        raise GankitError(_offline_message(f"no file at {cached} and downloading is disabled"))
    cached.parent.mkdir(parents=True, exist_ok=True)
    _download_verified(URL_INCEPTION_V3, cached)
    return cached


def _download_verified(url: str, dest: Path) -> None:
    """Download ``url`` to a temporary file next to ``dest``; move it there only if its hash matches ``dest``'s name."""
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        try:
            torch.hub.download_url_to_file(url, str(tmp), progress=True)
        except Exception as e:  # URLError, socket timeouts, HTTP errors, ...
            raise GankitError(_offline_message(f"download failed: {e.__class__.__name__}: {e}")) from None
        expected = hash_prefix(dest)
        actual = sha256_file_cached(tmp)
        if expected is not None and not actual.startswith(expected):
            raise GankitError(
                f"downloaded InceptionV3 weights {dest.name} from {url}: SHA-256 mismatch: expected a hash "
                f"starting with {expected}, got {actual}; the download was deleted (nothing written to {dest}). "
                "Try again, or fetch the file by hand and pass it with --inception-weights PATH."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


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
        self.sha256 = sha256_file_cached(path)  # hashed once per process (also by the check above)


def register() -> None:
    """Register ``gankit-inception-v3`` with torch-fidelity (idempotent)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if FEATURE_EXTRACTORS_REGISTRY.get(TF_NAME) is not FeatureExtractorGankitInceptionV3:
        FEATURE_EXTRACTORS_REGISTRY.pop(TF_NAME, None)
        register_feature_extractor(TF_NAME, FeatureExtractorGankitInceptionV3)


register()
