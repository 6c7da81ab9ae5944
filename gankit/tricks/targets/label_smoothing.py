"""Soft and noisy labels for D (Salimans et al. 2016, "Improved Techniques for Training GANs",
section 3.4; Sønderby et al. 2017 and the "ganhacks" list for flipping).

* ``one_sided_label_smoothing``: real targets 1 -> ``real`` (0.9); fake targets stay 0. Keeps D
  from becoming over-confident on the data, which gives G vanishing or huge gradients. Smoothing
  the fake side as well would reward fakes where data is absent, hence "one-sided".
* ``two_sided_label_smoothing``: per sample, positive targets ~ U[real_low, real_high] and
  negative ones ~ U[fake_low, fake_high], redrawn every batch (noisy labels).
* ``label_flip``: with probability ``p`` per sample, a real sample gets the fake sample's target
  (and independently a fake one gets the real target): occasional wrong labels keep D uncertain.

They change the targets of the D loss, so they need minimax, nonsaturating or lsgan (the build
step refuses hinge/WGAN). They compose in list order: flipping after smoothing moves smoothed
targets; smoothing after flipping treats a target >= 0.5 as "positive". Randomness comes from
the global torch RNG, which checkpoints save, so a resumed run draws the same labels.
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError
from gankit.core.clock import Clock
from gankit.core.objective import Targets
from gankit.tricks.base import TRICKS, Trick


def _uniform(like: torch.Tensor, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(like.shape, device=like.device, dtype=like.dtype)


@TRICKS.register("one_sided_label_smoothing")
class OneSidedLabelSmoothing(Trick):
    kind = "target"
    needs_targets = True

    def __init__(self, real: float = 0.9) -> None:
        if not 0.0 < real <= 1.0:
            raise ConfigError(f"one_sided_label_smoothing.real: a target in (0, 1], got {real} (0.9 is usual).")
        self.real = real

    def targets(self, targets: Targets, clock: Clock) -> Targets:
        # t -> t * real: 1 becomes `real`, 0 stays 0 (also for flipped samples).
        return Targets(targets.real * self.real, targets.fake * self.real)


@TRICKS.register("two_sided_label_smoothing")
class TwoSidedLabelSmoothing(Trick):
    kind = "target"
    needs_targets = True

    def __init__(self, real_low: float = 0.9, real_high: float = 1.0, fake_low: float = 0.0, fake_high: float = 0.1) -> None:
        if not (0.0 <= real_low <= real_high <= 1.0 and 0.0 <= fake_low <= fake_high <= 1.0):
            raise ConfigError(
                "two_sided_label_smoothing: need 0 <= real_low <= real_high <= 1 and 0 <= fake_low <= fake_high <= 1, "
                f"got real [{real_low}, {real_high}], fake [{fake_low}, {fake_high}]."
            )
        self.real_range, self.fake_range = (real_low, real_high), (fake_low, fake_high)

    def _smooth(self, t: torch.Tensor) -> torch.Tensor:
        pos = _uniform(t, *self.real_range)
        neg = _uniform(t, *self.fake_range)
        return torch.where(t >= 0.5, pos, neg)

    def targets(self, targets: Targets, clock: Clock) -> Targets:
        return Targets(self._smooth(targets.real), self._smooth(targets.fake))


@TRICKS.register("label_flip")
class LabelFlip(Trick):
    kind = "target"
    needs_targets = True

    def __init__(self, p: float = 0.05) -> None:
        if not 0.0 <= p <= 0.5:
            raise ConfigError(f"label_flip.p: a probability in [0, 0.5], got {p} (0.05 is usual).")
        self.p = p

    def targets(self, targets: Targets, clock: Clock) -> Targets:
        r, f = targets.real, targets.fake
        flip_r = torch.rand(r.shape, device=r.device) < self.p
        flip_f = torch.rand(f.shape, device=f.device) < self.p
        if r.shape == f.shape:  # swap with the other side's target at the same index
            return Targets(torch.where(flip_r, f, r), torch.where(flip_f, r, f))
        return Targets(torch.where(flip_r, 1 - r, r), torch.where(flip_f, 1 - f, f))
