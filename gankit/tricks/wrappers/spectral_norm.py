"""Spectral normalisation (Miyato et al. 2018, "Spectral Normalization for GANs", ICLR).

Every weight W of D is divided by an estimate of its largest singular value (one power iteration
per forward pass, the vectors kept as buffers), so each layer is 1-Lipschitz and D as a whole
has a bounded Lipschitz constant. It is the cheapest robust way to keep D from becoming too
sharp: use it with the hinge or non-saturating loss, no batch norm in D (``norm: none``), and the
same learning rates/betas you would use otherwise. ``on: both`` also normalises G (Zhang et al.
2019, SAGAN), which helps G's conditioning in large models.

This is torch's own parametrisation (``torch.nn.utils.parametrizations.spectral_norm``) applied to
every Conv/ConvTranspose/Linear layer; checkpoints carry the power-iteration vectors, so resume
is exact and ``gankit sample`` rebuilds the same wrapped network. Listed before ``pacgan``, the
rebuilt (packed) D is normalised as well.

In YAML write the key quoted, ``{name: spectral_norm, 'on': both}``: YAML 1.1 reads a bare ``on``
as the boolean true.
"""

from __future__ import annotations

from typing import Callable, Literal

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn
from torch.nn.utils.parametrize import is_parametrized

from gankit.errors import ConfigError
from gankit.tricks.base import TRICKS, Assembly, Trick

_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)


def apply_spectral_norm(net: nn.Module, n_power_iterations: int = 1, embeddings: bool = False) -> nn.Module:
    """Normalise every conv/linear weight of ``net`` in place (layers already normalised are skipped).

    ``embeddings``: class embeddings too -- the projection discriminator's (Miyato & Koyama 2018
    normalise it), not G's shared embedding (BigGAN leaves it plain).
    """
    kinds = _LAYERS + ((nn.Embedding,) if embeddings else ())
    for m in list(net.modules()):
        if isinstance(m, kinds) and not is_parametrized(m, "weight"):
            _sn(m, n_power_iterations=n_power_iterations)
    return net


@TRICKS.register("spectral_norm")
class SpectralNorm(Trick):
    kind = "wrapper"

    def __init__(self, on: Literal["D", "G", "both"] = "D", n_power_iterations: int = 1) -> None:
        if n_power_iterations < 1:
            raise ConfigError(f"spectral_norm.n_power_iterations: at least 1 is needed, got {n_power_iterations}.")
        self.on, self.n_power_iterations = on, n_power_iterations

    def networks(self) -> tuple[str, ...]:
        return {"D": ("D",), "G": ("G",), "both": ("G", "D")}[self.on]

    def wrap(self, asm: Assembly) -> None:
        k = self.n_power_iterations
        for name in self.networks():
            if name not in asm.nets:
                continue
            emb = name == "D"
            asm.nets[name] = apply_spectral_norm(asm.nets[name], k, embeddings=emb)
            if name in asm.builders:  # a later trick that rebuilds it (PacGAN) gets a normalised one too
                inner: Callable[[tuple[int, ...]], nn.Module] = asm.builders[name]
                asm.builders[name] = lambda shape, inner=inner: apply_spectral_norm(inner(shape), k, embeddings=emb)
