"""Non-saturating loss (Goodfellow et al. 2014): G minimises -log D(G(z)). The default."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.losses.base import LOSSES, AdversarialLoss, Targets
from gankit.losses.minimax import bce_d_loss


@LOSSES.register("nonsaturating")
class NonSaturating(AdversarialLoss):
    supports_targets = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        return bce_d_loss(real, fake, targets)

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake).mean()
