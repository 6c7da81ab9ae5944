"""Orthogonal regularisation, BigGAN's variant (Brock et al. 2019, section 3.1).

beta * sum_W || W W^T (1 - I) ||_F^2 over G's weight matrices (conv kernels flattened to
(out, in*k*k)): it pushes filters towards mutual orthogonality without constraining their norms
(the diagonal is left out), which keeps G smooth enough for the truncation trick to work.
Embeddings are left out, as in the paper's code (the shared class embedding is not a filter bank).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.tricks.base import TRICKS, StepContext, Trick, TrickEnv

_LAYERS = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)


def orthogonal_penalty(module: nn.Module) -> torch.Tensor:
    """sum over conv/linear weights of ||W W^T * (1 - I)||_F^2 (float32)."""
    terms = []
    for m in module.modules():
        if isinstance(m, _LAYERS):
            w = m.weight.transpose(0, 1) if isinstance(m, nn.ConvTranspose2d) else m.weight  # rows = output filters
            w = w.reshape(w.shape[0], -1).float()
            gram = w @ w.t()
            terms.append((gram * (1 - torch.eye(gram.shape[0], device=gram.device))).pow(2).sum())
    if not terms:
        raise ConfigError("orthogonal: the network has no conv or linear layers to regularise.")
    return torch.stack(terms).sum()


@TRICKS.register("orthogonal")
class Orthogonal(Trick):
    kind = "penalty"
    key = "ortho"

    def __init__(self, beta: float = 1e-4, network: str = "G") -> None:
        if beta < 0:
            raise ConfigError(f"orthogonal.beta: must be >= 0 (BigGAN: 1e-4), got {beta}.")
        self.beta, self.network = beta, network
        self._net: nn.Module | None = None

    def bind(self, env: TrickEnv) -> None:
        if self.network not in env.raw:
            raise ConfigError(f"orthogonal.network: no network {self.network!r}; this task has {', '.join(env.raw)}.")
        self._net = env.raw[self.network]

    def _term(self, side: str) -> torch.Tensor | None:
        if self._net is None or side != self.network or self.beta == 0:
            return None
        return self.beta * orthogonal_penalty(self._net)

    def g_term(self, ctx: StepContext) -> torch.Tensor | None:
        return self._term("G")

    def d_term(self, ctx: StepContext) -> torch.Tensor | None:
        return self._term("D")
