"""PacGAN (Lin et al. 2018, "PacGAN: The power of two samples in GANs", NeurIPS).

D judges ``pac`` samples at once, concatenated along channels (images) or features (vectors):
a packed batch of fakes from a collapsed G looks obviously unlike a pack of distinct real samples,
so mode collapse is penalised. It costs almost nothing: only D's first layer grows. pac = 2..4
(the paper's experiments); the batch size must be a multiple of it.

D is rebuilt for the packed input shape and wrapped in :class:`Packed`, which reshapes
(N, C, H, W) -> (N/pac, pac*C, H, W) (consecutive samples form a pack). D's scores then have
N/pac entries; the losses take means, so every loss works unchanged, and so do the input-gradient
penalties of this package (they count one gradient per pack).
"""

from __future__ import annotations

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.tricks.base import TRICKS, Assembly, Trick


class Packed(nn.Module):
    """Runs ``inner`` on packs of ``pac`` consecutive samples."""

    def __init__(self, inner: nn.Module, pac: int) -> None:
        super().__init__()
        self.inner, self.pac = inner, pac

    def pack(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        if n % self.pac:
            raise ConfigError(f"pacgan: D got a batch of {n} samples, not a multiple of pac = {self.pac}.")
        return x.reshape(n // self.pac, self.pac * x.shape[1], *x.shape[2:])

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner.features(self.pack(x))

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return self.inner.head(f)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(self.pack(x))

    def extra_repr(self) -> str:
        return f"pac={self.pac}"


@TRICKS.register("pacgan")
class PacGAN(Trick):
    kind = "wrapper"

    def __init__(self, pac: int = 2) -> None:
        if not 2 <= pac <= 4:
            raise ConfigError(f"pacgan.pac: 2, 3 or 4 samples per pack (the paper's range), got {pac}.")
        self.pac = pac

    def wrap(self, asm: Assembly) -> None:
        if "D" not in asm.nets:  # the inference path builds G alone
            return
        if asm.batch_size % self.pac:
            raise ConfigError(
                f"pacgan: train.batch_size ({asm.batch_size}) must be a multiple of pac ({self.pac}); "
                f"use train.batch_size={asm.batch_size - asm.batch_size % self.pac or self.pac}."
            )
        if isinstance(asm.nets["D"], Packed):
            raise ConfigError("pacgan: listed twice in regularizers; keep one.")
        shape = tuple(asm.sample_shape)
        packed_shape = (self.pac * shape[0], *shape[1:])
        asm.nets["D"] = Packed(asm.rebuild("D", packed_shape), self.pac)
