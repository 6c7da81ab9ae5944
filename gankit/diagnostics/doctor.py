"""``gankit doctor RUN_DIR``: re-read a run's ``metrics.jsonl``, re-evaluate the health rules over the
whole run, and write a self-contained ``report.html`` (every picture embedded as base64 PNG).

:func:`diagnose` returns a :class:`DoctorReport` (what was found), :func:`write_report` writes the
HTML, :func:`summary_text` is what the command prints. Missing numbers stay ``None`` in the report
and show as an em-dash in the HTML and the text.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gankit.diagnostics.rules import (
    COLLAPSE_DIVERSITY_RATIO,
    COLLAPSE_WARMUP_STEPS,
    DEFAULT_WINDOW,
    HEALTHY_D_ACCURACY,
    Finding,
    RuleContext,
    RuleEngine,
    loss_profile,
    num,
)
from gankit.errors import CheckpointError
from gankit.train.logger import read_metrics
from gankit.utils.io import atomic_write_text

DASH = "\u2014"
#: Sample grids embedded in the report, evenly spaced over the run (first and last included).
MAX_GRIDS = 8
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
            "warnings": [
                {"step": w.step, "rule": w.rule, "source": w.source, "message": w.message, "evidence": w.evidence} for w in self.warnings
            ],
        }


# --------------------------------------------------------------------------- diagnose


def _finite(v: Any) -> float | None:
    x = num({"v": v}, "v")
    return x if x is not None and math.isfinite(x) else None


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
            ev = {k: float(v) for k, v in r.items() if k not in ("kind", "step") and _finite(v) is not None}
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
    fids = [(int(e["step"]), v) for e in evals if (v := _finite(e.get("fid"))) is not None]
    if fids:
        rep.final_fid_step, rep.final_fid = fids[-1]
        rep.best_fid_step, rep.best_fid = min(fids, key=lambda sv: sv[1])
    divs = [v for e in evals if (v := _finite(e.get("diversity_ratio"))) is not None]
    rep.final_diversity = divs[-1] if divs else None
    return rep


# --------------------------------------------------------------------------- text


def _f(v: float | None, digits: int = 4) -> str:
    return DASH if v is None else f"{v:.{digits}g}"


def summary_text(report: DoctorReport) -> str:
    """What ``gankit doctor`` prints: status, FID, diversity, and every warning with its remedies."""
    r = report
    lines = [f"gankit doctor: {r.run_dir}"]
    lines.append(f"  recipe:    {r.name}" + (f" (loss {r.loss})" if r.loss else ""))
    lines.append(f"  status:    {r.status} ({r.status_detail})")
    if r.final_fid is not None:
        lines.append(f"  FID:       final {_f(r.final_fid)} (step {r.final_fid_step}), best {_f(r.best_fid)} (step {r.best_fid_step})")
    if r.final_diversity is not None:
        lines.append(f"  diversity: {_f(r.final_diversity, 3)} of the real data's (mean pairwise feature distance)")
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


# --------------------------------------------------------------------------- plots


def _series(records: Sequence[dict[str, Any]], key: str) -> tuple[list[int], list[float]]:
    """Steps and values, NaN where the value is missing (a gap in the line); None if never present."""
    xs, ys = [], []
    for r in records:
        if "step" in r:
            xs.append(int(r["step"]))
            v = _finite(r.get(key))
            ys.append(float("nan") if v is None else v)
    return xs, ys


def _has(ys: Sequence[float]) -> bool:
    return any(not math.isnan(y) for y in ys)


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _figure() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 3.0))
    ax = fig.add_subplot(1, 1, 1)
    ax.grid(True, alpha=0.3)
    ax.set_xlabel("step")
    return fig, ax


def _mark_warnings(ax: Any, warnings: Sequence[WarningEvent]) -> None:
    for i, w in enumerate(warnings):
        ax.axvline(w.step, color="tab:red", ls=":", lw=1, label="warning" if i == 0 else None)


def _line_plot(records: Sequence[dict[str, Any]], keys: Sequence[tuple[str, str]], ylabel: str,
               warnings: Sequence[WarningEvent] = (), log: bool = False) -> str | None:  # fmt: skip
    fig, ax = _figure()
    drawn = False
    for key, label in keys:
        xs, ys = _series(records, key)
        if log:
            ys = [y if y > 0 else float("nan") for y in ys]
        if _has(ys):
            ax.plot(xs, ys, label=label, lw=1.2, marker="o" if len(xs) <= 30 else None, ms=3)
            drawn = True
    if not drawn:
        return None
    if log:
        ax.set_yscale("log")
    _mark_warnings(ax, warnings)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _png(fig)


def plot_losses(rep: DoctorReport) -> str | None:
    return _line_plot(rep.train, [("d_loss", "D loss"), ("g_loss", "G loss")], "loss", rep.warnings)


def plot_accuracy(rep: DoctorReport) -> str | None:
    fig, ax = _figure()
    xs, ar = _series(rep.train, "acc_real")
    _, af = _series(rep.train, "acc_fake")
    if not (_has(ar) or _has(af)):
        return None
    lo, hi = HEALTHY_D_ACCURACY
    ax.axhspan(lo, hi, color="tab:green", alpha=0.15, label=f"healthy {lo}-{hi}")
    mean = [0.5 * (a + b) for a, b in zip(ar, af)]
    ax.plot(xs, ar, lw=1, alpha=0.6, label="on real")
    ax.plot(xs, af, lw=1, alpha=0.6, label="on fake")
    ax.plot(xs, mean, lw=1.8, color="black", label="D accuracy (mean)")
    ax.set_ylim(-0.02, 1.02)
    _mark_warnings(ax, rep.warnings)
    ax.set_ylabel("D accuracy")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return _png(fig)


def plot_scores(rep: DoctorReport) -> str | None:
    family = loss_profile(rep.loss or "nonsaturating").family
    ylabel = "mean D probability" if family in ("sigmoid", "hinge") else "mean D score (raw)"
    return _line_plot(rep.train, [("d_real", "D(x)"), ("d_fake", "D(G(z))")], ylabel, rep.warnings)


def plot_grad_norms(rep: DoctorReport) -> str | None:
    return _line_plot(rep.train, [("grad_norm_d", "D"), ("grad_norm_g", "G")], "gradient norm (log)", rep.warnings, log=True)


def plot_fid(rep: DoctorReport) -> str | None:
    if rep.final_fid is None:
        return None
    fig, ax = _figure()
    xs, ys = _series(rep.evals, "fid")
    pts = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
    ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label="FID")
    if rep.best_fid_step is not None:
        ax.axvline(rep.best_fid_step, color="tab:green", ls="--", lw=1, label=f"best {rep.best_fid:.4g} @ {rep.best_fid_step}")
    if all(p[1] > 0 for p in pts):
        ax.set_yscale("log")
    ax.set_ylabel("FID")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def plot_diversity(rep: DoctorReport) -> str | None:
    xs, ys = _series(rep.evals, "diversity_ratio")
    _, kl = _series(rep.evals, "class_kl")
    if not (_has(ys) or _has(kl)):
        return None
    fig, ax = _figure()
    if _has(ys):
        pts = [(x, y) for x, y in zip(xs, ys) if not math.isnan(y)]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", ms=3, label="diversity / real diversity")
        ax.axhline(COLLAPSE_DIVERSITY_RATIO, color="tab:red", ls="--", lw=1, label=f"collapse threshold {COLLAPSE_DIVERSITY_RATIO}")
        ax.set_ylabel("diversity ratio")
        ax.set_ylim(0, max(1.1, 1.05 * max(p[1] for p in pts)))
    if _has(kl):
        ax2 = ax.twinx() if _has(ys) else ax
        pts = [(x, y) for x, y in zip(xs, kl) if not math.isnan(y)]
        ax2.plot([p[0] for p in pts], [p[1] for p in pts], color="tab:purple", marker="s", ms=3, label="class KL to uniform (nats)")
        ax2.set_ylabel("class KL (nats)")
        if ax2 is not ax:
            ax2.legend(fontsize=8, loc="lower right")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _png(fig)


def pick_grids(samples: Sequence[tuple[int, Path]], k: int = MAX_GRIDS) -> list[tuple[int, Path]]:
    """Up to ``k`` grids evenly spaced over the run, first and last included."""
    if len(samples) <= k:
        return list(samples)
    idx = sorted({round(i * (len(samples) - 1) / (k - 1)) for i in range(k)})
    return [samples[i] for i in idx]


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.8em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f5f5f5}.ok{color:#1a7f37}.bad{color:#b42318}pre{background:#f7f7f7;padding:.8em;overflow-x:auto;font-size:.85em}
.grids{display:flex;flex-wrap:wrap;gap:1em}.grids figure{margin:0;text-align:center}.grids img{max-width:220px;image-rendering:pixelated;border:1px solid #ddd}
figcaption{font-size:.85em;color:#555}.missing{color:#888}
"""


def _h(v: Any) -> str:
    return html.escape(str(v))


def _cell(v: Any, digits: int = 4) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return f'<span class="missing">{DASH}</span>'
    if isinstance(v, float):
        return _h(f"{v:.{digits}g}")
    return _h(v)


def _img(b64: str | None, alt: str) -> str:
    if b64 is None:
        return f'<p class="missing">{DASH} (no {_h(alt)} recorded)</p>'
    return f'<img alt="{_h(alt)}" src="data:image/png;base64,{b64}">'


def _summary_html(rep: DoctorReport) -> str:
    last = rep.train[-1] if rep.train else {}
    acc = None
    if _finite(last.get("acc_real")) is not None and _finite(last.get("acc_fake")) is not None:
        acc = 0.5 * (float(last["acc_real"]) + float(last["acc_fake"]))
    cls = "ok" if rep.status in ("finished",) else "bad" if rep.status in ("diverged", "error", "incomplete") else ""
    rows = [
        ("run folder", _h(rep.run_dir)),
        ("recipe", _h(rep.name) + (f" (loss {_h(rep.loss)})" if rep.loss else "")),
        ("status", f'<span class="{cls}">{_h(rep.status)}</span> ({_h(rep.status_detail)})'),
        ("steps", f"{_cell(rep.last_step)} of {_cell(rep.max_steps)}"),
        ("final FID", f"{_cell(rep.final_fid)}" + (f" (step {rep.final_fid_step})" if rep.final_fid_step is not None else "")),
        ("best FID", f"{_cell(rep.best_fid)}" + (f" (step {rep.best_fid_step})" if rep.best_fid_step is not None else "")),
        ("diversity ratio (last)", _cell(rep.final_diversity, 3)),
        ("D loss / G loss (last)", f"{_cell(_finite(last.get('d_loss')))} / {_cell(_finite(last.get('g_loss')))}"),
        ("D accuracy (last)", _cell(acc, 3)),
        ("grad norm D / G (last)", f"{_cell(_finite(last.get('grad_norm_d')))} / {_cell(_finite(last.get('grad_norm_g')))}"),
    ]
    table = "<table>" + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"
    if not rep.warnings:
        warn = '<p class="ok">No warnings: no rule fired.</p>'
    else:
        body = "".join(
            f"<tr><td>{w.step}</td><td>{_cell(w.rule)}</td><td>{_h(w.source)}</td><td><pre>{_h(w.message)}</pre></td></tr>"
            for w in rep.warnings
        )
        warn = f"<table><tr><th>step</th><th>rule</th><th>source</th><th>symptom, evidence and remedies</th></tr>{body}</table>"
        warn += "<p><i>recorded</i>: printed during training; <i>doctor</i>: found now by re-reading metrics.jsonl.</p>"
    return table + f"<h3>Warnings ({len(rep.warnings)})</h3>" + warn


def _grids_html(rep: DoctorReport) -> str:
    chosen = pick_grids(rep.samples)
    if not chosen:
        return f'<p class="missing">{DASH} (no sample grids in samples/)</p>'
    figs = []
    for step, path in chosen:
        b64 = base64.b64encode(path.read_bytes()).decode("ascii")
        figs.append(
            f'<figure><img alt="samples at step {step}" src="data:image/png;base64,{b64}"><figcaption>step {step}</figcaption></figure>'
        )
    note = f"<p>{len(chosen)} of {len(rep.samples)} grids (fixed noise, so grids are comparable).</p>"
    return note + '<div class="grids">' + "".join(figs) + "</div>"


def render_html(rep: DoctorReport) -> str:
    """The report as one self-contained HTML page."""
    lo, hi = HEALTHY_D_ACCURACY
    sections = [
        ("Summary", _summary_html(rep)),
        ("Losses", _img(plot_losses(rep), "losses") + "<p>Dotted red lines: warnings.</p>"),
        ("D accuracy", _img(plot_accuracy(rep), "D accuracy")
         + f"<p>Shaded: the healthy band {lo}-{hi}. Near 1: D overpowers G; near 0.5 for long: D learns nothing.</p>"),
        ("D(x) and D(G(z))", _img(plot_scores(rep), "D outputs")),
        ("Gradient norms", _img(plot_grad_norms(rep), "gradient norms")),
        ("FID", _img(plot_fid(rep), "FID")),
        ("Sample diversity", _img(plot_diversity(rep), "diversity")
         + "<p>Mean pairwise feature distance of a fixed generated batch divided by that of a real batch; "
           "class KL: the generated class histogram's KL divergence to uniform.</p>"),
        ("Samples over time", _grids_html(rep)),
        ("Config", f"<pre>{_h(rep.config_text)}</pre>" if rep.config_text else f'<p class="missing">{DASH} (no config.yaml)</p>'),
    ]  # fmt: skip
    body = "".join(f'<h2 id="{re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-")}">{_h(t)}</h2>{c}' for t, c in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>gankit doctor: {_h(rep.name)}</title><style>{_CSS}</style></head>"
        f"<body><h1>gankit doctor: {_h(rep.name)}</h1>{body}</body></html>\n"
    )


def write_report(run_dir: str | Path, out: str | Path | None = None, report: DoctorReport | None = None) -> Path:
    """Write ``report.html`` (default ``RUN_DIR/report.html``) and return its path."""
    rep = report or diagnose(run_dir)
    path = Path(out) if out is not None else Path(run_dir) / "report.html"
    atomic_write_text(path, render_html(rep))
    return path


__all__ = ["DoctorReport", "WarningEvent", "diagnose", "render_html", "summary_text", "write_report"]
