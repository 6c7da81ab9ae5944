"""Exponential moving average of G's weights (Yazıcı et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training", ICLR; used by ProGAN, StyleGAN, BigGAN).

GAN training does not converge to a point but wanders around it; averaging G's weights over
time cancels much of that oscillation and gives clearly better samples and FID at no training
cost. It never changes training itself, only what is sampled: grids, in-training FID and
``gankit sample`` use the average (``G_ema`` in checkpoints). Nearly always worth enabling.

After every ``every``-th G step: ema = decay * ema + (1 - decay) * theta for parameters, buffers
(BatchNorm statistics, spectral-norm vectors) copied. Before step ``start`` the average is a plain
copy (the first weights are poor and would linger for ~1/(1-decay) steps). 0.999 suits runs of
10k+ steps; use 0.99-0.995 for a few thousand.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.regularizers.base import REGULARIZERS, Regularizer


@REGULARIZERS.register("ema")
class EMA(Regularizer):
    def __init__(self, decay: float = 0.999, start: int = 0, every: int = 1) -> None:
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"ema.decay: in [0, 1) (0.999 is usual), got {decay}.")
        if start < 0 or every < 1:
            raise ConfigError(f"ema: start >= 0 and every >= 1 are needed, got start={start}, every={every}.")
        self.decay, self.start, self.every = decay, start, every
        self.G: nn.Module | None = None
        self.G_ema: nn.Module | None = None

    def setup(self, trainer: Any) -> None:
        self.G = trainer.G_raw
        self.G_ema = copy.deepcopy(trainer.G_raw)
        self.G_ema.requires_grad_(False)

    @torch.no_grad()
    def update(self, step: int) -> None:
        """``step``: G steps completed before the one just taken."""
        assert self.G is not None and self.G_ema is not None
        copy_only = step < self.start
        if not copy_only and step % self.every != 0:
            return
        src = dict(self.G.named_parameters())
        for n, e in self.G_ema.named_parameters():
            if copy_only:
                e.copy_(src[n])
            else:
                e.mul_(self.decay).add_(src[n].to(e.dtype), alpha=1.0 - self.decay)
        src_b = dict(self.G.named_buffers())
        for n, b in self.G_ema.named_buffers():
            b.copy_(src_b[n])

    def after_g_step(self, trainer: Any) -> None:
        self.update(trainer.step)

    def sampling_generator(self) -> nn.Module | None:
        return self.G_ema

    def extra_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        return {"G_ema": self.G_ema.state_dict()} if self.G_ema is not None else {}

    def load_extra_weights(self, weights: dict[str, dict[str, torch.Tensor]]) -> None:
        if self.G_ema is not None and "G_ema" in weights:
            self.G_ema.load_state_dict(weights["G_ema"])
