"""Errors a user can cause. The CLI prints these without a traceback and exits non-zero."""

from __future__ import annotations


class GankitError(Exception):
    """Base class: the message says what was wrong, where, and what is allowed."""


class ConfigError(GankitError):
    """A recipe or ``--set`` override is invalid."""


class DataError(GankitError):
    """A dataset is missing, corrupt or of the wrong shape."""


class CheckpointError(GankitError):
    """A checkpoint or run folder is missing or unreadable."""


class TrainingDiverged(GankitError):
    """A loss became NaN/Inf; the last good checkpoint is left untouched."""


class WriteFailed(GankitError):
    """A file could not be written (disk full, permission denied, read-only folder).

    Raised after the half-written file is removed, naming the path and the OS error; the last
    complete checkpoint is kept.
    """
