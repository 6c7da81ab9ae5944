"""Non-saturating loss (Goodfellow et al. 2014): G minimises -log D(G(z)). The default."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gankit.core.objective import LossProfile, Targets
from gankit.objectives.base import CONFIDENT_D_FAKE, LOSSES, AdversarialLoss
from gankit.objectives.losses.minimax import bce_d_loss


@LOSSES.register("nonsaturating")
class NonSaturating(AdversarialLoss):
    supports_targets = True
    sigmoid_scores = True
    # -log D(x) - log(1 - D(G(z))): 2 ln 2 = 1.39 at D = 1/2; G: -log D(G(z)) = ln 2, 3.0 at D = 0.05
    profile = LossProfile("sigmoid", 2 * math.log(2.0), math.log(2.0), 0.1, -math.log(CONFIDENT_D_FAKE))

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        return bce_d_loss(real, fake, targets)

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake).mean()
