"""The doctor's ``report.html``: one self-contained page (every picture embedded as base64 PNG, no
scripts, no external links) with the summary, the warnings, the charts, sample grids and the config.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from gankit.diagnostics.plots import (
    plot_accuracy,
    plot_class_consistency,
    plot_diversity,
    plot_fid,
    plot_grad_norms,
    plot_losses,
    plot_reconstruction,
    plot_scores,
    plot_style_regularisers,
)
from gankit.diagnostics.report import DASH, DoctorReport, finite_value
from gankit.diagnostics.thresholds import FMNIST_CLASSIFIER_ACCURACY, HEALTHY_D_ACCURACY

#: Sample grids embedded in the report, evenly spaced over the run (first and last included).
MAX_GRIDS = 8


def pick_grids(samples: Sequence[tuple[int, Path]], k: int = MAX_GRIDS) -> list[tuple[int, Path]]:
    """Up to ``k`` grids evenly spaced over the run, first and last included."""
    if len(samples) <= k:
        return list(samples)
    idx = sorted({round(i * (len(samples) - 1) / (k - 1)) for i in range(k)})
    return [samples[i] for i in idx]


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
    if finite_value(last.get("acc_real")) is not None and finite_value(last.get("acc_fake")) is not None:
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
        *([("class consistency (last)", f"{_cell(rep.final_consistency, 3)} (chance {_cell(rep.consistency_chance, 3)})")]
          if rep.final_consistency is not None else []),
        ("D loss / G loss (last)", f"{_cell(finite_value(last.get('d_loss')))} / {_cell(finite_value(last.get('g_loss')))}"),
        ("D accuracy (last)", _cell(acc, 3)),
        ("grad norm D / G (last)", f"{_cell(finite_value(last.get('grad_norm_d')))} / {_cell(finite_value(last.get('grad_norm_g')))}"),
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


def _optional(title: str, chart: str | None, alt: str, note: str) -> list[tuple[str, str]]:
    """A section only for runs that log what it draws: an empty placeholder would only say it does not apply."""
    return [] if chart is None else [(title, _img(chart, alt) + note)]


def _optional_sections(rep: DoctorReport) -> list[tuple[str, str]]:
    """Class consistency (class-conditional runs), ADA p and path length (StyleGAN2 / ADA runs), and
    reconstruction (image-to-image runs)."""
    return [
        *_optional("Class consistency", plot_class_consistency(rep), "class consistency", (
            "<p>Class consistency: the fraction of a fixed class-balanced generated batch that the Fashion-MNIST classifier "
            f"assigns to the class it was asked for. Chance (1/K) means G ignores its label; the classifier's own test accuracy "
            f"({FMNIST_CLASSIFIER_ACCURACY}) is the ceiling. Thin lines, where drawn: D's class-head accuracy on real and fake batches "
            "(AC-GAN / TAC recipes).</p>")),
        *_optional("Augmentation and path length", plot_style_regularisers(rep), "ADA p and path length", (
            "<p>ADA p: the probability of each augmentation; it rises while D overfits the real images. Staying above the "
            "dashed line warns <code>augmentation_saturated</code>. Path length: how far images move for a unit step in w; "
            "a several-fold jump, or a penalty term above G's loss, warns <code>path_length_unstable</code>.</p>")),
        *_optional("Reconstruction", plot_reconstruction(rep), "reconstruction", (
            "<p>Pix2Pix: the mean absolute difference between G's output and the target, which the L1 term pulls down. "
            "CycleGAN: the mean L1 of a &rarr; b &rarr; a and b &rarr; a &rarr; b; if it stays high the generators are not "
            "invertible, if it reaches 0 while the grids show the input unchanged they have collapsed to the identity.</p>")),
    ]  # fmt: skip


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
        *_optional_sections(rep),
        ("Samples over time", _grids_html(rep)),
        ("Config", f"<pre>{_h(rep.config_text)}</pre>" if rep.config_text else f'<p class="missing">{DASH} (no config.yaml)</p>'),
    ]  # fmt: skip
    body = "".join(f'<h2 id="{re.sub(r"[^a-z0-9]+", "-", t.lower()).strip("-")}">{_h(t)}</h2>{c}' for t, c in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>gankit doctor: {_h(rep.name)}</title><style>{_CSS}</style></head>"
        f"<body><h1>gankit doctor: {_h(rep.name)}</h1>{body}</body></html>\n"
    )


__all__ = ["MAX_GRIDS", "pick_grids", "render_html"]
