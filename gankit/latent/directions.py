"""Directions to move along in latent space, and the edits they make.

* ``pca:I`` -- GANSpace (Härkönen et al. 2020): the I-th principal component of w over many samples
  (style-based G only: z is isotropic, so its principal directions mean nothing), scaled by the
  standard deviation of w along it, so strength 1 is one typical step.
* ``class:K`` -- a linear probe: many samples are labelled by the fmnist classifier, a logistic
  regression on their latents (w, or z for a G without a mapping network) separates class K from
  the rest, and its normal is the direction (scaled to the latents' std along it).
* a file -- a ``.safetensors`` holding one tensor ``direction`` of the latent's size.

:func:`edit_grid` shows each seed (rows) moved from -strength to +strength (columns).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from gankit.errors import ConfigError
from gankit.latent.tools import is_style_based
from gankit.utils.images import to_uint8


def _latents(gen: Any, n: int, seed: int) -> tuple[torch.Tensor, str]:
    z = gen.noise(n, seed=seed)
    if is_style_based(gen):
        with torch.no_grad():
            return gen.module.eval().mapping(z), "w"
    return z, "z"


def pca_direction(gen: Any, index: int, n: int = 10_000, seed: int = 0) -> torch.Tensor:
    if not is_style_based(gen):
        raise ConfigError("--direction pca:I needs a style-based generator (z is isotropic); use class:K or a file.")
    w, _ = _latents(gen, n, seed)
    wc = w - w.mean(0)
    _, s, v = torch.linalg.svd(wc, full_matrices=False)
    if not 0 <= index < v.shape[0]:
        raise ConfigError(f"--direction pca:{index}: components 0..{v.shape[0] - 1}.")
    return v[index] * (s[index] / (n - 1) ** 0.5)


def class_direction(gen: Any, klass: int, n: int = 5000, seed: int = 0, epochs: int = 200) -> torch.Tensor:
    if tuple(gen.signature["output_shape"]) != (1, 28, 28):
        raise ConfigError("--direction class:K labels samples with the fmnist classifier: 1 x 28 x 28 images only.")
    if not 0 <= klass < 10:
        raise ConfigError(f"--direction class:{klass}: Fashion-MNIST classes 0..9.")
    from gankit.metrics.extractors.fmnist import load_fmnist_net

    lat, _ = _latents(gen, n, seed)
    net, _ = load_fmnist_net()
    with torch.no_grad():
        images = torch.cat([_render(gen, lat[i : i + 500]) for i in range(0, n, 500)])
        labels = net.eval()(((images + 1) / 2).clamp(0, 1)).argmax(1)
    y = (labels == klass).float()
    if y.sum() < 10 or (1 - y).sum() < 10:
        raise ConfigError(f"--direction class:{klass}: only {int(y.sum())} of {n} samples are of that class; no probe can be fitted.")
    mu, sd = lat.mean(0), lat.std(0).clamp_min(1e-6)
    x = (lat - mu) / sd
    w = torch.zeros(x.shape[1], requires_grad=True)
    b = torch.zeros((), requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=epochs)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y) + 1e-3 * w.square().sum()
        loss.backward()
        return loss

    opt.step(closure)
    d = w.detach() / sd  # back to the latents' own coordinates
    d = d / d.norm()
    return d * float(((lat - mu) @ d).std())


def load_direction(gen: Any, spec: str) -> torch.Tensor:
    """``pca:I``, ``class:K`` or a ``.safetensors`` file with a ``direction`` tensor."""
    kind, _, arg = spec.partition(":")
    if kind in ("pca", "class") and arg.strip().isdigit():
        return pca_direction(gen, int(arg)) if kind == "pca" else class_direction(gen, int(arg))
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"--direction: pca:I, class:K or a .safetensors file with a 'direction' tensor; got {spec!r}.")
    from safetensors.torch import load_file

    try:
        d = load_file(str(path))["direction"].float().reshape(-1)
    except Exception as e:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise ConfigError(f"--direction {path}: not a safetensors file with a 'direction' tensor ({e}).") from None
    size = gen.module.mapping.w_dim if is_style_based(gen) else gen.signature["z_dim"]
    if d.numel() != size:
        raise ConfigError(f"--direction {path}: {d.numel()} values; this generator's {'w' if is_style_based(gen) else 'z'} has {size}.")
    return d


def _render(gen: Any, lat: torch.Tensor) -> torch.Tensor:
    m = gen.module.eval()
    with torch.no_grad():
        if is_style_based(gen):
            return m.synthesis(lat[:, None].expand(-1, m.num_ws, -1))
        return m(lat)


def edit_grid(gen: Any, direction: torch.Tensor, seeds: Sequence[int], strength: float, steps: int = 5) -> torch.Tensor:
    """uint8 images, row-major: each seed moved by t * direction for t from -strength to +strength."""
    if gen.signature["num_classes"]:
        raise ConfigError("latent edit of a class-conditional generator is not supported yet; use an unconditional run.")
    ts = torch.linspace(-strength, strength, steps)
    rows = []
    for s in seeds:
        lat, _ = _latents(gen, 1, s)
        rows.append(to_uint8(_render(gen, lat + ts[:, None] * direction[None]).float()))
    return torch.cat(rows)


__all__ = ["class_direction", "edit_grid", "load_direction", "pca_direction"]
