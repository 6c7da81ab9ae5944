"""Instance noise (Sønderby et al. 2017, "Amortised MAP Inference for Image Super-resolution",
section 5; Arjovsky & Bottou 2017, "Towards Principled Methods for Training GANs").

Early on the real and fake distributions have (almost) disjoint supports, so a perfect D exists
and G's gradients are useless. Adding the same Gaussian noise N(0, sigma^2) to every real and fake
input of D makes the two distributions overlap; sigma is annealed to 0 so the final model is
trained on clean data. Use it when D wins immediately (d_loss -> 0, acc -> 1) early in training.

Schedules, with ``until`` the step where sigma reaches 0 (``None``: ``train.max_steps``):
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
from gankit.regularizers.base import REGULARIZERS, Regularizer


@REGULARIZERS.register("instance_noise")
class InstanceNoise(Regularizer):
    def __init__(
        self,
        sigma: float = 0.1,
        schedule: Literal["linear", "exponential", "constant"] = "linear",
        until: int | None = None,
    ) -> None:
        if sigma < 0:
            raise ConfigError(f"instance_noise.sigma: must be >= 0, got {sigma}.")
        if until is not None and until < 1:
            raise ConfigError(f"instance_noise.until: a step >= 1 (or null for train.max_steps), got {until}.")
        self.sigma, self.schedule, self.until = sigma, schedule, until

    def sigma_at(self, step: int, max_steps: int) -> float:
        until = self.until if self.until is not None else max_steps
        if until <= 0 or step >= until:
            return 0.0
        t = step / until
        if self.schedule == "linear":
            return self.sigma * (1.0 - t)
        if self.schedule == "exponential":
            return self.sigma * math.exp(-5.0 * t)
        return self.sigma

    def transform_d_input(self, x: torch.Tensor, step: int, max_steps: int) -> torch.Tensor:
        s = self.sigma_at(step, max_steps)
        if s == 0.0:
            return x
        return x + s * torch.randn_like(x)
