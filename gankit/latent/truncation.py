"""The truncation trick (Brock et al. 2019, BigGAN section 3.1): trade variety for fidelity.

Entries of z whose magnitude exceeds a threshold are resampled from N(0, 1) until they fall
inside it, so G only sees the dense centre of its prior. Lower thresholds give more typical,
less varied samples; ``None`` (or no truncation) samples the full normal.
"""

from __future__ import annotations

import torch

from gankit.errors import ConfigError


def truncate(z: torch.Tensor, threshold: float, generator: torch.Generator | None = None, max_rounds: int = 1000) -> torch.Tensor:
    """A copy of ``z`` with every entry where |z| > threshold redrawn (repeatedly) from N(0, 1)."""
    if threshold <= 0:
        raise ConfigError(f"truncation: the threshold must be > 0 (BigGAN uses 0.04-2.0), got {threshold}.")
    z = z.clone()
    for _ in range(max_rounds):
        out = z.abs() > threshold
        n = int(out.sum())
        if n == 0:
            return z
        z[out] = torch.randn(n, generator=generator, dtype=z.dtype).to(z.device)
    raise ConfigError(f"truncation {threshold}: could not draw values inside it in {max_rounds} rounds; use a larger threshold.")


def truncated_noise(n: int, dim: int, threshold: float | None, seed: int = 0) -> torch.Tensor:
    """``n`` latent vectors from one seeded generator, truncated at ``threshold`` where given."""
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(n, dim, generator=gen)
    return z if threshold is None else truncate(z, threshold, gen)
