"""The original minimax loss (Goodfellow et al. 2014): G minimises log(1 - D(G(z))).

It saturates: when D confidently rejects fakes the gradient for G vanishes. Kept for study and
comparison; ``nonsaturating`` is the default.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gankit.losses.base import LOSSES, AdversarialLoss


def bce_d_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))) on logits (softplus form: stable, no sigmoid + BCE)."""
    return F.softplus(-real).mean() + F.softplus(fake).mean()


@LOSSES.register("minimax")
class Minimax(AdversarialLoss):
    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return bce_d_loss(real, fake)

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        # log(1 - sigmoid(l)) = -softplus(l)
        return -F.softplus(fake).mean()
