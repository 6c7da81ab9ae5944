"""Historical averaging (Salimans et al. 2016, "Improved Techniques for Training GANs", 3.3).

Adds weight * ||theta - mean_{i<=t} theta_i||^2 to each player's loss: a pull towards the running
average of its own past parameters, inspired by fictitious play, which damps the orbiting /
oscillating dynamics where plain gradient descent circles an equilibrium instead of reaching it.
The norm is a sum over all parameters, so the right weight shrinks as networks grow; the default
1e-3 is a gentle pull for DCGAN-sized nets (raise it towards 1e-2 if losses still oscillate).

The running means start at the initial weights and are updated once per training iteration,
after the G step (with ``n_critic > 1`` D's mean thus sees D once per iteration). They are saved
in checkpoints (in the task state, with the count), so resume is exact.
In YAML quote the ``'on'`` key (a bare ``on`` is the boolean true in YAML 1.1).
"""

from __future__ import annotations

from typing import Any, Literal

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.core.clock import Clock
from gankit.tricks.base import TRICKS, StepContext, Trick, TrickEnv


def _penalty(net: nn.Module, mean: dict[str, torch.Tensor]) -> torch.Tensor:
    terms = [(p.float() - mean[n]).pow(2).sum() for n, p in net.named_parameters()]
    return torch.stack(terms).sum()


@TRICKS.register("historical_averaging")
class HistoricalAveraging(Trick):
    kind = "averager"
    key = "hist_avg"

    def __init__(self, weight: float = 1e-3, on: Literal["D", "G", "both"] = "both") -> None:
        if weight < 0:
            raise ConfigError(f"historical_averaging.weight: must be >= 0, got {weight}.")
        self.weight, self.on = weight, on
        self.nets: dict[str, nn.Module] = {}
        self.means: dict[str, dict[str, torch.Tensor]] = {}
        self.count = 0

    def bind(self, env: TrickEnv) -> None:
        for name in {"D": ("D",), "G": ("G",), "both": ("D", "G")}[self.on]:
            self.nets[name] = env.raw[name]
        self.means = {k: {n: p.detach().float().clone() for n, p in net.named_parameters()} for k, net in self.nets.items()}
        self.count = 1

    def _term(self, key: str, ctx: StepContext) -> torch.Tensor | None:
        if key not in self.nets or self.weight == 0:
            return None
        pen = _penalty(self.nets[key], self.means[key])
        ctx.logs["hist_avg"] = pen.detach()
        return self.weight * pen

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        return self._term("D", ctx)

    def g_term(self, ctx: StepContext) -> torch.Tensor | None:
        return self._term("G", ctx)

    @torch.no_grad()
    def after_step(self, network: str, clock: Clock) -> None:
        if network != "G":  # once per iteration, after the G step
            return
        self.count += 1
        for key, net in self.nets.items():
            mean = self.means[key]
            for n, p in net.named_parameters():
                mean[n].add_((p.detach().float() - mean[n]) / self.count)

    def extra_weights(self) -> dict[str, dict[str, torch.Tensor]]:
        return {f"hist_{k}": m for k, m in self.means.items()}

    def load_extra_weights(self, weights: dict[str, dict[str, torch.Tensor]]) -> None:
        for k, m in self.means.items():
            saved = weights[f"hist_{k}"]
            for n, t in m.items():
                t.copy_(saved[n])

    def state_dict(self) -> dict[str, Any]:
        return {"count": self.count}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.count = int(state.get("count", self.count))
