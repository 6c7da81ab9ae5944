"""Every reported number carries the protocol it was measured under.

:class:`Protocol` names the extractor (and the hash of its weights), how many generated and
reference samples were used, which reference, how images were resized for the extractor, and the
seed. :class:`MetricResult` is one number (or ``None`` when it does not apply) with its protocol
and details; :class:`EvalReport` collects them, prints a table and dumps JSON (``None`` -> ``null``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gankit.metrics._io import write_json_atomic


@dataclass(frozen=True)
class Protocol:
    """How a number was measured.

    Attributes:
        extractor: ``"fmnist"``, ``"inception"``, ``"pixels"`` (raw pixels) or ``"none"`` (2D points).
        extractor_hash: first 16 hex digits of the extractor weights' SHA-256 (None for pixels/none).
        n_generated: generated samples used.
        n_reference: reference samples used (None when there is no reference).
        reference: ``"fashion-mnist:test"``, a folder path, ``"mixture:ring8"``, ... (None if none).
        resize: how images were adapted for the extractor (``"none"``, ``"tf1-bilinear-299"``, ...).
        seed: seed of every random choice (reference subset, KID subsets, IS shuffling, baselines).
        image_shape: C x H x W of the generated images (None for 2D points).
        held_out: the held-out set of the memorisation ratio (None otherwise).
        n_held_out: its size (None otherwise).
        n_generated_per_class: generated samples used per requested class 0..K-1, for the metrics
            of class-conditional samples (None otherwise).
        n_reference_per_class: reference images used per class 0..K-1 (None otherwise).
    """

    extractor: str
    extractor_hash: str | None
    n_generated: int
    n_reference: int | None
    reference: str | None
    resize: str
    seed: int
    image_shape: tuple[int, ...] | None = None
    held_out: str | None = None
    n_held_out: int | None = None
    n_generated_per_class: tuple[int, ...] | None = None
    n_reference_per_class: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["image_shape"] is not None:
            d["image_shape"] = list(d["image_shape"])
        return d

    def replace(self, **changes: Any) -> "Protocol":
        d = asdict(self)
        d.update(changes)
        return Protocol(**d)


def _clean(x: Any) -> Any:
    """JSON-safe copy: numpy scalars -> Python, NaN/Inf -> None, tuples -> lists."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if hasattr(x, "item") and callable(x.item) and getattr(x, "ndim", 1) == 0:
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


@dataclass
class MetricResult:
    """One reported number: ``name`` (``"fid"``, ``"kid"``, ``"precision"``, ...), value, protocol."""

    name: str
    value: float | None
    protocol: Protocol
    std: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {"name": self.name, "value": self.value, "std": self.std, "protocol": self.protocol.to_dict(), "details": self.details}
        )


DASH = "—"  # an undefined value or a protocol field that does not apply; JSON keeps null


def _count(total: int | None, per_class: tuple[int, ...] | None) -> str:
    """``10000`` or, for per-class protocols, ``10000 (1000/class)`` / ``9000 (800-1000/class)``."""
    if total is None:
        return DASH
    if not per_class:
        return str(total)
    used = [c for c in per_class if c > 0] or [0]
    lo, hi = min(used), max(used)
    return f"{total} ({lo}/class)" if lo == hi else f"{total} ({lo}-{hi}/class)"


def _fmt(v: float | None) -> str:
    if v is None:  # e.g. reverse KL with no high-quality sample
        return DASH
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        return f"{v:.4f}"
    return f"{v:.4g}"


@dataclass
class EvalReport:
    """The result of :func:`gankit.metrics.evaluate`: metric results, written files, timings."""

    results: list[MetricResult] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)  # e.g. reference cache hit/miss and file

    def add(self, result: MetricResult) -> None:
        self.results.append(result)

    def get(self, name: str) -> MetricResult:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"no metric {name!r} in this report; have: {', '.join(r.name for r in self.results)}")

    def value(self, name: str) -> float | None:
        return self.get(name).value

    def names(self) -> list[str]:
        return [r.name for r in self.results]

    def to_dict(self) -> dict[str, Any]:
        return _clean(
            {
                "metrics": [r.to_dict() for r in self.results],
                "artifacts": dict(self.artifacts),
                "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
                "info": dict(self.info),
            }
        )

    def to_json(self, path: str | Path | None = None) -> str:
        text = json.dumps(self.to_dict(), indent=2, allow_nan=False)
        if path is not None:
            write_json_atomic(path, self.to_dict())
        return text

    def format_table(self) -> str:
        """A plain-text table: metric, value (+- std), then the protocol columns."""
        header = ["metric", "value", "extractor", "hash", "n_gen", "n_ref", "reference", "resize", "seed"]
        rows = []
        for r in self.results:
            p = r.protocol
            value = _fmt(r.value) + (f" +- {_fmt(r.std)}" if r.std is not None else "")
            ref = p.reference if p.reference is not None else DASH  # IS and class statistics use no reference
            if p.held_out is not None:
                ref += f" | held-out {p.held_out} ({p.n_held_out})"
            rows.append(
                [r.name, value, p.extractor, (p.extractor_hash or DASH)[:8], _count(p.n_generated, p.n_generated_per_class),
                 _count(p.n_reference, p.n_reference_per_class), ref, p.resize, str(p.seed)]
            )  # fmt: skip
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(header)]
        lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths)), "  ".join("-" * w for w in widths)]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
        return "\n".join(line.rstrip() for line in lines)
