"""The augmentation study's report: mean ± std over seeds, the target's verdicts, and the recall plot.

Every verdict is computed from the cached rows, never written by hand: a difference is given with
its standard error over the seeds (sqrt(s1²/n1 + s2²/n2)), so "beats" and "within noise" can be
told apart by the reader.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from _augment_carry import Carried, across_levels
from _augment_jobs import CONDITIONS, GAN_OF, Cell, Study, cell_dir, gan_key, lookup, row_key, row_path

METRICS = ["rare_recall", "rare_precision", "rare_f1", "balanced_accuracy", "macro_f1"]
SHORT = {"real": "a", "oversample": "b", "classical": "c", "gan": "d", "gan_conf": "e conf", "gan_drs": "e DRS", "lowdata": "f"}
TARGET_GAIN = 0.10  # at 1 %: (d) or (e) raises rare-class recall by at least 10 points over (a)


def label(cond: str, study: Study) -> str:
    text = dict(CONDITIONS)[cond].format(low="DiffAugment" if study.low_data == "diffaugment" else "ADA")
    if cond == "gan_conf":
        text += f" p ≥ {study.confidence:g}"
    return text


def collect(study: Study, cells: list[Cell], seeds: list[int]) -> tuple[dict, dict]:
    """({(cell tag, cond): [rows of the current settings]}, {(cell tag, kind): GAN info})."""
    rows: dict[tuple[str, str], list[dict]] = {}
    gans: dict[tuple[str, str], dict] = {}
    for cell in cells:
        for kind in ("gan", "lowdata"):
            info = lookup(study, cell_dir(study, cell) / f"{kind}.json", gan_key(study, cell, kind))
            if info:
                gans[(cell.tag, kind)] = info
        for cond, _ in CONDITIONS:
            found = [lookup(study, row_path(study, cell, cond, s), row_key(study, cell, cond, s)) for s in seeds]
            rows[(cell.tag, cond)] = [r for r in found if r]
    return rows, gans


def stats(values: list[float]) -> tuple[float, float, int] | None:
    v = [float(x) for x in values if x is not None and not (isinstance(x, float) and math.isnan(x))]
    if not v:
        return None
    a = np.asarray(v)
    return float(a.mean()), float(a.std(ddof=1)) if len(a) > 1 else 0.0, len(a)


def metric(rows: list[dict], name: str) -> tuple[float, float, int] | None:
    return stats([r["metrics"][name] for r in rows if "metrics" in r])


def quality(rows: list[dict], name: str) -> tuple[float, float, int] | None:
    return stats([r["quality"][name] for r in rows if r.get("quality")])


def ms(s: tuple[float, float, int] | None, scale: float = 1.0, digits: int = 3) -> str | None:
    if s is None:
        return None
    m, sd, n = s
    return f"{m * scale:.{digits}f} ± {sd * scale:.{digits}f}" if n > 1 else f"{m * scale:.{digits}f}"


def diff(x: tuple[float, float, int], y: tuple[float, float, int]) -> str:
    """x - y in points (of a fraction) with its standard error."""
    se = math.sqrt(x[1] ** 2 / x[2] + y[1] ** 2 / y[2])
    return f"{100 * (x[0] - y[0]):+.1f} ± {100 * se:.1f} pts"


def table_rows(study: Study, cells: list[Cell], rows: dict, gans: dict, n_real: dict[str, int]) -> list[list[Any]]:
    out = []
    for cell in cells:
        for cond, _ in CONDITIONS:
            rs = rows[(cell.tag, cond)]
            ok = [r for r in rs if "metrics" in r]
            errors = [r for r in rs if "error" in r]
            gan = gans.get((cell.tag, GAN_OF.get(cond, "")))
            gan_txt = f"{gan['seconds'] / 60:.1f} min, {gan['steps']} steps" if gan and cond in ("gan", "lowdata") else None
            acc = stats([r["filter"]["acceptance_rate"] for r in ok if r.get("filter", {}).get("acceptance_rate") is not None])
            added = stats([r["n_added"] for r in ok if "n_added" in r])
            note = f"{len(errors)} seed(s) failed: {errors[0]['error'][:160]}" if errors else None
            out.append([
                cell.name, f"{cell.level:g} % ({n_real[cell.tag]})", label(cond, study), f"{added[0]:.0f}" if added else "0",
                *[ms(metric(ok, m)) for m in METRICS],
                ms(quality(ok, "intra_fid"), digits=1), ms(quality(ok, "class_consistency")),
                ms(acc), gan_txt, f"{len(ok)}" + (f" ({note})" if note else ""),
            ])  # fmt: skip
    return out


HEADERS = ["class", "kept (real)", "condition", "added", "rare recall", "rare precision", "rare F1", "balanced acc",
           "macro-F1", "synthetic intra-FID", "synthetic class consistency", "filter acceptance", "GAN training", "seeds"]  # fmt: skip


def verdicts(study: Study, cells: list[Cell], rows: dict) -> list[str]:
    """The issue's target at 1 %, and at every level where GAN samples stand against the baselines."""
    lines = []
    for cell in cells:
        s = {c: metric(rows[(cell.tag, c)], "rare_recall") for c, _ in CONDITIONS}
        bal = {c: metric(rows[(cell.tag, c)], "balanced_accuracy") for c, _ in CONDITIONS}
        if s["real"] is None:
            lines.append(f"- **{cell.name}, {cell.level:g} %**: no (a) rows yet.")
            continue
        de = [c for c in ("gan", "gan_conf", "gan_drs") if s[c] is not None]
        if not de:
            lines.append(f"- **{cell.name}, {cell.level:g} %**: no (d)/(e) rows yet.")
            continue
        best = max(de, key=lambda c: s[c][0])
        checks = [
            (s[best][0] - s["real"][0] >= TARGET_GAIN, f"recall over (a) {diff(s[best], s['real'])} (target ≥ +{100 * TARGET_GAIN:.0f})"),
            (s["oversample"] is not None and s[best][0] > s["oversample"][0],
             f"vs (b) {diff(s[best], s['oversample']) if s['oversample'] else 'not run'}"),
            (s["classical"] is not None and s[best][0] > s["classical"][0],
             f"vs (c) {diff(s[best], s['classical']) if s['classical'] else 'not run'}"),
            (bal[best] is not None and bal[best][0] >= bal["real"][0], f"balanced accuracy vs (a) {diff(bal[best], bal['real'])}"),
        ]  # fmt: skip
        met = all(ok for ok, _ in checks)
        head = "target" if cell.level == 1 else "(target is at 1 %; shown for comparison)"
        f_txt = f"; (f) recall {ms(s['lowdata'])} ({diff(s['lowdata'], s['real'])} over (a))" if s["lowdata"] else ""
        lines.append(
            f"- **{cell.name}, {cell.level:g} %** {head}: best of (d)/(e) is {SHORT[best]} ({ms(s[best])} recall) — "
            + "; ".join(("✓ " if ok else "✗ ") + t for ok, t in checks)
            + f" → **{'met' if met else 'not met'}**{f_txt}."
        )
    return lines


def findings(study: Study, cells: list[Cell], rows: dict) -> list[str]:
    """Where synthetic data helps: per level, how often the best GAN condition beats (a), (b) and (c)."""
    out = []
    for level in sorted({c.level for c in cells}):
        here = [c for c in cells if c.level == level]
        gains, wins, total = [], 0, 0
        for cell in here:
            s = {c: metric(rows[(cell.tag, c)], "rare_recall") for c, _ in CONDITIONS}
            gan = [s[c] for c in ("gan", "gan_conf", "gan_drs", "lowdata") if s[c]]
            if not gan or not s["real"]:
                continue
            g = max(gan, key=lambda t: t[0])
            gains.append(g[0] - s["real"][0])
            base = [s[c][0] for c in ("oversample", "classical") if s[c]]
            total += 1
            wins += bool(base) and g[0] > max(base)
        if total:
            out.append(f"- At {level:g} %: the best GAN condition (d, e or f) changes rare-class recall over (a) by "
                       f"{', '.join(f'{100 * g:+.1f}' for g in gains)} points (mean {100 * np.mean(gains):+.1f}) and beats both "
                       f"non-GAN baselines in {wins} of {total} classes.")  # fmt: skip
        prec = []
        for cell in here:
            a, d = metric(rows[(cell.tag, "real")], "rare_precision"), metric(rows[(cell.tag, "gan")], "rare_precision")
            q = quality(rows[(cell.tag, "gan")], "class_consistency")
            if a and d:
                prec.append(f"{cell.name} {a[0]:.2f} → {d[0]:.2f}" + (f" (samples' class consistency {q[0]:.2f})" if q else ""))
        if prec:
            out.append(f"- At {level:g} %, rare-class precision (a) → (d): " + "; ".join(prec) + ".")
    return out


def _keyed(study: Study, carried: Carried) -> dict[tuple[str, str], tuple[float, float]]:
    """The carried rows' rare-class recall by (cell tag, condition key)."""
    by_label = {label(c, study): c for c, _ in CONDITIONS}
    return {(tag, by_label[lab]): v for (tag, lab), v in carried.recall.items() if lab in by_label}


def plot(study: Study, cells: list[Cell], rows: dict, path: Path, carried: Carried | None = None) -> Path | None:
    """Rare-class recall per condition (mean, std error bar, each seed a dot), one panel per class and level;
    a carried cell has its mean and std only (hatched bars, no dots)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    carried = carried or Carried()
    old = _keyed(study, carried)
    panels = [(c.name, c.level, c.tag) for c in cells] + [(carried.names[t], carried.levels[t], t) for t in carried.rows]
    if not panels:
        return None
    levels = sorted({lv for _, lv, _ in panels})
    names = list(dict.fromkeys(n for n, _, _ in panels))
    fig, axes = plt.subplots(len(levels), len(names), figsize=(max(3.4 * len(names), 5.5), 2.8 * len(levels) + 0.4), dpi=100, squeeze=False)
    conds = [c for c, _ in CONDITIONS]
    colors = ["0.55", "tab:blue", "tab:cyan", "tab:orange", "tab:red", "tab:purple", "tab:green"]
    for name, level, tag in panels:
        ax = axes[levels.index(level)][names.index(name)]
        for i, cond in enumerate(conds):
            if tag in carried.rows:
                if (tag, cond) in old:
                    m, sd = old[(tag, cond)]
                    ax.bar(i, m, yerr=sd, color=colors[i], capsize=3, hatch="//", edgecolor="white")
                continue
            vals = [r["metrics"]["rare_recall"] for r in rows[(tag, cond)] if "metrics" in r]
            if not vals:
                continue
            sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
            ax.bar(i, float(np.mean(vals)), yerr=sd, color=colors[i], capsize=3)
            ax.scatter([i] * len(vals), vals, s=8, color="black", zorder=3)
        ax.set_xticks(range(len(conds)), [SHORT[c] for c in conds], fontsize=7)
        ax.set_ylim(0, 1)
        when = f" (as of {carried.dates[tag][:10]})" if tag in carried.rows else ""
        ax.set_title(f"{name}, {level:g} % of its images{when}", fontsize=9)
        ax.set_ylabel("rare-class recall", fontsize=8)
    fig.suptitle("Rare-class recall on the real test split\n(bars: mean ± std over the seeds; dots: each seed)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    plt.close(fig)
    return path


def _recall_means(study: Study, cells: list[Cell], rows: dict, carried: Carried) -> dict[tuple[str, float], dict[str, float]]:
    out: dict[tuple[str, float], dict[str, float]] = {}
    for cell in cells:
        for cond, _ in CONDITIONS:
            s = metric(rows[(cell.tag, cond)], "rare_recall")
            if s:
                out.setdefault((cell.name, cell.level), {})[SHORT[cond]] = s[0]
    for (tag, cond), (m, _) in _keyed(study, carried).items():
        out.setdefault((carried.names[tag], carried.levels[tag]), {})[SHORT[cond]] = m
    return out


def _merged_table(study: Study, cells: list[Cell], rows: dict, gans: dict, n_real: dict[str, int], carried: Carried) -> str:
    """This run's rows and the carried ones, by level, each cell's rows together."""
    from _report import table

    new = table(HEADERS, table_rows(study, cells, rows, gans, n_real)).splitlines()
    per = len(CONDITIONS)
    blocks = [(cell.level, k, new[2 + k * per: 2 + (k + 1) * per]) for k, cell in enumerate(cells)]
    blocks += [(carried.levels[t], len(cells) + k, lines) for k, (t, lines) in enumerate(carried.rows.items())]
    return "\n".join(new[:2] + [line for _, _, lines in sorted(blocks, key=lambda b: b[:2]) for line in lines])


def body(study: Study, cells: list[Cell], seeds: list[int], rows: dict, gans: dict, n_real: dict[str, int], plot_name: str | None,
         note: str = "", threads: int = 1, carried: Carried | None = None) -> str:  # fmt: skip
    from gankit.augment.classifier import EPOCHS, RECIPE

    low = "DiffAugment (color, translation, cutout)" if study.low_data == "diffaugment" else "ADA (its default pipeline, target 0.6)"
    budget = f"{study.steps} steps" if study.steps else f"{study.minutes:g} minutes"
    text = (
        f"Fashion-MNIST with one class cut to a few of its training images (the first N in file order, `data.per_class_limit`); "
        f"every other class complete. Each enlarging condition "
        + (f"adds {study.n_add} rare-class images" if study.n_add else "brings the rare class up to the median class size")
        + f" (`added`). The downstream classifier is `gankit.augment.classifier` ({RECIPE}, {study.epochs} epochs"
        f"{'' if study.epochs == EPOCHS else f'; its default is {EPOCHS}'}), trained from scratch for seeds {', '.join(map(str, seeds))}, "
        f"evaluated on the real test split (rare class: recall, precision, F1; all classes: balanced accuracy, macro-F1), "
        f"mean ± std over the seeds. (b) copies the rare class's images; (c) copies them through a random flip, rotation "
        f"≤ 10°, scale 0.9-1.1 and shift ≤ 2 px (`gankit.augment.baselines`); (d) samples `{study.recipe}` trained for "
        f"{budget} on the cut data only (one run per class and level, reused by every seed; seed {{1000 + seed}} for "
        f"the samples); (e) keeps (d)'s samples that the seed's own (a) classifier gives p(class) ≥ {study.confidence:g} "
        f"(`gankit.augment.confidence`; where fewer than 1 in 50 pass, it keeps every sample that passed within 50 "
        f"proposals per wanted image, and `added` is smaller), or that discriminator rejection sampling accepts (`gankit.sampling`, "
        f"γ {'the default 95th percentile' if study.gamma is None else f'= {study.gamma:g}'}, D recalibrated on "
        f"{study.calibration_n} images of the cut training data, all the rare class's among them: no image outside it); "
        f"(f) the same recipe plus {low}. Synthetic intra-FID ↓ (fmnist features, the first {study.quality_n} added images "
        f"vs the test images of the class) and class consistency ↑ (the shipped classifier agrees with the class) describe "
        f"the added images; GAN training is wall-clock ({threads} torch thread per process).\n\n"
    )
    carried = carried or Carried()
    if note:
        text += f"**Conditions of this run:** {note}\n\n"
    if carried.rows:
        text += carried.note() + "\n\n"
    text += _merged_table(study, cells, rows, gans, n_real, carried) + "\n\n"
    if plot_name:
        text += f"![rare-class recall per condition](images/{plot_name})\n\n"
    text += "**Target** (at 1 %: (d) or (e) raises rare-class recall over (a) by ≥ 10 points, beats (b) and (c), balanced " \
            "accuracy no lower than (a); differences ± their standard error over the seeds):\n\n"  # fmt: skip
    lines = [(c.level, k, v) for k, (c, v) in enumerate(zip(cells, verdicts(study, cells, rows)))]
    lines += [(carried.levels[t], len(cells) + k, v) for k, (t, v) in enumerate(carried.verdicts.items())]
    text += "\n".join(v for *_, v in sorted(lines)) + "\n\n**Where synthetic samples help (from the numbers above):**\n\n"
    found = [(lv, k, ln) for k, (lv, ln) in enumerate((lv, ln) for lv, lns in carried.findings.items() for ln in lns)]
    found += [(float(re.match(r"- At ([\d.]+) %", ln).group(1)), len(found) + k, ln) for k, ln in enumerate(findings(study, cells, rows))]
    text += "\n".join(ln for *_, ln in sorted(found)) or "- no complete rows yet."
    levels = across_levels(_recall_means(study, cells, rows, carried))
    if levels:
        text += "\n\n**From one level to the next** (rare-class recall means, a carried row's as the table prints it; the best GAN " \
                "condition of (d), (e), (f)):\n\n"  # fmt: skip
        text += "\n".join(levels)
    return text + "\n"
