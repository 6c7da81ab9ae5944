"""What ``gankit doctor`` finds in a run folder: :func:`diagnose` re-reads ``metrics.jsonl`` and
re-evaluates the health rules over the whole run into a :class:`DoctorReport`; :func:`summary_text`
is what the command prints. Missing numbers stay ``None`` and print as an em-dash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gankit.diagnostics.context import RuleContext
from gankit.diagnostics.engine import RuleEngine
from gankit.diagnostics.records import Finding, finite
from gankit.diagnostics.thresholds import COLLAPSE_WARMUP_STEPS, DEFAULT_WINDOW, FMNIST_CLASSIFIER_ACCURACY
from gankit.errors import CheckpointError
from gankit.train.logger import read_metrics

DASH = "\u2014"
_STEP_PNG = re.compile(r"^step-(\d+)\.png$")


@dataclass
class WarningEvent:
    """A warning of the run: ``recorded`` (printed during training) or found by the ``doctor``."""

    step: int
    rule: str | None
    message: str
    source: str  # "recorded" | "doctor"
    evidence: dict[str, float] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        return self.message.splitlines()[0] if self.message else ""


@dataclass
class DoctorReport:
    run_dir: Path
    name: str
    status: str  # "finished" | "time_budget" | "interrupted" | "stopped early" | "diverged" | "incomplete" | "no records"
    status_detail: str
    last_step: int | None
    max_steps: int | None
    loss: str | None
    config: dict[str, Any] | None
    config_text: str | None
    train: list[dict[str, Any]]
    evals: list[dict[str, Any]]
    errors: list[dict[str, Any]]
    warnings: list[WarningEvent]  # recorded and doctor-found, by step
    findings: list[Finding]  # the offline re-evaluation (first firing of each rule)
    samples: list[tuple[int, Path]]  # every samples/step-*.png, by step
    final_fid: float | None = None
    final_fid_step: int | None = None
    best_fid: float | None = None
    best_fid_step: int | None = None
    final_diversity: float | None = None
    final_consistency: float | None = None  # class-conditional runs on Fashion-MNIST classes
    consistency_chance: float | None = None  # its chance level, 1/K

    @property
    def healthy(self) -> bool:
        return not self.warnings and self.status in ("finished", "time_budget", "interrupted", "stopped early")

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly summary (no per-step data)."""
        return {
            "run_dir": str(self.run_dir),
            "name": self.name,
            "status": self.status,
            "status_detail": self.status_detail,
            "last_step": self.last_step,
            "max_steps": self.max_steps,
            "final_fid": self.final_fid,
            "final_fid_step": self.final_fid_step,
            "best_fid": self.best_fid,
            "best_fid_step": self.best_fid_step,
            "final_diversity": self.final_diversity,
            "final_consistency": self.final_consistency,
            "consistency_chance": self.consistency_chance,
            "warnings": [
                {"step": w.step, "rule": w.rule, "source": w.source, "message": w.message, "evidence": w.evidence} for w in self.warnings
            ],
        }


# --------------------------------------------------------------------------- diagnose


def finite_value(v: Any) -> float | None:
    """``v`` where it is a finite number (not a bool), else None."""
    return finite({"v": v}, "v")


def _load_config(run_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    p = run_dir / "config.yaml"
    if not p.is_file():
        return None, None
    text = p.read_text()
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        return None, text
    return (raw if isinstance(raw, dict) else None), text


def _sample_grids(run_dir: Path) -> list[tuple[int, Path]]:
    d = run_dir / "samples"
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _STEP_PNG.match(p.name))]
    return sorted(found)


def _engine_for(config: dict[str, Any] | None) -> RuleEngine:
    mon = (config or {}).get("monitor") or {}
    return RuleEngine(
        RuleContext.from_config(config or {}),
        window=int(mon.get("window", DEFAULT_WINDOW)),
        warmup_steps=int(mon.get("warmup_steps", 0)),
        collapse_warmup=int(mon.get("collapse_warmup", COLLAPSE_WARMUP_STEPS)),
    )


def _status(run_dir: Path, records: list[dict[str, Any]], errors: list[dict[str, Any]], last: int | None,
            max_steps: int | None, nan_found: bool) -> tuple[str, str]:  # fmt: skip
    of = f" of {max_steps}" if max_steps is not None else ""
    if errors:
        msg = str(errors[-1].get("message") or "training stopped with an error").splitlines()[0]
        status = "diverged" if nan_found or "diverged" in msg.lower() else "error"
        return status, f"step {errors[-1].get('step', last)}{of}: {msg}"
    ends = [r for r in records if r.get("kind") == "end"]
    if ends:
        st = str(ends[-1].get("status", "finished"))
        return st, f"step {ends[-1].get('step', last)}{of}"
    if last is None:
        return "no records", "metrics.jsonl holds no training records yet"
    if nan_found:
        return "diverged", f"step {last}{of}: non-finite losses or gradients"
    if (run_dir / "samples" / "final.png").is_file():
        if max_steps is None or last >= max_steps:
            return "finished", f"step {last}{of}"
        return "stopped early", f"step {last}{of} (interrupted or out of time budget)"
    return "incomplete", (
        f"step {last}{of}; the records stop there and there is no final sample grid: the run crashed, was killed, "
        "diverged (NaN) or is still running"
    )


def diagnose(run_dir: str | Path) -> DoctorReport:
    """Everything the doctor knows about ``run_dir`` (a folder written by ``gankit train``)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise CheckpointError(f"run folder not found: {run_dir}")
    if not (run_dir / "metrics.jsonl").is_file():
        raise CheckpointError(f"{run_dir} has no metrics.jsonl; is it a gankit run folder (gankit train ... --out RUN)?")
    records = read_metrics(run_dir)
    config, config_text = _load_config(run_dir)
    train = [r for r in records if r.get("kind", "train") == "train"]
    evals = [r for r in records if r.get("kind") == "eval"]
    errors = [r for r in records if r.get("kind") == "error"]

    engine = _engine_for(config)
    findings: list[Finding] = []
    for rec in records:
        findings += engine.feed(rec)

    warnings: list[WarningEvent] = []
    for r in records:
        if r.get("kind") == "warning":
            ev = {k: float(v) for k, v in r.items() if k not in ("kind", "step") and finite_value(v) is not None}
            rule = r.get("rule") if isinstance(r.get("rule"), str) else None
            warnings.append(WarningEvent(int(r.get("step", 0)), rule, str(r.get("message", "")), "recorded", ev))
    recorded_rules = {w.rule for w in warnings if w.rule}
    for f in findings:
        if f.rule not in recorded_rules:
            warnings.append(WarningEvent(f.step, f.rule, f.message(), "doctor", dict(f.evidence)))
    warnings.sort(key=lambda w: w.step)

    steps = [int(r["step"]) for r in train if isinstance(r.get("step"), int)]
    last = max(steps) if steps else None
    max_steps = ((config or {}).get("train") or {}).get("max_steps")
    nan_found = any(f.rule == "nan" for f in findings)
    status, detail = _status(run_dir, records, errors, last, max_steps, nan_found)

    rep = DoctorReport(
        run_dir=run_dir,
        name=str((config or {}).get("name") or run_dir.name),
        status=status,
        status_detail=detail,
        last_step=last,
        max_steps=max_steps,
        loss=((config or {}).get("loss") or {}).get("name"),
        config=config,
        config_text=config_text,
        train=train,
        evals=evals,
        errors=errors,
        warnings=warnings,
        findings=findings,
        samples=_sample_grids(run_dir),
    )
    fids = [(int(e["step"]), v) for e in evals if (v := finite_value(e.get("fid"))) is not None]
    if fids:
        rep.final_fid_step, rep.final_fid = fids[-1]
        rep.best_fid_step, rep.best_fid = min(fids, key=lambda sv: sv[1])
    divs = [v for e in evals if (v := finite_value(e.get("diversity_ratio"))) is not None]
    rep.final_diversity = divs[-1] if divs else None
    cons = [(v, finite_value(e.get("class_consistency_chance")))
            for e in evals if (v := finite_value(e.get("class_consistency"))) is not None]  # fmt: skip
    if cons:
        rep.final_consistency, rep.consistency_chance = cons[-1]
    return rep


# --------------------------------------------------------------------------- text


def _f(v: float | None, digits: int = 4) -> str:
    return DASH if v is None else f"{v:.{digits}g}"


def summary_text(report: DoctorReport) -> str:
    """What ``gankit doctor`` prints: status, FID, diversity, class consistency, and every warning with its remedies."""
    r = report
    lines = [f"gankit doctor: {r.run_dir}"]
    lines.append(f"  recipe:    {r.name}" + (f" (loss {r.loss})" if r.loss else ""))
    lines.append(f"  status:    {r.status} ({r.status_detail})")
    if r.final_fid is not None:
        lines.append(f"  FID:       final {_f(r.final_fid)} (step {r.final_fid_step}), best {_f(r.best_fid)} (step {r.best_fid_step})")
    if r.final_diversity is not None:
        lines.append(f"  diversity: {_f(r.final_diversity, 3)} of the real data's (mean pairwise feature distance)")
    if r.final_consistency is not None:
        lines.append(
            f"  classes:   {_f(r.final_consistency, 3)} of the samples classified as the class asked for "
            f"(chance {_f(r.consistency_chance, 3)}, classifier ceiling {FMNIST_CLASSIFIER_ACCURACY})"
        )
    if not r.warnings:
        lines.append("  warnings:  none")
    else:
        lines.append(f"  warnings:  {len(r.warnings)}")
        for w in r.warnings:
            tag = "" if w.source == "recorded" else " (found by doctor)"
            msg = w.message.splitlines() or [""]
            lines.append(f"    step {w.step}{tag}: {msg[0]}")
            lines += [f"    {m}" for m in msg[1:]]
    return "\n".join(lines)


__all__ = ["DASH", "DoctorReport", "WarningEvent", "diagnose", "finite_value", "summary_text"]
