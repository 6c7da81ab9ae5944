"""R1 and R2 gradient penalties (Mescheder et al. 2018, "Which Training Methods for GANs do
actually Converge?", ICML), with lazy regularisation (Karras et al. 2020, StyleGAN2).

R1 = gamma/2 * E ||grad_x D(x)||^2 on real data penalises D's slope at the data, which makes
simultaneous/alternating gradient descent converge locally (Dirac-GAN analysis); R2 is the same on
fakes. Use R1 with the non-saturating loss (StyleGAN's recipe) when D overfits or training
oscillates; gamma ~ 10 for 28-64 px, larger for bigger images. ``every: 16`` computes it only on
every 16th D step and multiplies it by 16, which costs 1/16 of the double backward for the same
average strength. Prefer a D without batch norm (the penalty then is per sample).
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError
from gankit.regularizers.base import REGULARIZERS, Regularizer, StepContext


def input_grad(D: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, int]:
    """grad_x of sum D(x), kept differentiable, as (n_scores, -1), and the number of scores.

    Rows are per score: a packed D (PacGAN) scores consecutive groups of samples, so its rows hold
    a pack's gradient.
    """
    x = x.detach().requires_grad_(True)
    out = D(x).float()
    (grad,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    return grad.reshape(out.numel(), -1), out.numel()


def squared_grad_norm(D: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x)||^2 over D's scores."""
    grad, _ = input_grad(D, x)
    return grad.float().pow(2).sum(dim=1).mean()


class _LazyPenalty(Regularizer):
    key = ""

    def __init__(self, gamma: float = 10.0, every: int = 1) -> None:
        if every < 1:
            raise ConfigError(f"{self.key}.every: at least 1 (1 = every D step), got {every}.")
        if gamma < 0:
            raise ConfigError(f"{self.key}.gamma: must be >= 0, got {gamma}.")
        self.gamma, self.every = gamma, every
        self._last: torch.Tensor | None = None

    def _input(self, ctx: StepContext) -> torch.Tensor | None:
        raise NotImplementedError

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        x = self._input(ctx)
        if x is None or ctx.d_step_index % self.every != 0:
            if self._last is not None:
                ctx.logs[self.key] = self._last
            return None
        pen = 0.5 * self.gamma * squared_grad_norm(ctx.D, x)
        self._last = pen.detach()
        ctx.logs[self.key] = self._last
        return pen * self.every


@REGULARIZERS.register("r1")
class R1(_LazyPenalty):
    key = "r1"

    def _input(self, ctx: StepContext) -> torch.Tensor | None:
        return ctx.real


@REGULARIZERS.register("r2")
class R2(_LazyPenalty):
    key = "r2"

    def _input(self, ctx: StepContext) -> torch.Tensor | None:
        return ctx.fake
