"""Ways to feed a class label into a network.

* :class:`LabelEmbedding` -- labels as a vector to concatenate to an input (cGAN, Mirza & Osindero
  2014): one-hot, or a learned embedding.
* :func:`one_hot_maps` -- labels as K constant image channels (the cGAN discriminator on images).
* :class:`ConditionalBatchNorm2d` -- batch norm whose scale and shift depend on the class (de Vries
  et al. 2017) or on any conditioning vector (BigGAN, Brock et al. 2019).
* :class:`ProjectionHead` -- the class term ``<embed(y), phi(x)>`` of the projection
  discriminator (Miyato & Koyama 2018).

Labels are integer class indices of shape (N,).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class LabelEmbedding(nn.Module):
    """Labels (N,) -> (N, out_dim): one-hot (``dim = 0``, no parameters) or a learned ``nn.Embedding``.

    One-hot into a following linear layer is already a learned per-class vector as wide as that
    layer (its weight columns), so ``dim = 0`` is the most expressive choice and adds no
    hyperparameter; a small ``dim`` is a low-rank version of it, useful when there are many classes.
    """

    def __init__(self, num_classes: int, dim: int = 0) -> None:
        super().__init__()
        if num_classes < 1 or dim < 0:
            raise ValueError(f"LabelEmbedding needs num_classes >= 1 and dim >= 0, got {num_classes}, {dim}")
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes, dim) if dim > 0 else None
        self.out_dim = dim if dim > 0 else num_classes

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        if self.embed is None:
            return F.one_hot(y.long(), self.num_classes).float()
        return self.embed(y.long())

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, out_dim={self.out_dim}, one_hot={self.embed is None}"


def one_hot_maps(y: torch.Tensor, num_classes: int, like: torch.Tensor) -> torch.Tensor:
    """Labels (N,) -> (N, K, *like.shape[2:]) constant one-hot planes in ``like``'s dtype and device."""
    v = F.one_hot(y.long(), num_classes).to(like.dtype)
    return v.view(*v.shape, *([1] * (like.dim() - 2))).expand(*v.shape, *like.shape[2:])


class ConditionalBatchNorm2d(nn.Module):
    """``BN(x) * gamma + beta`` with a per-sample gamma and beta; BN itself has no affine parameters.

    Conditioning (exactly one of the two):

    * ``num_classes = K`` -- gamma_y and beta_y are rows of two K x C embeddings, initialised to 1
      and 0, so every class starts as plain batch norm (de Vries et al. 2017; the categorical CBN of
      Miyato & Koyama 2018's generators). ``forward(x, y)`` takes labels (N,).
    * ``cond_dim = D`` -- ``gamma = 1 + W_g v``, ``beta = W_b v`` from a vector v (N, D) through two
      bias-free linear maps: BigGAN's conditioning on [shared class embedding, z chunk] (Brock et al.
      2019, section 3 and appendix B). W ~ N(0, 0.02), so gamma starts near 1; BigGAN starts from
      orthogonal weights, and zero would turn into 0/0 under spectral normalisation of G.
    """

    def __init__(
        self, num_features: int, num_classes: int = 0, cond_dim: int = 0, eps: float = 1e-5, momentum: float = 0.1
    ) -> None:
        super().__init__()
        if (num_classes > 0) == (cond_dim > 0):
            raise ValueError(f"ConditionalBatchNorm2d: give num_classes or cond_dim, got {num_classes}, {cond_dim}")
        self.num_features, self.num_classes, self.cond_dim = num_features, num_classes, cond_dim
        self.bn = nn.BatchNorm2d(num_features, eps=eps, momentum=momentum, affine=False)
        self.gamma: nn.Embedding | nn.Linear
        self.beta: nn.Embedding | nn.Linear
        if num_classes:
            self.gamma, self.beta = nn.Embedding(num_classes, num_features), nn.Embedding(num_classes, num_features)
            nn.init.ones_(self.gamma.weight)
            nn.init.zeros_(self.beta.weight)
        else:
            self.gamma, self.beta = nn.Linear(cond_dim, num_features, bias=False), nn.Linear(cond_dim, num_features, bias=False)
            nn.init.normal_(self.gamma.weight, 0.0, 0.02)
            nn.init.normal_(self.beta.weight, 0.0, 0.02)

    def scale_shift(self, c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(gamma, beta), each (N, C), for labels (N,) or conditioning vectors (N, cond_dim)."""
        if self.num_classes:
            return self.gamma(c.long()), self.beta(c.long())
        return 1.0 + self.gamma(c), self.beta(c)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.scale_shift(c)
        return self.bn(x) * gamma[:, :, None, None].to(x.dtype) + beta[:, :, None, None].to(x.dtype)

    def extra_repr(self) -> str:
        by = f"num_classes={self.num_classes}" if self.num_classes else f"cond_dim={self.cond_dim}"
        return f"{self.num_features}, {by}"


class ProjectionHead(nn.Module):
    """The class term of the projection discriminator: ``<embed(y), phi>`` per sample, shape (N,).

    Miyato & Koyama 2018 (eq. 3) write D's logit as ``y^T V phi(x) + psi(phi(x))``: the inner
    product of the label's embedding with D's features, added to the unconditional score. The
    discriminator keeps psi (its existing last layer) and adds this term, so the conditional D is
    the unconditional one plus one K x F embedding. Initialised Glorot-uniform, as in their code.
    """

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, in_features)
        nn.init.xavier_uniform_(self.embed.weight)

    def forward(self, phi: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return (self.embed(y.long()).to(phi.dtype) * phi).sum(dim=1)


__all__ = ["LabelEmbedding", "one_hot_maps", "ConditionalBatchNorm2d", "ProjectionHead"]
