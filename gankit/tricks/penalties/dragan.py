"""DRAGAN gradient penalty (Kodali et al. 2017, "On Convergence and Stability of GANs").

Mode collapse goes with sharp gradients of D around the real data. DRAGAN penalises
weight * E (||grad D(x_hat)|| - k)^2 at points x_hat = x + c * std(x) * u, u ~ U[0, 1)^d, near the
real samples (the paper's reference implementation perturbs this way). It is a local version of
WGAN-GP that works with the ordinary non-saturating loss; weight 10, k 1, c 0.5 are the paper's.
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError
from gankit.objectives.penalties import dragan_penalty, perturb
from gankit.tricks.base import TRICKS, StepContext, Trick

__all__ = ["DRAGAN", "perturb"]


@TRICKS.register("dragan")
class DRAGAN(Trick):
    kind = "penalty"
    key = "dragan"

    def __init__(self, weight: float = 10.0, k: float = 1.0, c: float = 0.5) -> None:
        if weight < 0 or c < 0:
            raise ConfigError(f"dragan: weight and c must be >= 0, got weight={weight}, c={c}.")
        self.weight, self.k, self.c = weight, k, c

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        if ctx.real is None:
            return None
        pen = dragan_penalty(ctx.D, ctx.real, self.c, self.k)
        ctx.logs["dragan"] = pen.detach()
        return self.weight * pen
