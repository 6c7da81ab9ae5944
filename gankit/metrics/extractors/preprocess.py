"""The one place where images are adapted to what a feature extractor expects.

Every extractor receives images the way torch-fidelity feeds them: ``uint8`` tensors of shape
``N x C x H x W`` with values 0..255. :func:`prepare_images` turns such a batch into the input a
given extractor wants:

* **channels** -- grayscale (``C == 1``) is replicated to 3 channels for 3-channel extractors
  (Inception); RGB (``C == 3``) is averaged with equal weights to 1 channel for 1-channel extractors
  (the Fashion-MNIST classifier). Other channel counts are an error.
* **size** -- for an extractor with a fixed input size (the Fashion-MNIST classifier: 28x28) images
  of another size are resized with antialiased bilinear interpolation (``torch.nn.functional.
  interpolate(mode="bilinear", antialias=True, align_corners=False)``), rounded and clamped back to
  ``uint8``. Inception's resize to 299x299 is *not* done here: it is part of torch-fidelity's
  Inception definition (a TensorFlow-1.x-compatible bilinear resize inside its ``forward``) and must
  stay there for scores comparable with the literature; :func:`resize_method` names it in the
  protocol.

:func:`resize_method` gives the string recorded as ``Protocol.resize`` so every number says how its
images were adapted.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from gankit.errors import GankitError


@dataclass(frozen=True)
class InputSpec:
    """What an extractor consumes: channel count and a fixed square size (None = any size)."""

    channels: int
    size: int | None
    internal_resize: str | None = None  # a resize the extractor itself performs, for the protocol


FMNIST_INPUT = InputSpec(channels=1, size=28)
INCEPTION_INPUT = InputSpec(channels=3, size=None, internal_resize="tf1-bilinear-299")


def _check(images: torch.Tensor) -> None:
    if not torch.is_tensor(images) or images.dtype != torch.uint8 or images.dim() != 4:
        got = f"{images.dtype} tensor of shape {tuple(images.shape)}" if torch.is_tensor(images) else type(images)
        raise GankitError(f"feature extractors take uint8 images of shape N x C x H x W; got {got}.")
    if images.shape[1] not in (1, 3):
        raise GankitError(
            f"images must have 1 (grayscale) or 3 (RGB) channels; got {images.shape[1]} "
            f"(shape {tuple(images.shape)}). Is the array channels-last (N x H x W x C)?"
        )


def prepare_images(images: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """Adapt a ``uint8`` N x C x H x W batch to ``spec``; returns ``uint8`` N x spec.channels x H' x W'."""
    _check(images)
    c = images.shape[1]
    if c != spec.channels:
        if spec.channels == 3:  # gray -> RGB: replicate
            images = images.expand(-1, 3, -1, -1)
        else:  # RGB -> gray: equal-weight mean, rounded
            images = images.float().mean(dim=1, keepdim=True).round_().clamp_(0, 255).to(torch.uint8)
    if spec.size is not None and tuple(images.shape[-2:]) != (spec.size, spec.size):
        x = images.float()
        x = F.interpolate(x, size=(spec.size, spec.size), mode="bilinear", antialias=True, align_corners=False)
        images = x.round_().clamp_(0, 255).to(torch.uint8)
    return images.contiguous()


def resize_method(image_shape: tuple[int, int, int], spec: InputSpec) -> str:
    """Describe, for the protocol, what :func:`prepare_images` (and the extractor) do to ``image_shape`` (C, H, W)."""
    c, h, w = image_shape
    steps = []
    if c != spec.channels:
        steps.append("gray->rgb-replicate" if spec.channels == 3 else "rgb->gray-mean")
    if spec.size is not None and (h, w) != (spec.size, spec.size):
        steps.append(f"bilinear-antialias-{h}x{w}->{spec.size}x{spec.size}")
    if spec.internal_resize:
        steps.append(spec.internal_resize)
    return "+".join(steps) if steps else "none"
