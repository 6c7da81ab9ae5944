"""Where a run is in its budget, so every schedule can be written as a fraction of it.

A budget is steps (``train.max_steps``), minutes (``train.max_minutes``) or both (whichever ends
first). ``progress`` is the fraction used, in [0, 1]. A schedule point is either a step (an int)
or a fraction of the budget (a float in [0, 1], or a string such as ``"50%"``), so a recipe budgeted
by time decays its learning rate or noise over the same share of training on a slow and a fast
machine. With a step budget alone, progress is a pure function of the step: resume stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from gankit.core.errors import ConfigError

Point = Union[int, float, str]


def parse_point(value: Point | None, what: str) -> int | float | None:
    """An int stays a step; a float in [0, 1] or "N%" becomes a fraction (float)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{what}: a step (int) or a fraction of the budget (0.5 or '50%'), got {value!r}.")
    if isinstance(value, str):
        text = value.strip()
        try:
            frac = float(text[:-1]) / 100 if text.endswith("%") else float(text)
        except ValueError:
            raise ConfigError(f"{what}: a step (int) or a fraction of the budget (0.5 or '50%'), got {value!r}.") from None
        value = frac if text.endswith("%") or "." in text else int(frac)
    if isinstance(value, int):
        if value < 0:
            raise ConfigError(f"{what}: a step must be >= 0, got {value}.")
        return value
    if not 0.0 <= float(value) <= 1.0:
        raise ConfigError(f"{what}: a fraction of the budget must be in [0, 1] (or give a step as an int), got {value}.")
    return float(value)


@dataclass(frozen=True)
class Clock:
    """``step``: steps completed; ``progress``: fraction of the budget used (the larger of steps and time)."""

    step: int
    progress: float
    max_steps: int | None = None

    def fraction(self, point: int | float | None, default: float) -> float:
        """A parsed schedule point as a fraction of the budget (``None``: ``default``).

        A step under a pure time budget is placed by the rate so far (progress per step).
        """
        if point is None:
            return default
        if not isinstance(point, int):
            return float(point)
        if self.max_steps:
            return min(1.0, point / self.max_steps)
        return min(1.0, point * self.progress / self.step) if self.step else (0.0 if point == 0 else 1.0)

    def reached(self, point: int | float | None) -> bool:
        if point is None:
            return False
        return self.step >= point if isinstance(point, int) else self.progress >= point

    def ramp(self, start: int | float | None, end: int | float | None) -> float:
        """0 before ``start``, 1 from ``end`` on, linear between (``None``: the budget's start / end)."""
        if isinstance(start, int) and isinstance(end, int):  # both steps: exact, no time involved
            if self.step < start:
                return 0.0
            return 1.0 if end <= start else min(1.0, (self.step - start) / (end - start))
        if self.reached(start) is False and start is not None:
            return 0.0
        s, e = self.fraction(start, 0.0), self.fraction(end, 1.0)
        return 1.0 if e <= s else min(1.0, max(0.0, (self.progress - s) / (e - s)))
