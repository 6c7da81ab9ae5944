"""Relativistic average GAN loss (Jolicoeur-Martineau 2018), as ESRGAN uses it (Wang et al. 2018, eq. 1-2).

With C the discriminator's raw score and the batch means E[C(x_r)], E[C(x_f)] taken over every score
of the batch (all samples, all patches for a patch D):

* D: ``0.5 * (BCE(C(x_r) - E[C(x_f)], 1) + BCE(C(x_f) - E[C(x_r)], 0))``
* G: ``0.5 * (BCE(C(x_r) - E[C(x_f)], 0) + BCE(C(x_f) - E[C(x_r)], 1))``

The paper writes each as the plain sum of the two terms; we take their average, as the ESRGAN
authors' code (BasicSR, ``ESRGANModel``) does, so the values sit on the scale of one binary
cross-entropy (ln 2 = 0.69 when D cannot tell, like ``nonsaturating``'s G loss). G's loss needs D's
scores on the real images too (that is what makes it relativistic): ``g_loss(fake, real=...)``;
BasicSR detaches those real scores in the G step, and so should the task (D is frozen there anyway).

What is logged as D(x): the loss depends only on *differences* of scores, so C's absolute level is
arbitrary (adding a constant to every score changes nothing) and ``sigmoid(C(x))`` is no probability
of anything. ``sigmoid_scores`` is therefore False (``prob`` returns raw scores); the honest
probabilities are D_Ra's own, ``sigmoid(C(x_r) - E[C(x_f)])`` ("this real is more realistic than the
average fake") and ``sigmoid(C(x_f) - E[C(x_r)])``: :meth:`RaGAN.relative_probs`, which a task
should log as ``d_real``/``d_fake`` when ``loss.relativistic``. Accuracy is relativistic too: a real
counts as recognised when its score beats the mean fake score, a fake when it falls below the mean
real score.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gankit.core.errors import ConfigError
from gankit.core.objective import LossProfile, Targets
from gankit.objectives.base import CONFIDENT_D_FAKE, LOSSES, AdversarialLoss

#: Tasks that pass D's real scores to ``g_loss`` (the ones a relativistic loss works with).
RELATIVISTIC_TASKS = ("srgan",)


def _bce(logits: torch.Tensor, target: float | torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits, softplus form: t * softplus(-l) + (1 - t) * softplus(l)."""
    if isinstance(target, float) and target in (0.0, 1.0):
        return F.softplus(-logits).mean() if target == 1.0 else F.softplus(logits).mean()
    return (target * F.softplus(-logits) + (1 - target) * F.softplus(logits)).mean()


@LOSSES.register("ragan")
class RaGAN(AdversarialLoss):
    relativistic = True
    supports_targets = True  # the targets apply to the relativistic logits, one per score
    sigmoid_scores = False  # see the module docstring: log relative_probs, not sigmoid(C(x))
    # Averaged BCEs: ln 2 each at equal scores; D "separates" below 0.05 (both D_Ra ~ 0.95), the
    # sum-form nonsaturating's 0.1 halved; G: 0.5 * (-log(1 - 0.95) - log 0.05) = 3.0 at D_Ra 0.95 / 0.05.
    profile = LossProfile("sigmoid", math.log(2.0), math.log(2.0), 0.05, -math.log(CONFIDENT_D_FAKE))

    @staticmethod
    def _relative(real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        real, fake = real.float(), fake.float()
        return real - fake.mean(), fake - real.mean()

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, targets: Targets | None = None) -> torch.Tensor:
        rel_r, rel_f = self._relative(real, fake)
        tr, tf = (1.0, 0.0) if targets is None else (targets.real, targets.fake)
        return 0.5 * (_bce(rel_r, tr) + _bce(rel_f, tf))

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        """``real``: D's scores on the real images of the batch (detached), required."""
        if real is None:
            raise ConfigError(
                "loss ragan (relativistic) needs D's scores on real images in the G step; only the "
                f"{', '.join(RELATIVISTIC_TASKS)} task passes them. Use loss nonsaturating, lsgan or hinge with this task."
            )
        rel_r, rel_f = self._relative(real, fake)
        return 0.5 * (_bce(rel_r, 0.0) + _bce(rel_f, 1.0))

    def relative_probs(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """D_Ra per score: P(real more realistic than the average fake), P(fake more realistic than the average real)."""
        rel_r, rel_f = self._relative(real, fake)
        return torch.sigmoid(rel_r), torch.sigmoid(rel_f)

    def accuracy(self, real: torch.Tensor, fake: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rel_r, rel_f = self._relative(real, fake)
        return (rel_r > 0).float().mean(), (rel_f <= 0).float().mean()
