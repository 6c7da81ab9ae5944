"""What a rule reads and returns: the :class:`History` of logged records, number helpers over them,
and the :class:`Finding` it reports.

Records are the plain dicts the trainer writes to ``metrics.jsonl`` (``kind``, ``step`` and numbers).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from statistics import pstdev
from typing import Any

from gankit.diagnostics.thresholds import COLLAPSE_WARMUP_STEPS


@dataclass
class Finding:
    """One diagnosis: ``rule`` fired at ``step`` because of ``evidence``; try ``remedies``."""

    rule: str
    symptom: str
    evidence: dict[str, float]
    remedies: list[str]
    step: int

    def message(self) -> str:
        """Multi-line text for a warning: symptom [rule], the evidence numbers, numbered remedies."""
        ev = ", ".join(f"{k}={fmt(v)}" for k, v in self.evidence.items())
        lines = [f"{self.symptom} [{self.rule}]", f"  evidence: {ev}", "  try:"]
        lines += [f"    {i}. {r}" for i, r in enumerate(self.remedies, 1)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fmt(v: float) -> str:
    """A number for messages: integers without a decimal point, others to 3 significant digits."""
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or (math.isfinite(v) and float(v).is_integer() and abs(v) < 1e9):
        return str(int(v))
    if not math.isfinite(v):
        return str(v)
    return f"{v:.3g}"


@dataclass
class History:
    """What one rule evaluation sees: the last ``2 * window`` train records, the recent eval
    records and running peaks. ``train[-window:]`` is the current window."""

    train: Sequence[Mapping[str, Any]]
    evals: Sequence[Mapping[str, Any]]
    window: int
    peaks: Mapping[str, float] = field(default_factory=dict)
    warmup_steps: int = 0
    collapse_warmup: int = COLLAPSE_WARMUP_STEPS

    @property
    def current(self) -> Sequence[Mapping[str, Any]]:
        return self.train[-self.window :]

    @property
    def previous(self) -> Sequence[Mapping[str, Any]]:
        return self.train[-2 * self.window : -self.window]


def num(rec: Mapping[str, Any], key: str) -> float | None:
    """A record's number: None where missing or null; NaN/Inf kept (the ``nan`` rule needs them)."""
    v = rec.get(key)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return float(v)


def finite(rec: Mapping[str, Any], key: str) -> float | None:
    """A record's number where it is finite, else None."""
    v = num(rec, key)
    return v if v is not None and math.isfinite(v) else None


def series(records: Sequence[Mapping[str, Any]], key: str) -> list[float] | None:
    """The finite values of ``key``; None unless every record has one."""
    vals = [num(r, key) for r in records]
    if not vals or any(v is None or not math.isfinite(v) for v in vals):
        return None
    return vals  # type: ignore[return-value]


def slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of ys over xs (0 for a single point)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    return 0.0 if sxx == 0 else sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx


def detrended_std(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Standard deviation of ys around their least-squares line: swings, not a steady trend."""
    b = slope(xs, ys)
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    return pstdev([y - (my + b * (x - mx)) for x, y in zip(xs, ys)])


def steps(records: Sequence[Mapping[str, Any]]) -> list[float]:
    """The records' steps (their index where a record has none)."""
    return [float(r.get("step", i)) for i, r in enumerate(records)]


__all__ = ["Finding", "History", "detrended_std", "finite", "fmt", "num", "series", "slope", "steps"]
