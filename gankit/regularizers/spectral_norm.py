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

from typing import TYPE_CHECKING, Callable, Literal

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn
from torch.nn.utils.parametrize import is_parametrized

from gankit.errors import ConfigError
from gankit.regularizers.base import REGULARIZERS, Regularizer

if TYPE_CHECKING:
    from gankit.train.build import GanModel

_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Linear)


def apply_spectral_norm(net: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Normalise every conv/linear weight of ``net`` in place (layers already normalised are skipped)."""
    for m in list(net.modules()):
        if isinstance(m, _LAYERS) and not is_parametrized(m, "weight"):
            _sn(m, n_power_iterations=n_power_iterations)
    return net


@REGULARIZERS.register("spectral_norm")
class SpectralNorm(Regularizer):
    def __init__(self, on: Literal["D", "G", "both"] = "D", n_power_iterations: int = 1) -> None:
        if n_power_iterations < 1:
            raise ConfigError(f"spectral_norm.n_power_iterations: at least 1 is needed, got {n_power_iterations}.")
        self.on, self.n_power_iterations = on, n_power_iterations

    def wrap(self, gan: "GanModel") -> None:
        k = self.n_power_iterations
        if self.on in ("D", "both"):
            gan.D = apply_spectral_norm(gan.D, k)
            # A later remedy that rebuilds D (PacGAN) gets a normalised one too.
            inner: Callable[[tuple[int, ...]], nn.Module] = gan.build_d
            gan.build_d = lambda shape: apply_spectral_norm(inner(shape), k)
        if self.on in ("G", "both"):
            gan.G = apply_spectral_norm(gan.G, k)
