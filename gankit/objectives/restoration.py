"""Reconstruction terms of super-resolution, inpainting and StarGAN, as pure tensor functions.

* SRResNet/SRGAN/ESRGAN pre-training and content: :func:`pixel_loss` (MSE as SRGAN's SRResNet,
  L1 as ESRGAN's PSNR-oriented RRDBNet).
* Inpainting (Pathak et al. 2016; Iizuka et al. 2017): :func:`hole_l1`, the L1 over hole pixels
  only (known pixels are copied by :func:`composite`, so G owes nothing there), and the composite
  itself. Masks are N x 1 x H x W (or N x C x H x W) with **1 marking the hole**.
* StarGAN (Choi et al. 2018): :func:`domain_classification_loss` (eq. 2 for D on real images with
  their labels, eq. 3 for G on fakes with the target labels) and :func:`reconstruction_l1` (eq. 4,
  ``||x - G(G(x, c), c')||_1``).

Every mean is over all elements (batch, channels, pixels), as ``torch.nn.L1Loss``/``MSELoss``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.core.errors import ConfigError
from gankit.objectives.translation import l1_loss

PIXEL_LOSSES = ("l1", "mse")


def pixel_loss(out: torch.Tensor, target: torch.Tensor, kind: str = "l1") -> torch.Tensor:
    """Mean absolute (``"l1"``) or squared (``"mse"``) error over every element."""
    if kind == "l1":
        return l1_loss(out, target)
    if kind == "mse":
        return F.mse_loss(out.float(), target.float())
    raise ConfigError(f"pixel loss {kind!r} unknown; use one of {', '.join(PIXEL_LOSSES)} (SRGAN: mse, ESRGAN: l1).")


def _check_mask(out: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    if mask.dim() != 4 or mask.shape[0] != out.shape[0] or mask.shape[2:] != out.shape[2:] or mask.shape[1] not in (1, out.shape[1]):
        raise ConfigError(f"mask of shape {tuple(mask.shape)} does not fit images {tuple(out.shape)}; "
                          "expected N x 1 x H x W with 1 marking the hole.")  # fmt: skip
    return mask.to(out.device, torch.float32)


def hole_l1(out: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``sum |out - target| * mask / (sum(mask) * C)``: the mean absolute error per hole element.

    Pooled over the whole batch (a big hole weighs more than a small one, as every hole pixel
    does equally). 0, not NaN, when the batch has no hole pixel.
    """
    m = _check_mask(out, mask).expand(out.shape[0], out.shape[1], *out.shape[2:])
    num = ((out.float() - target.float()).abs() * m).sum()
    return num / m.sum().clamp_min(1e-12)  # no hole: num is exactly 0


def composite(x: torch.Tensor, out: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``x * (1 - mask) + out * mask``: G's pixels in the hole, the known pixels of ``x`` elsewhere.

    With a 0/1 mask and finite ``out`` the known pixels are exactly ``x`` (x * 1 + out * 0), and the
    gradient reaches ``out`` only through the hole.
    """
    m = _check_mask(out, mask).to(out.dtype)
    return x.to(out.dtype) * (1 - m) + out * m


def domain_classification_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of D's domain head: ``-mean_i log softmax(logits_i)[labels_i]``.

    StarGAN's L_cls^r (D, real images, their domains) and L_cls^f (G, fakes, the target domains).
    """
    if logits.dim() != 2 or labels.shape != logits.shape[:1]:
        raise ConfigError(f"domain classification expects logits (N, K) and labels (N,); got {tuple(logits.shape)} "
                          f"and {tuple(labels.shape)}.")  # fmt: skip
    return F.cross_entropy(logits.float(), labels.long())


def reconstruction_l1(x: torch.Tensor, rec: torch.Tensor) -> torch.Tensor:
    """StarGAN's cycle term: mean |x - G(G(x, c_target), c_original)|."""
    return l1_loss(rec, x)


__all__ = ["PIXEL_LOSSES", "composite", "domain_classification_loss", "hole_l1", "pixel_loss", "reconstruction_l1"]
