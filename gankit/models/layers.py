"""Discriminator layers that let D look at a whole minibatch, against mode collapse.

A discriminator that scores each sample alone cannot tell that a batch of fakes is all the same
sample; these layers give it a statistic of the batch, so a collapsed generator is easy to spot.

* :class:`MinibatchStdDev` (Karras et al. 2018, "Progressive Growing of GANs", section 3): one
  extra feature, the standard deviation across a group of samples averaged over all features.
  Parameter-free and cheap; the usual choice.
* :class:`MinibatchDiscrimination` (Salimans et al. 2016, "Improved Techniques for Training
  GANs", section 3.2): learned projections whose L1 closeness to the other samples of the batch
  becomes extra features. Stronger but costs N^2 * kernels work and a large weight tensor.

Both work on images (N, C, H, W) and on flat features (N, F).
"""

from __future__ import annotations

import torch
from torch import nn


def _group(n: int, group_size: int) -> int:
    """The largest group size <= ``group_size`` that divides the batch (ProGAN needs N % G == 0)."""
    g = max(1, min(group_size, n))
    while n % g:
        g -= 1
    return g


class MinibatchStdDev(nn.Module):
    """Append one feature: the mean over features of the per-group standard deviation.

    Samples ``i`` and ``i + N/G`` are in the same group (ProGAN's layout). The result is repeated
    over the spatial positions (images) or appended as one more column (flat features). A group
    of identical samples gives ``sqrt(1e-8) = 1e-4``, i.e. (numerically) zero.
    """

    def __init__(self, group_size: int = 4, eps: float = 1e-8) -> None:
        super().__init__()
        self.group_size, self.eps = group_size, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        g = _group(n, self.group_size)
        y = x.float().reshape(g, n // g, *x.shape[1:])  # [G, M, ...]
        std = (y.var(dim=0, unbiased=False) + self.eps).sqrt()  # [M, ...]
        s = std.flatten(1).mean(dim=1).to(x.dtype)  # [M]
        s = s.repeat(g)  # sample g*M + m gets group m's value
        if x.dim() == 2:
            return torch.cat([x, s.view(n, 1)], dim=1)
        return torch.cat([x, s.view(n, 1, *([1] * (x.dim() - 2))).expand(n, 1, *x.shape[2:])], dim=1)

    def extra_repr(self) -> str:
        return f"group_size={self.group_size}"


class MinibatchDiscrimination(nn.Module):
    """Salimans et al. 2016: ``[x, o(x)]`` with ``o(x_i)_b = sum_j exp(-||M_i,b - M_j,b||_1)``.

    ``M = x T`` reshaped to (N, out_features, kernel_dim). The sum runs over the whole batch,
    the sample itself included (as in the paper), so a batch of n identical samples gives n.
    Input (N, in_features) or anything that flattens to it; output (N, in_features + out_features).
    """

    def __init__(self, in_features: int, out_features: int = 50, kernel_dim: int = 5) -> None:
        super().__init__()
        self.in_features, self.out_features, self.kernel_dim = in_features, out_features, kernel_dim
        self.T = nn.Parameter(torch.empty(in_features, out_features * kernel_dim))
        nn.init.normal_(self.T, 0.0, 0.05)  # the paper's code initialises T ~ N(0, 0.05)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.flatten(1)
        m = (x @ self.T).view(x.shape[0], self.out_features, self.kernel_dim)  # [N, B, C]
        l1 = (m.unsqueeze(0) - m.unsqueeze(1)).abs().sum(dim=3)  # [N, N, B]
        o = torch.exp(-l1).sum(dim=1)  # [N, B]
        return torch.cat([x, o], dim=1)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, kernel_dim={self.kernel_dim}"


__all__ = ["MinibatchStdDev", "MinibatchDiscrimination"]
