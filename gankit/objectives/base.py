"""The loss interface tasks talk to: pure functions of D's raw scores, plus what the numbers mean.

A loss holds only its options (a clip value, a penalty weight); ``d_loss``/``g_loss`` are pure
functions of score tensors. Its ``profile`` tells the diagnostics what its values mean, so adding a
loss is one file in this folder: subclass :class:`AdversarialLoss`, set ``profile``, decorate it
with ``@LOSSES.register("name")``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.core.objective import NEUTRAL_PROFILE, LossProfile, Targets
from gankit.core.registry import Registry

LOSSES: Registry[Any] = Registry("loss", "gankit.objectives.losses")

#: Used by the profiles: D(G(z)) at which D "confidently rejects" a fake.
CONFIDENT_D_FAKE = 0.05


class AdversarialLoss:
    """Scores in, scalar losses out. Discriminators return raw scores (logits)."""

    #: D steps per G step when the recipe does not set ``train.n_critic``.
    n_critic: int = 1
    #: Score above which D calls a sample real (for logged accuracy). None: the midpoint of the
    #: batch's mean real and fake scores, for critics whose scale carries no meaning (WGAN).
    threshold: float | None = 0.0
    #: Whether ``d_loss`` honours soft/flipped targets (label smoothing tricks need it).
    supports_targets: bool = False
    #: Whether D's scores are logits of a probability (then D(x) is logged as sigmoid(score)).
    sigmoid_scores: bool = False
    profile: LossProfile = NEUTRAL_PROFILE

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        """``targets``: per-score D targets (1 real, 0 fake by default); only where ``supports_targets``."""
        raise NotImplementedError

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def penalty(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor | None:
        """An extra D term that needs the network and inputs (WGAN-GP's gradient penalty)."""
        return None

    def after_d_step(self, D: nn.Module) -> None:
        """Called after each D optimizer step (weight clipping)."""

    def prob(self, scores: torch.Tensor) -> torch.Tensor:
        """What to log as D(x): a probability for the sigmoid losses, the raw score otherwise."""
        return torch.sigmoid(scores) if self.sigmoid_scores else scores

    def accuracy(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.threshold
        if t is None:
            t = 0.5 * (real.mean() + fake.mean())
        return (real > t).float().mean(), (fake <= t).float().mean()
