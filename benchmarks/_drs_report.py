"""The DRS benchmark's samplers and its tables: the 2D samplers per seed against the target, and
Fashion-MNIST with and without DRS."""

from __future__ import annotations

import numpy as np

from mode_collapse_2d import TARGET

RECIPE_FMNIST = "dcgan_fashion_mnist"
# (key, method, gamma, label); a key "drs_pNN" sets γ to the NN-th percentile of F instead of the default 95th.
METHODS_2D = [("plain", "none", None, "plain sampling"), ("drs", "drs", None, "DRS, default γ (95th percentile of F)"),
              ("drs_p80", "drs", None, "DRS, γ at the 80th percentile"), ("drs_p99", "drs", None, "DRS, γ at the 99th percentile"),
              ("drs_exact", "drs", 0.0, "DRS, γ = 0 (the exact rule)"), ("mh", "mh", None, "MH-GAN (chains of 100)")]  # fmt: skip
GAMMA_PERCENTILE = 95.0


def percentile_of(key: str) -> float:
    """The γ percentile a row asks for (``drs_p80`` -> 80), else DRS's default."""
    return float(key[len("drs_p"):]) if key.startswith("drs_p") else GAMMA_PERCENTILE


FMNIST_LABELS = {"none": "plain sampling", "drs": "DRS, default γ", "mh": "MH-GAN (chains of 100)"}


def meets(r: dict) -> bool:
    return r["modes_covered"] == r["n_modes"] and r["hq_fraction"] >= TARGET["hq"] and r["reverse_kl"] is not None \
        and r["reverse_kl"] <= TARGET["rkl"]  # fmt: skip


def _ms(v: list[float], scale: float = 1.0, digits: int = 3) -> str:
    v = [x for x in v if x is not None]
    if not v:
        return "—"
    a = np.asarray(v, dtype=np.float64) * scale
    return f"{a.mean():.{digits}f} ± {a.std(ddof=1) if len(a) > 1 else 0.0:.{digits}f}"


def kl_text(v: float | None) -> str:
    return "— (no HQ sample)" if v is None else f"{v:.3f}"


def report_2d(results: dict[int, list[dict]]) -> str:
    from _report import table

    rows, lines = [], []
    for key, _, _, label in METHODS_2D:
        rs = [r for seed in sorted(results) for r in results[seed] if r["row"] == key]
        if not rs:
            continue
        ok = [meets(r) for r in rs]
        rows.append([label, _ms([r["modes_covered"] for r in rs], digits=1), _ms([r["hq_fraction"] for r in rs], 100, 1),
                     _ms([r["reverse_kl"] for r in rs]), _ms([r["acceptance_rate"] for r in rs], 100, 2),
                     f"{sum(ok)}/{len(ok)}", _ms([r["sampling_seconds"] for r in rs], digits=1)])  # fmt: skip
        per_seed = "; ".join(f"seed {r['seed']}: {r['modes_covered']}/{r['n_modes']}, {100 * r['hq_fraction']:.1f} % HQ, "
                             f"rKL {kl_text(r['reverse_kl'])}" + (" ✓" if o else " ✗") for r, o in zip(rs, ok))  # fmt: skip
        gap = ""
        if not all(ok):
            worst_hq = min(r["hq_fraction"] for r in rs)
            worst_kl = max((r["reverse_kl"] for r in rs if r["reverse_kl"] is not None), default=None)
            gap = (f" How far: lowest HQ {100 * worst_hq:.1f} % (target 95), fewest modes {min(r['modes_covered'] for r in rs)}/25, "
                   f"largest reverse KL {kl_text(worst_kl)} (target 0.02).")  # fmt: skip
        lines.append(f"- **{label}**: target {'met' if all(ok) else 'not met'} on {sum(ok)}/{len(ok)} seeds — {per_seed}.{gap}")
    head = ["sampler", "modes (of 25)", "HQ %", "reverse KL", "acceptance %", "seeds meeting the target", "sampling s"]
    return table(head, rows) + "\n\n" + "\n".join(lines)


def report_fmnist(rows: list[dict]) -> str:
    from _report import table

    if not rows:
        return "Not run (`--skip-fmnist`)."
    body = table(["sampler", "FID", "precision", "recall", "acceptance %", "proposed", "sampling s"],
                 [[FMNIST_LABELS.get(r["method"], r["method"]), r["fid"], r["precision"], r["recall"],
                   None if r["acceptance_rate"] is None else 100 * r["acceptance_rate"], r["proposed"], r["sampling_seconds"]]
                  for r in rows])  # fmt: skip
    base = next((r for r in rows if r["method"] == "none"), None)
    lines = [f"- **{FMNIST_LABELS.get(r['method'], r['method'])}** against plain sampling: FID {r['fid'] - base['fid']:+.2f}, precision "
             f"{r['precision'] - base['precision']:+.3f}, recall {r['recall'] - base['recall']:+.3f}."
             for r in rows if base and r is not base]  # fmt: skip
    steps = rows[0].get("train_steps")
    trained = f"`{RECIPE_FMNIST}` trained {steps} steps in {rows[0]['train_seconds'] / 60:.1f} min" if steps else "the given run"
    held = next((r["held_out"] for r in rows if r.get("held_out")), None)
    return (f"{trained}; one sample set of each sampler (seed 0)" + (f"; D recalibrated on {held}" if held else "") + ".\n\n"
            + body + "\n\n" + "\n".join(lines))
