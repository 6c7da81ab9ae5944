"""Metropolis-Hastings GAN (Turner, Hung, Frank, Saatci & Yosinski 2019, ICML).

An independence sampler whose proposals are G's samples: from the chain's state x_k, a proposal
x' ~ p_g is accepted with probability

    alpha = min(1, (1/D(x_k) - 1) / (1/D(x') - 1)) = min(1, exp(D~(x') - D~(x_k)))

(D the calibrated probability "real", D~ its logit). With the optimal D, p_data / p_g = D / (1 - D)
is the importance weight, and the chain's stationary distribution is p_data exactly, whatever G's
errors. As the paper does, each chain starts from a *real* sample (a draw from the target: no
burn-in is needed), runs K proposals, and returns its last state; a chain that accepted none of
its K proposals would return the real sample, so it restarts from another real sample (up to
``max_restarts`` times, then an error). Unlike DRS, MH needs no bound M and no gamma; its cost is
fixed: K proposals per sample (plus restarts).

The acceptance rate reported is the fraction of proposals the chains accepted as moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from gankit.errors import GankitError
from gankit.sampling.drs import Propose

CHAIN_LENGTH = 100
MAX_RESTARTS = 20

#: start(chain indices) -> (real units (len, ...), their calibrated logits (len,)) for chains to (re)start
Start = Callable[[torch.Tensor], "tuple[torch.Tensor, torch.Tensor]"]


@dataclass
class MH:
    chain_length: int = CHAIN_LENGTH
    max_restarts: int = MAX_RESTARTS
    proposed: int = 0
    accepted: int = 0
    restarts: int = 0  # chains restarted because they never left their real start

    def run(self, propose: Propose, start: Start, n_chains: int, rng: torch.Generator,
            labels: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """The last state of ``n_chains`` chains (chain i of class ``labels[i]``)."""
        if self.chain_length < 1:
            raise GankitError(f"MH: the chain length K is at least 1, got {self.chain_length}.")
        out: torch.Tensor | None = None
        todo = torch.arange(n_chains)
        for attempt in range(self.max_restarts + 1):
            states, moved = self._chains(propose, start, todo, rng, None if labels is None else labels[todo])
            if out is None:
                out = states.clone()
            out[todo[moved]] = states[moved]
            todo = todo[~moved]
            if len(todo) == 0:
                return out
            if attempt < self.max_restarts:
                self.restarts += len(todo)
        raise GankitError(
            f"MH: {len(todo)} chain(s) accepted none of {self.chain_length} proposals even after {self.max_restarts} restarts "
            "from real samples (D rejects G's samples outright): raise the chain length (--chain-length), or train longer."
        )

    def _chains(self, propose: Propose, start: Start, idx: torch.Tensor, rng: torch.Generator,
                labels: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        state, logit = start(idx)
        state, logit = state.clone(), logit.double().clone()
        moved = torch.zeros(len(idx), dtype=torch.bool)
        for _ in range(self.chain_length):
            units, l_new = propose(len(idx), labels)
            u = torch.rand(len(idx), generator=rng, dtype=torch.float64)
            acc = torch.log(u) <= l_new.double() - logit  # u <= min(1, exp(l' - l))
            state[acc] = units[acc]
            logit[acc] = l_new.double()[acc]
            moved |= acc
            self.proposed += len(idx)
            self.accepted += int(acc.sum())
        return state, moved

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.proposed if self.proposed else float("nan")

    def details(self) -> dict[str, int]:
        return {"chain_length": self.chain_length, "restarts": self.restarts, "max_restarts": self.max_restarts}
