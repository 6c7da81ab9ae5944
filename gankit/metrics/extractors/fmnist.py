"""Our Fashion-MNIST feature extractor: a compact CNN classifier, registered with torch-fidelity.

The network (:class:`FMNISTNet`) is three conv blocks (conv + BatchNorm + ReLU + max-pool) followed
by a 128-d fully connected layer (the ``"feat"`` features, after ReLU) and a 10-way linear head
(the ``"logits"``). Its weights ship with the package as ``gankit/assets/fmnist_classifier.safetensors``;
``gankit/assets/fmnist_classifier.json`` records their SHA-256, test accuracy and how they were made
(``gankit features train fashion-mnist``, see :mod:`gankit.metrics.extractors.train_fmnist`).
Loading checks the file against the recorded hash.

Registered with torch-fidelity as ``gankit-fmnist`` so that ``torch_fidelity.calculate_metrics(...,
feature_extractor="gankit-fmnist")`` works too; it takes torch-fidelity's ``uint8`` N x C x H x W
batches and adapts them with :func:`gankit.metrics.extractors.preprocess.prepare_images`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import load_file
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from gankit.errors import GankitError
from gankit.metrics._io import sha256_file
from gankit.metrics.extractors.preprocess import FMNIST_INPUT, prepare_images

TF_NAME = "gankit-fmnist"
ASSETS = Path(__file__).resolve().parents[2] / "assets"
DEFAULT_WEIGHTS = ASSETS / "fmnist_classifier.safetensors"
FEATURE_DIM = 128
NUM_CLASSES = 10
CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
# Fashion-MNIST training-set pixel mean/std (of x/255); fixed constants, part of the architecture.
MEAN, STD = 0.2860, 0.3530


def _block(cin: int, cout: int, k: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True), nn.MaxPool2d(2)]


class FMNISTNet(nn.Module):
    """28x28 grayscale -> (128-d features, 10 logits). Input: float in [0, 1], N x 1 x 28 x 28."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(*_block(1, 32, 5), *_block(32, 64, 3), *_block(64, 128, 3), nn.Flatten())
        self.fc = nn.Linear(128 * 3 * 3, FEATURE_DIM)
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURE_DIM, NUM_CLASSES)

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = (x - MEAN) / STD
        feat = torch.relu(self.fc(self.body(x)))
        return feat, self.head(self.drop(feat))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_features(x)[1]


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def metadata_path(weights: Path) -> Path:
    return weights.with_suffix(".json")


def load_fmnist_net(weights: str | Path | None = None) -> tuple[FMNISTNet, str]:
    """Load the classifier, verifying the file's SHA-256 against its sibling ``.json``.

    ``weights=None`` loads the shipped asset (whose ``.json`` must exist). For another file the
    hash is checked when a ``.json`` with a ``sha256`` entry sits next to it. Returns the model in
    eval mode and the file's full SHA-256.
    """
    path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
    if not path.is_file():
        raise GankitError(
            f"Fashion-MNIST classifier weights not found: {path}. Recreate them with "
            "`gankit features train fashion-mnist` (a few minutes on CPU)."
        )
    digest = sha256_file(path)
    meta_file = metadata_path(path)
    if meta_file.is_file():
        try:
            expected = json.loads(meta_file.read_text()).get("sha256")
        except (json.JSONDecodeError, AttributeError):
            raise GankitError(f"{meta_file}: not a valid JSON metadata file.") from None
        if expected is not None and expected != digest:
            raise GankitError(
                f"{path} does not match its recorded hash: file sha256 {digest[:16]}..., "
                f"{meta_file.name} says {str(expected)[:16]}.... The weights were modified or only partly "
                "written; retrain with `gankit features train fashion-mnist` or reinstall gankit."
            )
    elif weights is None:
        raise GankitError(f"{meta_file} is missing; reinstall gankit or run `gankit features train fashion-mnist`.")
    model = FMNISTNet()
    try:
        state = load_file(str(path))
        model.load_state_dict(state)
    except Exception as e:  # safetensors header errors, missing/unexpected keys, shape mismatches
        raise GankitError(f"{path}: not a Fashion-MNIST classifier weights file ({e}).") from None
    return model.eval().requires_grad_(False), digest


class FeatureExtractorGankitFMNIST(FeatureExtractorBase):
    """torch-fidelity feature extractor ``gankit-fmnist``: features ``"feat"`` (128-d) and ``"logits"`` (10)."""

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        super().__init__(name, features_list)
        self.net, self.sha256 = load_fmnist_net(feature_extractor_weights_path)
        self.net.to(memory_format=torch.channels_last)  # ~2x faster convolutions on CPU
        self.weights_path = Path(feature_extractor_weights_path) if feature_extractor_weights_path else DEFAULT_WEIGHTS
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list():
        return "feat", "logits"

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return {"isc": "logits", "fid": "feat", "kid": "feat", "prc": "feat"}[metric]

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 1, 28, 28, dtype=torch.uint8)

    def forward(self, x):
        x = prepare_images(x, FMNIST_INPUT).to(torch.float32).div_(255.0).contiguous(memory_format=torch.channels_last)
        feat, logits = self.net.forward_features(x)
        out = {"feat": feat, "logits": logits}
        return tuple(out[name] for name in self.features_list)


def register() -> None:
    """Register ``gankit-fmnist`` with torch-fidelity (idempotent)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if FEATURE_EXTRACTORS_REGISTRY.get(TF_NAME) is not FeatureExtractorGankitFMNIST:
        FEATURE_EXTRACTORS_REGISTRY.pop(TF_NAME, None)
        register_feature_extractor(TF_NAME, FeatureExtractorGankitFMNIST)


register()
