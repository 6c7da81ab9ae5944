"""The module that is exported: the task's inference module behind fixed, named tensor inputs.

Exporters see only tensors, so everything that is a Python option at sampling time is fixed here:
the truncation psi of a style-based G is baked in, ProGAN's growth stage and fade are baked as
constants, and StarGAN's domain planes are built without the eager range check (ONNX Runtime's
caller checks the range instead, see :mod:`gankit.export.runtime`).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

from gankit.export.signature import input_kind


class _Baked(float):
    """A 0-d buffer read as a Python number (``int(self.stage)``, ``float(alpha)``), frozen for export:
    torch.export cannot branch on a tensor's value, and the value never changes after training."""

    def to(self, *args: Any, **kwargs: Any) -> "_Baked":
        return self

    def item(self) -> float:
        return float(self)


def bake_scalar_buffers(module: nn.Module) -> nn.Module:
    """A copy of ``module`` whose 0-d buffers are Python constants (ProGAN's ``stage`` and ``alpha``)."""
    module = copy.deepcopy(module)
    for sub in module.modules():
        for name, buf in list(sub.named_buffers(recurse=False)):
            if buf is not None and buf.dim() == 0:
                del sub._buffers[name]
                object.__setattr__(sub, name, _Baked(buf.item()))
    return module


class NoiseG(nn.Module):
    """``images = G(z)``; a style-based G with its truncation psi baked in."""

    def __init__(self, g: nn.Module, psi: float | None) -> None:
        super().__init__()
        self.g, self.psi = g, psi

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.g(z) if self.psi is None else self.g(z, truncation_psi=self.psi)


class ConditionalG(NoiseG):
    """``images = G(z, c)`` with c int64 class labels."""

    def forward(self, z: torch.Tensor, c: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.g(z, c) if self.psi is None else self.g(z, c, truncation_psi=self.psi)


class Translator(nn.Module):
    """``images = G(x)``: translation and super-resolution."""

    def __init__(self, g: nn.Module) -> None:
        super().__init__()
        self.g = g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.g(x)


class DomainTranslator(Translator):
    """StarGAN's ``G(x, c)`` (its range check on c stands aside while exporting: models/stargan.py)."""

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.g(x, c)


class Inpaint(Translator):
    """``images = G(x, mask)``: mask float N x 1 x H x W, 1 = hole; known pixels composited back."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return self.g(x, mask)


def wrap(module: nn.Module, sig: dict[str, Any], psi: float | None, for_export: bool = True) -> nn.Module:
    """The eval-mode module with named inputs for a run's inference ``module`` (psi: style-based only).

    ``for_export=False``: the same call on the untouched module, the eager reference of the parity check."""
    g = (bake_scalar_buffers(module) if for_export else module).eval()
    names = input_kind(sig)
    if names[0] == "z":
        out: nn.Module = ConditionalG(g, psi) if len(names) == 2 else NoiseG(g, psi)
    elif names[-1] == "c":
        out = DomainTranslator(g)
    else:
        out = Inpaint(g) if names[-1] == "mask" else Translator(g)
    return out.eval()


def example_inputs(sig: dict[str, Any], n: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """Fixed, seeded inputs of batch ``n`` (parity checks and tracing): z from ``truncated_noise``,
    c every class in turn, x uniform in [-1, 1], masks one random rectangle each (1 = hole)."""
    from gankit.latent.truncation import truncated_noise

    gen = torch.Generator().manual_seed(seed + 7919)
    out: dict[str, torch.Tensor] = {}
    for name in input_kind(sig):
        if name == "z":
            out["z"] = truncated_noise(n, sig["z_dim"], None, seed)
        elif name == "c":
            out["c"] = (torch.arange(n, dtype=torch.int64) + seed) % sig["num_classes"]
        elif name == "x":
            out["x"] = torch.rand(n, *sig["input_shape"], generator=gen) * 2 - 1
        else:
            h, w = sig["input_shape"][1:]
            m = torch.zeros(n, 1, h, w)
            for i in range(n):
                top = int(torch.randint(0, max(1, h // 2), (1,), generator=gen))
                left = int(torch.randint(0, max(1, w // 2), (1,), generator=gen))
                m[i, :, top : top + max(1, h // 3), left : left + max(1, w // 3)] = 1
            out["mask"] = m
    return out
