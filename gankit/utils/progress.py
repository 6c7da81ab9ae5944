"""One place for progress bars: redrawn 10 times a second on a terminal, every 30 s into a log file."""

from __future__ import annotations

import sys
from typing import Any

from tqdm.auto import tqdm

LOG_INTERVAL = 30.0  # seconds between lines when stderr is a file or a pipe (CI, nohup, `make demo > log`)


def progress_bar(*args: Any, **kwargs: Any) -> tqdm:
    """``tqdm`` with a redraw interval that suits where stderr goes: megabytes of ``\\r`` lines help no one."""
    if not sys.stderr.isatty():
        kwargs.setdefault("mininterval", LOG_INTERVAL)
        kwargs.setdefault("maxinterval", max(LOG_INTERVAL, 10.0))  # tqdm's monitor would force a redraw every 10 s
    return tqdm(*args, **kwargs)


def live(bar: tqdm) -> bool:
    """Whether postfix updates should redraw the bar now (on a terminal) or wait for its next line (in a log)."""
    return bar.mininterval < 1
