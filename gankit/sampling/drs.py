"""Discriminator rejection sampling (Azadi, Olsson, Darrell, Goodfellow & Odena 2019, ICLR).

With the optimal D of a balanced real/generated mix, D's logit is D~(x) = log p_data(x) / p_g(x).
Rejection sampling from G with the bound M = max p_data / p_g accepts x with probability
p_data(x) / (M p_g(x)) = exp(D~(x) - D~*_M), and the accepted samples follow p_data exactly. The
paper's practical scheme (its section 3.2 and Algorithm 1), followed here:

* D~*_M, the log of M, is unknown: it is the largest D~ of a burn-in batch of G's samples, and the
  running maximum afterwards -- each new sample first raises it if it is larger, then is judged;
* the acceptance probability is written as sigmoid(F(x)) with
  F(x) = D~(x) - D~*_M - log(1 - exp(D~(x) - D~*_M - eps)) - gamma.
  At gamma = 0, sigmoid(F) = 1 / (1 + exp(-(D~ - D~*_M)) - exp(-eps)) ~ exp(D~ - D~*_M): the
  exact rule (eps = 1e-6 keeps the log finite at the maximum). gamma > 0 rejects more, gamma < 0
  accepts more, trading the exact correction for fewer (or more) rejections;
* gamma by default: the paper sets it to a high percentile of F(x) (computed at gamma = 0) over
  the generated samples; here the ``gamma_percentile``-th percentile (95 by default) of the
  burn-in batch's F, computed once so that the result does not depend on the batch size. An
  explicit ``gamma`` replaces it; ``gamma = 0`` is the exact rule.

The sampler works on *units*: one sample, or one PacGAN pack (whose D~ is the pack's joint ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from gankit.errors import GankitError

EPS = 1e-6
GAMMA_PERCENTILE = 95.0

#: propose(n_units, labels or None) -> (units (n_units, ...), calibrated logits (n_units,) float64)
Propose = Callable[[int, "torch.Tensor | None"], "tuple[torch.Tensor, torch.Tensor]"]


def f_value(logits: torch.Tensor, log_m: torch.Tensor | float, gamma: float = 0.0, eps: float = EPS) -> torch.Tensor:
    """The paper's F(x); ``log_m`` >= ``logits`` (a running maximum that already includes them)."""
    d = logits.double() - log_m
    return d - torch.log1p(-torch.exp(torch.clamp(d, max=0.0) - eps)) - gamma


def acceptance_probability(logits: torch.Tensor, log_m: torch.Tensor | float, gamma: float = 0.0, eps: float = EPS) -> torch.Tensor:
    return torch.sigmoid(f_value(logits, log_m, gamma, eps))


def running_max(logits: torch.Tensor, log_m: float) -> torch.Tensor:
    """D~*_M as each sample is judged: the maximum of the bound so far and every logit up to this one."""
    return torch.clamp(torch.cummax(logits.double(), dim=0).values, min=log_m)


@dataclass
class DRS:
    """The sampler's state: the bound, gamma, and what has been proposed and accepted."""

    log_m: float
    gamma: float
    eps: float = EPS
    gamma_source: str = "given"
    proposed: int = 0
    accepted: int = 0
    burn_in: int = 0
    log_m_burn_in: float = field(default=float("nan"))

    @classmethod
    def from_burn_in(cls, logits: torch.Tensor, gamma: float | None = None, percentile: float = GAMMA_PERCENTILE,
                     eps: float = EPS) -> "DRS":  # fmt: skip
        """D~*_M from the burn-in logits; gamma given, or the ``percentile``-th percentile of their F."""
        if len(logits) == 0:
            raise GankitError("DRS: the burn-in needs at least one sample.")
        log_m = float(logits.max())
        source = "given"
        if gamma is None:
            if not 0.0 <= percentile <= 100.0:
                raise GankitError(f"DRS: gamma_percentile is a percentile from 0 to 100, got {percentile}.")
            gamma = float(np.percentile(f_value(logits, log_m, 0.0, eps).numpy(), percentile))
            source = f"{percentile:g}th percentile of F over the {len(logits)} burn-in samples"
        if not math.isfinite(gamma):
            raise GankitError(f"DRS: gamma must be a finite number, got {gamma}.")
        return cls(log_m, float(gamma), eps, source, burn_in=len(logits), log_m_burn_in=log_m)

    def judge(self, logits: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Accept mask for one batch, in order; updates the running maximum (not the counts)."""
        m = running_max(logits, self.log_m)
        self.log_m = float(m[-1]) if len(m) else self.log_m
        return u.double() <= acceptance_probability(logits, m, self.gamma, self.eps)

    def fill(self, propose: Propose, need: int, batch: int, rng: torch.Generator, max_proposals: int,
             labels: int | None = None) -> torch.Tensor:  # fmt: skip
        """``need`` accepted units (of class ``labels``), drawing ``batch`` proposals at a time.

        Proposals after the one that completes ``need`` are not counted: the result is the sequential
        algorithm's, stopped at its ``need``-th acceptance.
        """
        kept: list[torch.Tensor] = []
        got = 0
        while got < need:
            if self.proposed >= max_proposals:
                raise GankitError(
                    f"DRS accepted {self.accepted:,} of {self.proposed:,} proposals ({self.accepted / max(self.proposed, 1):.2%}) "
                    f"and reached its budget of {max_proposals:,} before {need - got:,} more: lower gamma (now {self.gamma:.3g}; "
                    "negative accepts more), raise max_proposals, or train D and G longer."
                )
            b = min(batch, max_proposals - self.proposed)
            c = None if labels is None else torch.full((b,), int(labels), dtype=torch.long)
            units, logits = propose(b, c)
            acc = self.judge(logits, torch.rand(b, generator=rng, dtype=torch.float64))
            idx = torch.nonzero(acc).reshape(-1)[: need - got]
            used = b if got + int(acc.sum()) < need else int(idx[-1]) + 1
            self.proposed += used
            self.accepted += len(idx)
            got += len(idx)
            kept.append(units[idx])
        return torch.cat(kept) if kept else torch.empty(0)

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else float("nan")

    def details(self) -> dict[str, float | int | str]:
        return {"log_M": self.log_m, "log_M_burn_in": self.log_m_burn_in, "burn_in": self.burn_in, "eps": self.eps,
                "gamma_source": self.gamma_source}  # fmt: skip
