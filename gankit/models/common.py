"""Image layouts, channel widths and norms shared by the convolutional families (dcgan, resnet,
stylegan2, progan; the translation families unet, resnet_translator, patchgan)."""

from __future__ import annotations

from typing import Literal

from torch import nn

from gankit.errors import ConfigError

#: The norms of the translation families: BatchNorm (pix2pix), InstanceNorm (CycleGAN), none.
TranslationNorm = Literal["batch", "instance", "none"]


def image_layout(size: int, path: str, family: str = "DCGAN") -> tuple[int, int]:
    """(seed size, number of 2x steps) for an image side length: ``size = s0 * 2**n``, s0 in {4, 7}."""
    for s0 in (4, 7):
        n, rem = 0, size
        while rem > s0 and rem % 2 == 0:
            rem //= 2
            n += 1
        if rem == s0 and n >= 1:
            return s0, n
    raise ConfigError(
        f"{path}: {family} supports image sizes 4*2^n or 7*2^n (28, 32, 64, 128, 256 ...), got {size}. "
        "Set data.image_size accordingly."
    )


def square_image(shape: tuple[int, ...], path: str, family: str, verb: str) -> tuple[int, int]:
    """(channels, side) of a (C, H, H) shape, or a ConfigError naming ``path``."""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ConfigError(f"{path}: {family} {verb} square images (C, H, H), data gives {tuple(shape)}.")
    return shape[0], shape[1]


def halving_widths(n: int, max_ch: int, min_ch: int) -> list[int]:
    """Channels per resolution of an s0 * 2^n network, coarse to fine: ``max_ch`` for the first two
    resolutions, then halving at each doubling, never below ``min_ch`` (StyleGAN2 and ProGAN)."""
    return [max(min_ch, min(max_ch, max_ch // 2 ** max(0, i - 1))) for i in range(n + 1)]


def image_shape(shape: tuple[int, ...], path: str, family: str, verb: str) -> tuple[int, int, int]:
    """(C, H, W) of an image shape (square or not, for the fully convolutional families)."""
    if len(shape) != 3 or min(shape) < 1:
        raise ConfigError(f"{path}: {family} {verb} images (C, H, W), the task gives {tuple(shape)}.")
    return int(shape[0]), int(shape[1]), int(shape[2])


def translation_norm(kind: TranslationNorm, channels: int) -> nn.Module:
    """InstanceNorm without affine parameters, as the CycleGAN/pix2pix reference code; convolutions
    before a norm drop their bias (the norm removes it)."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    return nn.Identity()


__all__ = ["TranslationNorm", "halving_widths", "image_layout", "image_shape", "square_image", "translation_norm"]
