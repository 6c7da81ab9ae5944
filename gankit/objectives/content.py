"""Content (perceptual) loss of SRGAN/ESRGAN: the distance between fixed features of SR and HR images.

``loss(sr, hr) = scale * mean((phi(sr) - phi(hr))^2)`` (``criterion="l1"``: mean |.|), with phi a
frozen network's feature map and hr's features computed without gradients. Images are float in
[-1, 1], N x C x H x W. Two networks:

* ``vgg19`` -- torchvision's ``vgg19()`` architecture with weights read ONLY from the file given as
  ``task.vgg_weights`` (gankit downloads nothing): a torchvision VGG19 state dict, ``.pth``/``.pt``
  (``torch.load(weights_only=True)``) or ``.safetensors``, every key and shape checked; the
  official file is torchvision's ``vgg19-dcbb9e9d.pth`` (:data:`VGG19_SOURCE`). Layers:
  ``conv5_4`` (default; before its ReLU, ESRGAN's choice: post-activation features are sparse and
  lose brightness information), ``relu5_4`` (SRGAN's phi_5,4, after activation), any other
  ``convB_I``/``reluB_I`` (``relu2_2`` is SRGAN's low-level VGG22). Input: [-1, 1] -> [0, 1] ->
  ImageNet mean/std; grayscale repeated to 3 channels; any size (fully convolutional).
  Default ``scale`` 1/12.75^2 ~= 0.00615: SRGAN rescales the VGG feature maps by 1/12.75 "to
  obtain VGG losses of a scale that is comparable to the MSE loss", i.e. the squared loss by
  ~0.006. The paper's VGG was Caffe's on [0, 255] inputs, so with torchvision's normalised inputs
  this is a starting point, not a law: ``scale`` (and the task's content weight) can be changed.
* ``fmnist`` -- gankit's shipped Fashion-MNIST classifier (the FID extractor,
  :mod:`gankit.metrics.extractors.fmnist`), for 1-channel images. Layers: ``block1`` (32 x H x W),
  ``block2`` (default, 64 x H/2 x W/2), ``block3`` (128 x H/4 x W/4): the output of conv block k
  after BatchNorm + ReLU, before its max-pool; ``feat``: the 128-d penultimate features (28 x 28
  inputs only). ``block2`` is the deepest map that still has one position per 2 x 2 output pixels
  (receptive field 10 px): at 28 x 28 ``block3`` is 7 x 7, the resolution of a 4x input, and
  ``feat`` has no spatial layout, so neither can judge the detail SR adds. Spatial layers run at
  the image's own size (the blocks are convolutional; no resize, which would blur what the loss
  is meant to see). Input: [-1, 1] -> [0, 1] -> the classifier's own (x - 0.2860) / 0.3530.
  Default ``scale``: :data:`FMNIST_SCALE`, SRGAN's rule applied to this network -- measured so that
  the content loss of 2x PIL-bicubic upscales of the Fashion-MNIST test images equals their pixel
  MSE (on [-1, 1]), i.e. "comparable to the MSE loss".

The loss module is owned by the task, not by its networks: do not register it under a checkpointed
``nn.Module`` (its weights are fixed files, not training state). It stays in eval mode and follows
its input to the input's device. ``description`` is the protocol string for logs and reports.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.core.errors import ConfigError, GankitError

VGG19_SOURCE = "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth (torchvision's ImageNet VGG19)"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
SRGAN_SCALE = 1 / 12.75**2
#: fmnist content-loss scale per layer: pixel MSE / feature MSE of 2x PIL-bicubic upscales of the first 2,000
#: Fashion-MNIST test images (0.41, 0.63, 0.39, 0.040; 4x gives 0.51, 0.66, 0.45, 0.036), to one digit.
FMNIST_SCALE = {"block1": 0.4, "block2": 0.6, "block3": 0.4, "feat": 0.04}
FMNIST_LAYERS = ("block1", "block2", "block3", "feat")
_FMNIST_ENDS = {"block1": 3, "block2": 7, "block3": 11}  # FMNISTNet.body[:end] stops after block k's ReLU
KINDS = ("auto", "vgg19", "fmnist", "none")
CRITERIA = ("mse", "l1")


def vgg19_layer_names() -> list[str]:
    """Names of ``vgg19().features[i]`` in order: conv1_1, relu1_1, conv1_2, relu1_2, pool1, conv2_1, ..."""
    from torchvision.models import vgg19

    with torch.device("meta"):
        features = vgg19(weights=None).features
    names, block, i = [], 1, 0
    for m in features:
        if isinstance(m, nn.MaxPool2d):
            names.append(f"pool{block}")
            block, i = block + 1, 0
        elif isinstance(m, nn.Conv2d):
            i += 1
            names.append(f"conv{block}_{i}")
        else:
            names.append(f"relu{block}_{i}")
    return names


def _vgg_features(path: str | Path, layer: str) -> tuple[nn.Sequential, str]:
    """``vgg19().features`` up to and including ``layer``, weights from ``path``; and the file's SHA-256."""
    from torchvision.models import vgg19

    from gankit.metrics._io import sha256_file_cached
    from gankit.metrics.extractors.inception import hash_prefix
    from gankit.metrics.extractors.lpips_vgg import _check, _load_tensors

    names = vgg19_layer_names()
    if layer not in names or layer.startswith("pool"):
        valid = ", ".join(n for n in names if not n.startswith("pool"))
        raise ConfigError(f"task.content_layer {layer!r} is not a VGG19 conv/relu layer; valid: {valid}.")
    with torch.device("meta"):
        features = vgg19(weights=None).features
    expected = {f"features.{k}": tuple(v.shape) for k, v in features.state_dict().items()}
    hint = f"Expected torchvision's VGG19 state dict (features.N.weight/bias), e.g. vgg19-dcbb9e9d.pth from {VGG19_SOURCE}."
    try:
        state = _load_tensors(path, "task.vgg_weights")
        if "features.0.weight" not in state and "0.weight" in state:  # a saved vgg19().features state dict
            state = {f"features.{k}": v for k, v in state.items()}
        _check(state, expected, "task.vgg_weights", path, "VGG19 weights", hint)
    except GankitError as e:
        raise ConfigError(str(e)) from None
    extra = sorted(k for k in state if k.startswith("features.") and k not in expected)
    if extra:
        raise ConfigError(f"task.vgg_weights {path}: unexpected {', '.join(extra[:3])} (vgg19_bn or another VGG?); the "
                          f"content loss uses plain VGG19. {hint}")  # fmt: skip
    digest = sha256_file_cached(path)
    prefix = hash_prefix(path)
    if prefix is not None and not digest.startswith(prefix):
        raise ConfigError(f"task.vgg_weights {path}: its SHA-256 does not start with {prefix}, the prefix in its name; "
                          f"the file is damaged or not the released weights. Download it again from {VGG19_SOURCE}.")  # fmt: skip
    features.load_state_dict({k[len("features."):]: state[k].float() for k in expected}, assign=True)
    end = names.index(layer) + 1
    trunk = nn.Sequential(*features[:end])
    for m in trunk:
        if isinstance(m, nn.ReLU):
            m.inplace = False  # the conv output stays intact for autograd and for hooks
    return trunk, digest


def _fmnist_features(layer: str) -> tuple[nn.Sequential, str]:
    from gankit.metrics.extractors.fmnist import load_fmnist_net

    if layer not in FMNIST_LAYERS:
        raise ConfigError(f"task.content_layer {layer!r} is not a layer of the fmnist classifier; valid: {', '.join(FMNIST_LAYERS)}.")
    net, digest = load_fmnist_net()
    if layer == "feat":
        return nn.Sequential(*net.body, net.fc, nn.ReLU()), digest
    trunk = nn.Sequential(*net.body[: _FMNIST_ENDS[layer]])
    for m in trunk:
        if isinstance(m, nn.ReLU):
            m.inplace = False
    return trunk, digest


class ContentLoss(nn.Module):
    """``forward(sr, hr)``: ``scale`` x the MSE (or L1) between frozen features of sr and hr.

    ``features`` reads normalised input; ``mean``/``std`` (per input channel of the network) map
    [0, 1] images to it; 1-channel images are repeated to the network's channels.
    """

    def __init__(self, features: nn.Module, in_channels: int, mean: tuple[float, ...], std: tuple[float, ...],
                 scale: float, criterion: str, description: str, fixed_size: tuple[int, int] | None = None) -> None:  # fmt: skip
        super().__init__()
        if criterion not in CRITERIA:
            raise ConfigError(f"content criterion {criterion!r} unknown; use one of {', '.join(CRITERIA)}.")
        if not scale > 0:
            raise ConfigError(f"content loss scale must be > 0, got {scale}.")
        self.features = features
        self.in_channels, self.scale, self.criterion = in_channels, float(scale), criterion
        self.fixed_size, self.description = fixed_size, description
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), persistent=False)
        self.requires_grad_(False).eval()

    def train(self, mode: bool = True) -> "ContentLoss":
        """Always eval: the feature network's BatchNorm/Dropout must not change (or update) with the task's mode."""
        return super().train(False)

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """[-1, 1] images -> the network's normalised input (channels repeated for grayscale)."""
        if images.dim() != 4 or images.shape[1] not in (1, self.in_channels):
            raise ConfigError(f"content loss: expected N x {'1|' if self.in_channels > 1 else ''}{self.in_channels} x H x W "
                              f"images, got {tuple(images.shape)}.")  # fmt: skip
        if self.fixed_size is not None and tuple(images.shape[2:]) != self.fixed_size:
            raise ConfigError(f"content loss: this layer reads {self.fixed_size[0]}x{self.fixed_size[1]} images, got "
                              f"{images.shape[2]}x{images.shape[3]}; use a spatial layer (block1-3) instead.")  # fmt: skip
        x = (images.to(self.mean.dtype) + 1) * 0.5
        if x.shape[1] != self.in_channels:
            x = x.repeat(1, self.in_channels, 1, 1)
        return (x - self.mean) / self.std

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        if sr.shape != hr.shape:
            raise ConfigError(f"content loss compares images of one shape; got {tuple(sr.shape)} and {tuple(hr.shape)}.")
        if self.mean.device != sr.device:
            self.to(sr.device)
        f_sr = self.features(self.prepare(sr))
        with torch.no_grad():
            f_hr = self.features(self.prepare(hr))
        dist = F.mse_loss if self.criterion == "mse" else F.l1_loss
        return self.scale * dist(f_sr.float(), f_hr.float())


def build_content_loss(
    kind: Literal["auto", "vgg19", "fmnist", "none"],
    channels: int,
    vgg_weights: str | Path | None = None,
    layer: str | None = None,
    scale: float | None = None,
    criterion: Literal["mse", "l1"] = "mse",
) -> ContentLoss | None:
    """The content loss for ``channels``-channel images, or None (``none``; ``auto`` with nothing usable).

    ``auto``: vgg19 when ``vgg_weights`` is given, else fmnist for 1 channel, else None with a
    warning naming ``task.vgg_weights``. ``layer`` None: conv5_4 (vgg19), block2 (fmnist).
    ``scale`` None: 1/12.75^2 (vgg19, SRGAN), :data:`FMNIST_SCALE` (fmnist).
    """
    if kind not in KINDS:
        raise ConfigError(f"task.content {kind!r} unknown; use one of {', '.join(KINDS)}.")
    if channels not in (1, 3):
        raise ConfigError(f"content loss: images with 1 or 3 channels, got {channels}.")
    if kind == "auto":
        if vgg_weights is not None:
            kind = "vgg19"
        elif channels == 1:
            kind = "fmnist"
        else:
            warnings.warn("no content loss for RGB images: set task.vgg_weights to a torchvision VGG19 state dict "
                          f"({VGG19_SOURCE}) to train with SRGAN's VGG content loss.", stacklevel=2)  # fmt: skip
            return None
    if kind == "none":
        return None
    if kind == "vgg19":
        if vgg_weights is None:
            raise ConfigError(f"task.content vgg19 needs task.vgg_weights: the path of torchvision's VGG19 state dict "
                              f"(gankit downloads nothing); the official file is {VGG19_SOURCE}.")  # fmt: skip
        layer = layer or "conv5_4"
        features, digest = _vgg_features(vgg_weights, layer)
        s = SRGAN_SCALE if scale is None else scale
        act = "before activation" if layer.startswith("conv") else "after ReLU"
        desc = (f"vgg19 {layer} ({act}) features, {criterion} x {s:.4g}; input [-1,1] -> [0,1] -> ImageNet mean/std"
                f"{', grayscale repeated to 3 channels' if channels == 1 else ''}; weights {Path(vgg_weights).name} "
                f"(sha256 {digest[:16]})")  # fmt: skip
        return ContentLoss(features, 3, IMAGENET_MEAN, IMAGENET_STD, s, criterion, desc)
    if channels != 1:
        raise ConfigError("task.content fmnist reads 1-channel images (the Fashion-MNIST classifier); for RGB use "
                          f"task.content vgg19 with task.vgg_weights ({VGG19_SOURCE}).")  # fmt: skip
    from gankit.metrics.extractors.fmnist import MEAN, STD

    layer = layer or "block2"
    features, digest = _fmnist_features(layer)
    s = FMNIST_SCALE[layer] if scale is None else scale
    where = "128-d penultimate features (after ReLU; 28x28 input)" if layer == "feat" else "features (after BatchNorm+ReLU, before max-pool)"
    desc = (f"fmnist classifier {layer} {where}, {criterion} x {s:.4g}; input [-1,1] -> [0,1] -> (x - {MEAN}) / {STD}; "
            f"weights fmnist_classifier.safetensors (sha256 {digest[:16]})")  # fmt: skip
    return ContentLoss(features, 1, (MEAN,), (STD,), s, criterion, desc, (28, 28) if layer == "feat" else None)


__all__ = ["CRITERIA", "ContentLoss", "FMNIST_LAYERS", "FMNIST_SCALE", "KINDS", "SRGAN_SCALE", "VGG19_SOURCE",
           "build_content_loss", "vgg19_layer_names"]  # fmt: skip
