"""Differentiable augmentation (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient
GAN Training", NeurIPS).

With little data D memorises the training set, its judgements stop generalising and G's
samples degrade (FID rises again late in training). Augmenting only the reals would teach G to
produce augmented images; DiffAugment applies the same family of random, differentiable
transforms to real *and* fake inputs of D, in both phases, and backpropagates through them to G.
Use it for small data sets (a few thousand images or fewer); on full data it is mostly neutral.

Policies (each call draws fresh parameters per sample from the global torch RNG):

* ``color``: brightness + U[-0.5, 0.5), saturation x U[0, 2), contrast x U[0.5, 1.5) (the latter
  two around the per-pixel channel mean / image mean; saturation does nothing to grayscale);
* ``translation``: integer shifts of up to ``translation_ratio`` of the side, zero fill;
* ``cutout``: one zeroed square of ``cutout_ratio`` of the side, centred uniformly in the image
  (clipped at the borders).

Images only: vector data (2D mixtures) has nothing to translate or cut out.
"""

from __future__ import annotations

from typing import Literal

import torch

from gankit.errors import ConfigError
from gankit.core.clock import Clock
from gankit.tricks.base import TRICKS, Assembly, Trick


Policy = Literal["color", "translation", "cutout"]


def _rand(x: torch.Tensor) -> torch.Tensor:
    """One U[0, 1) number per sample, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype)


def color(x: torch.Tensor) -> torch.Tensor:
    x = x + (_rand(x) - 0.5)
    mean_c = x.mean(dim=1, keepdim=True)
    x = (x - mean_c) * (_rand(x) * 2) + mean_c
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(x) + 0.5) + mean


def _shift_index(size: int, shift: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Source index (n, size) for output positions under integer ``shift`` (n,), and validity."""
    src = torch.arange(size, device=shift.device).unsqueeze(0) - shift.unsqueeze(1)
    valid = (src >= 0) & (src < size)
    return src.clamp(0, size - 1), valid


def translation(x: torch.Tensor, ratio: float = 0.125, shifts: torch.Tensor | None = None) -> torch.Tensor:
    """Move each image by (dy, dx) pixels, |dy|, |dx| <= ratio * side, filling with zeros.

    ``shifts`` (n, 2) of (dy, dx) may be given (tests); otherwise they are drawn uniformly.
    """
    n, c, h, w = x.shape
    if shifts is None:
        sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
        dy = torch.randint(-sy, sy + 1, (n,), device=x.device)
        dx = torch.randint(-sx, sx + 1, (n,), device=x.device)
    else:
        dy, dx = shifts[:, 0].to(x.device), shifts[:, 1].to(x.device)
    iy, vy = _shift_index(h, dy)  # (n, h)
    ix, vx = _shift_index(w, dx)  # (n, w)
    rows = torch.gather(x, 2, iy.view(n, 1, h, 1).expand(n, c, h, w))
    out = torch.gather(rows, 3, ix.view(n, 1, 1, w).expand(n, c, h, w))
    mask = (vy.view(n, 1, h, 1) & vx.view(n, 1, 1, w)).to(x.dtype)
    return out * mask


def cutout(x: torch.Tensor, ratio: float = 0.5, centers: torch.Tensor | None = None) -> torch.Tensor:
    """Zero one square of side ``ratio * side`` per image (clipped at the border).

    ``centers`` (n, 2) of (row, col) may be given (tests); otherwise drawn uniformly over the image.
    """
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if centers is None:
        cy = torch.randint(0, h, (n,), device=x.device)
        cx = torch.randint(0, w, (n,), device=x.device)
    else:
        cy, cx = centers[:, 0].to(x.device), centers[:, 1].to(x.device)
    y0, x0 = (cy - ch // 2).view(n, 1), (cx - cw // 2).view(n, 1)
    ry = torch.arange(h, device=x.device).view(1, h)
    rx = torch.arange(w, device=x.device).view(1, w)
    in_y = (ry >= y0) & (ry < y0 + ch)  # (n, h)
    in_x = (rx >= x0) & (rx < x0 + cw)  # (n, w)
    keep = ~(in_y.view(n, 1, h, 1) & in_x.view(n, 1, 1, w))
    return x * keep.to(x.dtype)


def diff_augment(x: torch.Tensor, policy: list[str], translation_ratio: float = 0.125, cutout_ratio: float = 0.5) -> torch.Tensor:
    for p in policy:
        if p == "color":
            x = color(x)
        elif p == "translation":
            x = translation(x, translation_ratio)
        elif p == "cutout":
            x = cutout(x, cutout_ratio)
    return x


@TRICKS.register("diffaugment")
class DiffAugment(Trick):
    kind = "input"

    def __init__(
        self,
        policy: list[Policy] = ["color", "translation", "cutout"],  # noqa: B006 - read only
        translation_ratio: float = 0.125,
        cutout_ratio: float = 0.5,
    ) -> None:
        if not policy:
            raise ConfigError("diffaugment.policy: name at least one of color, translation, cutout.")
        if not (0.0 <= translation_ratio < 1.0 and 0.0 <= cutout_ratio < 1.0):
            raise ConfigError(
                f"diffaugment: translation_ratio and cutout_ratio are fractions of the side in [0, 1), "
                f"got {translation_ratio} and {cutout_ratio}."
            )
        self.policy = list(policy)
        self.translation_ratio, self.cutout_ratio = translation_ratio, cutout_ratio

    def wrap(self, asm: Assembly) -> None:
        if len(asm.sample_shape) != 3:
            raise ConfigError(
                f"diffaugment: augments images (C, H, W), but the data gives samples of shape {tuple(asm.sample_shape)}; "
                "remove it for vector data (use instance_noise instead)."
            )

    def transform_input(self, x: torch.Tensor, clock: Clock) -> torch.Tensor:
        return diff_augment(x, self.policy, self.translation_ratio, self.cutout_ratio)
