"""User-facing errors (defined with the contracts in :mod:`gankit.core.errors`)."""

from gankit.core.errors import CheckpointError, ConfigError, DataError, GankitError, TrainingDiverged, WriteFailed

__all__ = ["CheckpointError", "ConfigError", "DataError", "GankitError", "TrainingDiverged", "WriteFailed"]
