"""Reconstruction terms of image-to-image translation, as pure tensor functions.

Pix2Pix (Isola et al. 2017, eq. 3-4): G's objective is the adversarial term + lambda_L1 * L1(b, G(a)),
lambda_L1 = 100; the task applies lambda, :func:`l1_loss` is the mean absolute error. Its D is
conditional and reads the pair ``cat(a, b)`` (:func:`condition_pair`).

CycleGAN (Zhu et al. 2017, eq. 2-3 and section 5.2), with G: A -> B and F: B -> A:

* cycle: ``lambda * (E|F(G(a)) - a|_1 + E|G(F(b)) - b|_1)``, lambda = 10 (:func:`cycle_loss`);
* identity: ``identity_weight * lambda * (E|F(a) - a|_1 + E|G(b) - b|_1)``, identity_weight = 0.5,
  i.e. 0.5 * lambda as in the paper; each generator fed an image of its *target* domain should
  return it unchanged (:func:`identity_loss`). This is the reference code's
  ``lambda_identity * lambda_A/B`` with lambda_A = lambda_B.

Every "E|.|_1" is the mean over all elements (batch, channels, pixels), as ``torch.nn.L1Loss``.
"""

from __future__ import annotations

import torch


def l1_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over every element (the unweighted Pix2Pix L1 term)."""
    return (output.float() - target.float()).abs().mean()


def cycle_loss(
    real_a: torch.Tensor, rec_a: torch.Tensor, real_b: torch.Tensor, rec_b: torch.Tensor, weight: float = 10.0
) -> torch.Tensor:
    """``weight * (L1(rec_a, real_a) + L1(rec_b, real_b))``: rec_a = F(G(real_a)), rec_b = G(F(real_b))."""
    return weight * (l1_loss(rec_a, real_a) + l1_loss(rec_b, real_b))


def identity_loss(
    real_a: torch.Tensor,
    same_a: torch.Tensor,
    real_b: torch.Tensor,
    same_b: torch.Tensor,
    weight: float = 10.0,
    identity_weight: float = 0.5,
) -> torch.Tensor:
    """``identity_weight * weight * (L1(same_a, real_a) + L1(same_b, real_b))``.

    same_a = F(real_a) (the B -> A generator on an A image), same_b = G(real_b) (A -> B on a B
    image); ``weight`` is the cycle lambda, so the defaults give the paper's 0.5 * 10 = 5.
    """
    return identity_weight * weight * (l1_loss(same_a, real_a) + l1_loss(same_b, real_b))


def condition_pair(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """What a conditional (Pix2Pix) D reads: the input and the (real or generated) output along channels."""
    return torch.cat([a, b.to(a.dtype)], dim=1)


__all__ = ["condition_pair", "cycle_loss", "identity_loss", "l1_loss"]
