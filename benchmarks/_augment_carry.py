"""The augmentation study's memory across runs: rows kept in benchmarks/results/, and rows carried from the document.

A run of one level (``--levels 5``) must not erase the other level's rows from docs/benchmarks.md:
the report shows every cell whose results are kept (benchmarks/results/augmentation, the current
settings' keys only), and, for a cell that is neither run nor kept (results measured before they
were kept), the section's own earlier table rows, verdicts and findings, labelled with the date
they were measured. Nothing is recomputed from a carried row except the cross-level comparison,
which reads its means.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from _augment_jobs import Cell

# A table row of the section: | class | 1 % (60) | (a) imbalanced real | added | rare recall | ...
ROW = re.compile(r"^\| (?P<name>[a-z0-9-]+) \| (?P<level>[\d.]+) % \((?P<n>\d+)\) \| (?P<label>[^|]+?) \| [^|]+ \| (?P<recall>[^|]+?) \|")
CARRIED = re.compile(r"^\*\*Carried over, not rerun\*\* \(as this section recorded them on (?P<date>[^)]+)\): (?P<tags>.+)\.$", re.M)
STAT = re.compile(r"^(-?[\d.]+)(?: ± ([\d.]+))?$")


@dataclass
class Carried:
    """What the document had for cells this run neither ran nor kept, by cell tag."""

    rows: dict[str, list[str]] = field(default_factory=dict)  # tag -> its table lines
    verdicts: dict[str, str] = field(default_factory=dict)
    findings: dict[float, list[str]] = field(default_factory=dict)  # level -> its lines (only levels carried whole)
    recall: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # (tag, label) -> (mean, std)
    dates: dict[str, str] = field(default_factory=dict)  # tag -> when it was measured
    levels: dict[str, float] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def note(self) -> str:
        by_date: dict[str, list[str]] = {}
        for tag in self.rows:
            by_date.setdefault(self.dates[tag], []).append(tag)
        return "\n\n".join(f"**Carried over, not rerun** (as this section recorded them on {d}): {', '.join(t)}."
                           for d, t in by_date.items())  # fmt: skip


def tag_of(name: str, level: float) -> str:
    return Cell(0, name, level).tag


def section_text(doc: Path, section: str) -> str | None:
    text = doc.read_text() if doc.is_file() else ""
    m = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    return m.group(1) if m else None


def previous(doc: Path, section: str, have: set[str]) -> Carried:
    """The section's rows of every cell whose tag is not in ``have``, with the date each was measured."""
    out = Carried()
    sec = section_text(doc, section)
    if sec is None:
        return out
    stamp = re.search(r"^- date: (.+)$", sec, re.M)
    dated = {t.strip(): m.group("date") for m in CARRIED.finditer(sec) for t in m.group("tags").split(",")}
    for line in sec.splitlines():
        m = ROW.match(line)
        if not m:
            continue
        level = float(m.group("level"))
        tag = tag_of(m.group("name"), level)
        if tag in have:
            continue
        out.rows.setdefault(tag, []).append(line)
        out.dates[tag] = dated.get(tag, stamp.group(1) if stamp else "an earlier run")
        out.levels[tag], out.names[tag] = level, m.group("name")
        s = STAT.match(m.group("recall").strip())
        if s:
            out.recall[(tag, m.group("label").strip())] = (float(s.group(1)), float(s.group(2) or 0.0))
    for line in sec.splitlines():
        v = re.match(r"^- \*\*(?P<name>[a-z0-9-]+), (?P<level>[\d.]+) %\*\*", line)
        if v and tag_of(v.group("name"), float(v.group("level"))) in out.rows:
            out.verdicts[tag_of(v.group("name"), float(v.group("level")))] = line
        f = re.match(r"^- At (?P<level>[\d.]+) %", line)
        if f:
            level = float(f.group("level"))
            if level in out.levels.values() and not any(tag_of(n, level) in have for n in out.names.values()):
                out.findings.setdefault(level, []).append(line)
    return out


def across_levels(recall: dict[tuple[str, float], dict[str, float]]) -> list[str]:
    """Per class measured at two or more levels: how the best GAN condition's gain over (a), and over the
    better non-GAN baseline, moves with the level. ``recall[(name, level)][short condition] = mean``."""
    lines = []
    for name in dict.fromkeys(n for n, _ in recall):
        levels = sorted(lv for n, lv in recall if n == name)
        if len(levels) < 2:
            continue
        parts = []
        for lv in levels:
            r = recall[(name, lv)]
            gan = max((r[c] for c in ("d", "e conf", "e DRS", "f") if c in r), default=None)
            base = max((r[c] for c in ("b", "c") if c in r), default=None)
            if gan is None or "a" not in r:
                continue
            vs = f", {100 * (gan - base):+.1f} over the better of (b)/(c)" if base is not None else ""
            parts.append(f"at {lv:g} % (a) {r['a']:.3f}, best GAN {gan:.3f}: {100 * (gan - r['a']):+.1f} pts over (a){vs}")
        if len(parts) > 1:
            lines.append(f"- **{name}**: " + "; ".join(parts) + ".")
    return lines
