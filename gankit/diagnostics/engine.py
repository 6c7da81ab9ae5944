"""The rule engine: keeps the sliding window of records, the running peaks the rules need (peak
gradient norm, peak diversity) and which rules have fired, so that each rule reports at most once
per run. The in-training :class:`~gankit.diagnostics.monitor.Monitor` and the offline
``gankit doctor`` feed the same engine, so both reach the same verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from gankit.diagnostics.checks import EVAL_RULES, TRAIN_RULES, Rule, check_nan
from gankit.diagnostics.context import RuleContext
from gankit.diagnostics.records import Finding, History, finite, num
from gankit.diagnostics.thresholds import COLLAPSE_EVALS, COLLAPSE_WARMUP_STEPS, DEFAULT_WINDOW, RULES


class RuleEngine:
    """Feeds records through the rules; each rule fires at most once (``fired``: rule -> step).

    ``feed(record)`` takes any ``metrics.jsonl`` record: ``kind: train`` (or a record without
    ``kind``) goes to the loss/gradient rules, ``kind: eval`` to the mode-collapse and labels-ignored rules,
    ``kind: error`` to the NaN rule; other kinds are ignored. No rule except ``nan`` fires before
    ``warmup_steps``.
    """

    def __init__(
        self,
        ctx: RuleContext | None = None,
        window: int = DEFAULT_WINDOW,
        warmup_steps: int = 0,
        collapse_warmup: int = COLLAPSE_WARMUP_STEPS,
        rules: Sequence[str] | None = None,
    ) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2 records, got {window}")
        self.ctx = ctx or RuleContext()
        self.window = window
        self.warmup_steps = warmup_steps
        self.collapse_warmup = collapse_warmup
        self.rules = tuple(rules) if rules is not None else RULES
        unknown = set(self.rules) - set(RULES)
        if unknown:
            raise ValueError(f"unknown rules {sorted(unknown)}; known: {', '.join(RULES)}")
        self.train: list[dict[str, Any]] = []
        self.evals: list[dict[str, Any]] = []
        self.peaks: dict[str, float] = {}
        self.fired: dict[str, int] = {}

    def _history(self) -> History:
        return History(self.train, self.evals, self.window, self.peaks, self.warmup_steps, self.collapse_warmup)

    def _peak(self, key: str, value: float | None) -> None:
        if value is not None and math.isfinite(value) and value > self.peaks.get(key, -math.inf):
            self.peaks[key] = value

    def _run(self, table: Mapping[str, Rule], step: int) -> list[Finding]:
        out = []
        hist = self._history()
        for name, fn in table.items():
            if name not in self.rules or name in self.fired:
                continue
            if name != "nan" and step < self.warmup_steps:
                continue
            f = fn(hist, self.ctx)
            if f is not None:
                self.fired[name] = f.step
                out.append(f)
        return out

    def feed(self, record: Mapping[str, Any]) -> list[Finding]:
        """Add one record; return the findings that fire for the first time."""
        kind = record.get("kind", "train")
        rec = dict(record)
        step = int(rec.get("step", 0))
        if kind in ("train", "error"):
            self.train.append(rec)
            del self.train[: -2 * self.window]
            findings = self._run(TRAIN_RULES if kind == "train" else {"nan": check_nan}, step)
            if kind == "train":  # the peak includes the current record only after the check
                self._peak("grad_norm_g", num(rec, "grad_norm_g"))
            return findings
        if kind == "eval":
            if not any(k in rec for k in ("diversity_ratio", "class_kl", "modes_covered", "class_consistency")):
                return []
            self.evals.append(rec)
            del self.evals[:-COLLAPSE_EVALS]
            findings = self._run(EVAL_RULES, step)
            self._peak("diversity_ratio", finite(rec, "diversity_ratio"))
            return findings
        return []

    def state_dict(self) -> dict[str, Any]:
        """Plain JSON (checkpoints store hook state as ``state.json``): numbers, non-finite as null."""
        return {
            "train": [_json_record(r) for r in self.train],
            "evals": [_json_record(r) for r in self.evals],
            "peaks": dict(self.peaks),
            "fired": dict(self.fired),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.train = [dict(r) for r in state.get("train", [])][-2 * self.window :]
        self.evals = [dict(r) for r in state.get("evals", [])][-COLLAPSE_EVALS:]
        self.peaks = {str(k): float(v) for k, v in state.get("peaks", {}).items()}
        self.fired = {str(k): int(v) for k, v in state.get("fired", {}).items()}


def _json_record(rec: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in rec.items():
        if k == "kind" and isinstance(v, str):
            out[k] = v
        elif isinstance(v, bool) or v is None:
            continue
        elif isinstance(v, (int, float)):
            out[k] = v if math.isfinite(v) else None
    return out


def evaluate_records(
    records: Sequence[Mapping[str, Any]], ctx: RuleContext | None = None, window: int = DEFAULT_WINDOW, **engine_kw: Any
) -> list[Finding]:
    """Replay a whole run's records (in order) through a fresh engine; the first firing of each rule."""
    engine = RuleEngine(ctx, window, **engine_kw)
    out: list[Finding] = []
    for rec in records:
        out += engine.feed(rec)
    return out


__all__ = ["RuleEngine", "evaluate_records"]
