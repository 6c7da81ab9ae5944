"""Wasserstein GAN (Arjovsky et al. 2017) with weight clipping to keep the critic Lipschitz.

Use it with RMSprop (lr 5e-5) and five critic steps per generator step, as in the paper
(``configs/wgan_fashion_mnist.yaml``).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.core.objective import LossProfile, Targets
from gankit.objectives.base import LOSSES, AdversarialLoss


class WassersteinLoss(AdversarialLoss):
    """The critic objective E[D(fake)] - E[D(real)]; subclasses keep D Lipschitz their own way."""

    n_critic = 5
    threshold = None
    # Critic losses: D "accuracy" uses the batch midpoint, so a separating critic is normal.
    profile = LossProfile("critic", 1.0, 1.0, None, None)

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        return fake.mean() - real.mean()

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        return -fake.mean()


@LOSSES.register("wgan")
class WGAN(WassersteinLoss):
    def __init__(self, clip: float = 0.01) -> None:
        self.clip = clip

    @torch.no_grad()
    def after_d_step(self, D: nn.Module) -> None:
        for p in D.parameters():
            p.clamp_(-self.clip, self.clip)
