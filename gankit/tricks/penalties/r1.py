"""R1 and R2 gradient penalties (Mescheder et al. 2018, "Which Training Methods for GANs do
actually Converge?", ICML), with lazy regularisation (Karras et al. 2020, StyleGAN2).

R1 = gamma/2 * E ||grad_x D(x)||^2 on real data penalises D's slope at the data, which makes
simultaneous/alternating gradient descent converge locally (Dirac-GAN analysis); R2 is the same on
fakes. Use R1 with the non-saturating loss (StyleGAN's recipe) when D overfits or training
oscillates; gamma ~ 10 for 28-64 px, larger for bigger images. ``every: 16`` makes it lazy: it runs in
its own phase (``D_reg``) on every 16th step, multiplied by 16, with D's optimizer lr and betas
adjusted by 16/17 (StyleGAN2's lazy regularisation), which costs 1/16 of the double backward for
the same average strength. Prefer a D without batch norm (the penalty then is per sample).
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError
from gankit.objectives.penalties import input_grad, squared_grad_norm
from gankit.tricks.base import TRICKS, StepContext, Trick

__all__ = ["R1", "R2", "input_grad", "squared_grad_norm"]


class _GradPenalty(Trick):
    kind = "penalty"
    key = ""

    def __init__(self, gamma: float = 10.0, every: int = 1) -> None:
        if every < 1:
            raise ConfigError(f"{self.key}.every: at least 1 (1 = every step, 16 = lazy as in StyleGAN2), got {every}.")
        if gamma < 0:
            raise ConfigError(f"{self.key}.gamma: must be >= 0, got {gamma}.")
        self.gamma, self.every = gamma, every

    def _input(self, ctx: StepContext) -> torch.Tensor | None:
        raise NotImplementedError

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        x = self._input(ctx)
        if x is None:
            return None
        pen = 0.5 * self.gamma * squared_grad_norm(ctx.D, x)
        ctx.logs[self.key] = pen.detach()
        return pen


@TRICKS.register("r1")
class R1(_GradPenalty):
    key = "r1"

    def _input(self, ctx: StepContext) -> torch.Tensor | None:
        return ctx.real


@TRICKS.register("r2")
class R2(_GradPenalty):
    key = "r2"
    uses_fakes = True

    def _input(self, ctx: StepContext) -> torch.Tensor | None:
        return ctx.fake
