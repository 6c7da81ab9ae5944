"""Working with G's latent space at sampling time: truncation (and later interpolation, projection)."""

from gankit.latent.truncation import truncate, truncated_noise

__all__ = ["truncate", "truncated_noise"]
