"""SAGAN self-attention (Zhang et al. 2019, "Self-Attention Generative Adversarial Networks", section 3).

Convolutions see a neighbourhood; attention lets every position look at every other one, so
distant parts of an image (a dog's legs, its head) can agree. Inserted once at a middle
resolution (16x16 for 32x32 images, 64x64 in BigGAN at 128): its cost grows as (H W)^2.
"""

from __future__ import annotations

import torch
from torch import nn


class SelfAttention2d(nn.Module):
    """``x + gamma * W_o(V softmax(Q^T K)^T)`` over the H*W positions of (N, C, H, W).

    Query and key are 1x1 convolutions to C/8 channels, the value to C/2 and the output back to C
    (the channel split of BigGAN's implementation; the paper uses C/8 throughout). Position j
    attends to position i with weight ``softmax_i(q_j . k_i)`` (no 1/sqrt(d) scale, as in the paper).
    gamma is learned and starts at 0, so the block starts as the identity and the network first
    relies on local features, then learns to use attention (paper, eq. 3). Unlike BigGAN's code,
    keys and values are not max-pooled, so the block is exactly the paper's formula. Bias-free
    1x1 convolutions; a spectral-norm wrapper normalises them like any other convolution.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        ck, cv = max(1, channels // 8), max(1, channels // 2)
        self.query = nn.Conv2d(channels, ck, 1, bias=False)
        self.key = nn.Conv2d(channels, ck, 1, bias=False)
        self.value = nn.Conv2d(channels, cv, 1, bias=False)
        self.out = nn.Conv2d(cv, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(1))
        for conv in (self.query, self.key, self.value, self.out):
            nn.init.xavier_uniform_(conv.weight)

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The (N, HW, HW) map: row j holds the weights position j gives every position i."""
        q, k = self.query(x).flatten(2), self.key(x).flatten(2)  # (N, C/8, HW)
        return torch.softmax(q.transpose(1, 2) @ k, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        v = self.value(x).flatten(2)  # (N, C/2, HW)
        o = (v @ self.attention(x).transpose(1, 2)).view(n, -1, h, w)  # o[:, :, j] = sum_i a[j, i] v[:, :, i]
        return x + self.gamma * self.out(o)

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


__all__ = ["SelfAttention2d"]
