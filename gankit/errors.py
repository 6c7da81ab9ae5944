"""User-facing errors (defined with the contracts in :mod:`gankit.core.errors`)."""

from gankit.core.errors import CheckpointError, ConfigError, DataError, GankitError, TrainingDiverged, WriteFailed


class ExportError(GankitError):
    """An export failed its parity check, or an export folder is missing, corrupt or incompatible."""


__all__ = ["CheckpointError", "ConfigError", "DataError", "ExportError", "GankitError", "TrainingDiverged", "WriteFailed"]
