"""Instance noise (Sønderby et al. 2017, "Amortised MAP Inference for Image Super-resolution",
section 5; Arjovsky & Bottou 2017, "Towards Principled Methods for Training GANs").

Early on the real and fake distributions have (almost) disjoint supports, so a perfect D exists
and G's gradients are useless. Adding the same Gaussian noise N(0, sigma^2) to every real and fake
input of D makes the two distributions overlap; sigma is annealed to 0 so the final model is
trained on clean data. Use it when D wins immediately (d_loss -> 0, acc -> 1) early in training.

Schedules, with ``until`` where sigma reaches 0 -- a step, or a fraction of the budget (``0.5``,
``"50%"``), so a time-budgeted recipe anneals over the same share of training (``None``: the end):
``linear`` sigma * (1 - t/until); ``exponential`` sigma * exp(-5 t/until), 0 from ``until`` on;
``constant`` sigma before ``until``, 0 from it. Noise comes from the global torch RNG (resume
is exact). In the G phase the same sigma is applied to G's samples, as the loop passes them
through the same input transform.
"""

from __future__ import annotations

import math
from typing import Literal

import torch

from gankit.errors import ConfigError
from gankit.core.clock import Clock, Point, parse_point
from gankit.tricks.base import TRICKS, Trick


@TRICKS.register("instance_noise")
class InstanceNoise(Trick):
    kind = "input"

    def __init__(
        self,
        sigma: float = 0.1,
        schedule: Literal["linear", "exponential", "constant"] = "linear",
        until: Point | None = None,
    ) -> None:
        if sigma < 0:
            raise ConfigError(f"instance_noise.sigma: must be >= 0, got {sigma}.")
        self.until = parse_point(until, "instance_noise.until")
        if self.until == 0:
            raise ConfigError("instance_noise.until: a step >= 1 or a fraction > 0 (or null for the end of the budget), got 0.")
        self.sigma, self.schedule = sigma, schedule

    def sigma_at(self, clock: Clock) -> float:
        t = clock.ramp(0, self.until) if isinstance(self.until, int) else clock.ramp(None, self.until)
        if t >= 1.0:
            return 0.0
        if self.schedule == "linear":
            return self.sigma * (1.0 - t)
        if self.schedule == "exponential":
            return self.sigma * math.exp(-5.0 * t)
        return self.sigma

    def transform_input(self, x: torch.Tensor, clock: Clock) -> torch.Tensor:
        s = self.sigma_at(clock)
        if s == 0.0:
            return x
        return x + s * torch.randn_like(x)
