"""Exponential moving average of G's weights (Yazıcı et al. 2019, "The Unusual Effectiveness of
Averaging in GAN Training", ICLR; used by ProGAN, StyleGAN, BigGAN).

GAN training does not converge to a point but wanders around it; averaging G's weights over
time cancels much of that oscillation and gives clearly better samples and FID at no training
cost. It never changes training itself, only what is sampled: grids, in-training FID and
``gankit sample`` use the average (``G_ema`` in checkpoints). Nearly always worth enabling.

After every ``every``-th G step: ema = decay * ema + (1 - decay) * theta for parameters, buffers
(BatchNorm statistics, spectral-norm vectors) copied. Before ``start`` (a step, or a fraction of
the budget such as ``0.1``) the average is a plain copy (the first weights are poor and would linger for ~1/(1-decay) steps). 0.999 suits runs of
10k+ steps; use 0.99-0.995 for a few thousand.

``half_life_images`` gives the average's memory in training images instead, as StyleGAN2 does
(``ema_kimg`` 10 = 10,000 images): decay = 0.5 ** (batch_size / half_life_images), so the same
half-life holds at any batch size.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.core.clock import Clock, Point, parse_point
from gankit.tricks.base import TRICKS, Trick, TrickEnv


@TRICKS.register("ema")
class EMA(Trick):
    kind = "averager"

    def __init__(self, decay: float = 0.999, start: Point = 0, every: int = 1, network: str = "G",
                 half_life_images: float | None = None) -> None:  # fmt: skip
        if half_life_images is not None and not half_life_images > 0:
            raise ConfigError(f"ema.half_life_images: a positive number of images (StyleGAN2 uses 10000), got {half_life_images}.")
        self.half_life_images = half_life_images
        if not 0.0 <= decay < 1.0:
            raise ConfigError(f"ema.decay: in [0, 1) (0.999 is usual), got {decay}.")
        if every < 1:
            raise ConfigError(f"ema.every: at least 1 step, got {every}.")
        self.start = parse_point(start, "ema.start")
        self.decay, self.update_every, self.network = decay, every, network
        self.G: nn.Module | None = None
        self.G_ema: nn.Module | None = None
        self._matched: tuple[list[torch.Tensor], ...] | None = None  # (ema, src, ema buffers, src buffers), see _pairs

    @property
    def name(self) -> str:
        return f"{self.network}_ema"

    def wrap(self, asm: Any) -> None:
        if self.half_life_images is not None:  # images per update: the batch, times `every` steps
            self.decay = 0.5 ** (asm.batch_size * self.update_every / self.half_life_images)

    def bind(self, env: TrickEnv) -> None:
        if self.network not in env.raw:
            raise ConfigError(f"ema.network: no network {self.network!r}; this task has {', '.join(env.raw)}.")
        self.G = env.raw[self.network]
        self.G_ema = copy.deepcopy(self.G)
        self._matched = None
        self.G_ema.requires_grad_(False)

    @torch.no_grad()
    def update(self, clock: Clock) -> None:
        """``clock``: steps completed before the one just taken."""
        assert self.G is not None and self.G_ema is not None
        copy_only = not clock.reached(self.start)
        if not copy_only and clock.step % self.update_every != 0:
            return
        ema, src, ema_b, src_b = self._pairs()
        if copy_only:
            torch._foreach_copy_(ema, src)
        else:  # one fused call per list instead of two per tensor (the same mul and add, so the same numbers)
            torch._foreach_mul_(ema, self.decay)
            torch._foreach_add_(ema, src, alpha=1.0 - self.decay)
        if ema_b:
            torch._foreach_copy_(ema_b, src_b)

    def _pairs(self) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor], list[torch.Tensor]]:
        """The averaged tensors and their sources (parameters; buffers are copied), matched by name once:
        both modules keep their tensors for the run (resume copies into them)."""
        assert self.G is not None and self.G_ema is not None
        if self._matched is None:
            src, src_b = dict(self.G.named_parameters()), dict(self.G.named_buffers())
            ema = [(e, src[n]) for n, e in self.G_ema.named_parameters()]
            buf = [(b, src_b[n]) for n, b in self.G_ema.named_buffers()]
            self._matched = ([e for e, _ in ema], [s for _, s in ema], [b for b, _ in buf], [s for _, s in buf])
        ema_p, src_p, ema_b, src_b_list = self._matched
        return ema_p, [s.to(e.dtype) for e, s in zip(ema_p, src_p)], ema_b, src_b_list

    def after_step(self, network: str, clock: Clock) -> None:
        if network == self.network:
            self.update(clock)

    def averaged(self) -> dict[str, nn.Module]:
        return {self.name: self.G_ema} if self.G_ema is not None else {}
