"""``gankit doctor RUN_DIR``: re-read a run's ``metrics.jsonl``, re-evaluate the health rules over the
whole run, and write a self-contained ``report.html`` (every picture embedded as base64 PNG).

:func:`diagnose` returns a :class:`DoctorReport` (what was found, :mod:`~gankit.diagnostics.report`),
:func:`write_report` writes the HTML (:mod:`~gankit.diagnostics.html_report`), :func:`summary_text`
is what the command prints.
"""

from __future__ import annotations

from pathlib import Path

from gankit.diagnostics.html_report import render_html
from gankit.diagnostics.report import DoctorReport, WarningEvent, diagnose, summary_text
from gankit.utils.io import atomic_write_text


def write_report(run_dir: str | Path, out: str | Path | None = None, report: DoctorReport | None = None) -> Path:
    """Write ``report.html`` (default ``RUN_DIR/report.html``) and return its path."""
    rep = report or diagnose(run_dir)
    path = Path(out) if out is not None else Path(run_dir) / "report.html"
    atomic_write_text(path, render_html(rep))
    return path


__all__ = ["DoctorReport", "WarningEvent", "diagnose", "render_html", "summary_text", "write_report"]
