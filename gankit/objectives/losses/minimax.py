"""The original minimax loss (Goodfellow et al. 2014): G minimises log(1 - D(G(z))).

It saturates: when D confidently rejects fakes the gradient for G vanishes. Kept for study and
comparison; ``nonsaturating`` is the default.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gankit.core.objective import LossProfile, Targets
from gankit.objectives.base import CONFIDENT_D_FAKE, LOSSES, AdversarialLoss


def bce_d_loss(real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))) on logits (softplus form: stable, no sigmoid + BCE).

    With targets t it is the binary cross-entropy t*(-log D) + (1-t)*(-log(1-D)) for each side.
    """
    if targets is None:
        return F.softplus(-real).mean() + F.softplus(fake).mean()
    tr, tf = targets.real, targets.fake
    return (tr * F.softplus(-real) + (1 - tr) * F.softplus(real)).mean() + (tf * F.softplus(-fake) + (1 - tf) * F.softplus(fake)).mean()


@LOSSES.register("minimax")
class Minimax(AdversarialLoss):
    supports_targets = True
    sigmoid_scores = True
    # G: log(1 - D(G(z))) rises towards 0 as D gets confident: -0.05 at D(G(z)) = 0.05
    profile = LossProfile("sigmoid", 2 * math.log(2.0), math.log(2.0), 0.1, math.log(1 - CONFIDENT_D_FAKE))

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        return bce_d_loss(real, fake, targets)

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        # log(1 - sigmoid(l)) = -softplus(l)
        return -F.softplus(fake).mean()
