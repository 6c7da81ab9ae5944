"""The truncation trade-off (Karras et al. 2019; Brock et al. 2019): FID, precision and recall per psi.

Truncating towards the average latent (w_avg + psi (w - w_avg) for a style-based G, z x psi
otherwise) makes samples more typical: precision rises while recall falls, and FID usually has a
minimum somewhere below psi = 1. One table row and one plot point per psi, every psi on the same
seeded latents and the same reference subset, so the rows differ by psi alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from gankit.errors import GankitError

DEFAULT_PSIS = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5)


@dataclass
class Sweep:
    rows: list[dict[str, float]]  # psi, fid, precision, recall
    protocol: str  # one line: extractor, n, reference, seed, space
    files: dict[str, str] = field(default_factory=dict)

    def best(self) -> dict[str, float]:
        """The row with the lowest FID."""
        return min(self.rows, key=lambda r: r["fid"])

    def table(self) -> str:
        lines = ["| psi | FID ↓ | precision ↑ | recall ↑ |", "|---|---|---|---|"]
        lines += [f"| {r['psi']:g} | {r['fid']:.2f} | {r['precision']:.3f} | {r['recall']:.3f} |" for r in self.rows]
        return "\n".join(lines)


def truncation_sweep(gen: Any, psis: Sequence[float] = DEFAULT_PSIS, n: int = 10000, ref: str = "fashion-mnist:test",
                     extractor: str = "fmnist", seed: int = 0, out_dir: str | Path | None = None,
                     progress: bool = False, **evaluate_kw: Any) -> Sweep:  # fmt: skip
    """FID / precision / recall of ``gen`` (a :func:`gankit.load` result) at each psi; with ``out_dir``,
    ``truncation_sweep.json``, ``.md`` and ``.png`` (the curves over psi, and precision against recall)."""
    from gankit.metrics import evaluate

    if not psis or any(not 0.0 <= p <= 1.0 for p in psis):
        raise GankitError(f"truncation sweep: psi values from 0 to 1, got {list(psis)}.")
    if gen.is_vector:
        raise GankitError("truncation sweep: FID and precision/recall need an image generator; this one makes 2D points.")
    rows = []
    proto = ""
    for i, psi in enumerate(psis):
        if progress:
            print(f"truncation sweep: psi {psi:g} ({i + 1}/{len(psis)})", flush=True)
        samples = gen.sample(n, seed=seed, psi=psi)  # a conditional G: every class in turn
        rep = evaluate(samples, "fid,pr", extractor=extractor, ref=ref, n=n, seed=seed, **evaluate_kw)
        rows.append({"psi": float(psi), "fid": float(rep.value("fid")), "precision": float(rep.value("precision")),
                     "recall": float(rep.value("recall"))})  # fmt: skip
        p = rep.get("fid").protocol
        proto = f"extractor {p.extractor} ({(p.extractor_hash or '')[:8]}), {p.n_generated} generated vs {p.n_reference} of {p.reference}"
    space = "w (w_avg + psi (w - w_avg))" if gen.is_style_based else "z (z x psi)"
    sweep = Sweep(rows, f"Truncation in {space}; the same {n} latents (seed {seed}) at every psi; FID and precision/recall: {proto}.")
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        (out / "truncation_sweep.json").write_text(json.dumps({"rows": rows, "protocol": sweep.protocol}, indent=2))
        (out / "truncation_sweep.md").write_text(sweep.table() + "\n\n" + sweep.protocol + "\n")
        sweep.files = {"json": str(out / "truncation_sweep.json"), "table": str(out / "truncation_sweep.md"),
                       "plot": str(plot_sweep(sweep, out / "truncation_sweep.png"))}  # fmt: skip
    return sweep


def plot_sweep(sweep: Sweep, path: str | Path) -> Path:
    """Left: FID, precision and recall over psi. Right: precision against recall, each point a psi."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from gankit.utils.images import save_figure

    psi = [r["psi"] for r in sweep.rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=120)
    a.plot(psi, [r["fid"] for r in sweep.rows], "o-", color="tab:red", label="FID (left axis)")
    a.set_xlabel("psi (1 = no truncation)")
    a.set_ylabel("FID ↓")
    a.invert_xaxis()
    a2 = a.twinx()
    a2.plot(psi, [r["precision"] for r in sweep.rows], "s--", color="tab:blue", label="precision")
    a2.plot(psi, [r["recall"] for r in sweep.rows], "^--", color="tab:green", label="recall")
    a2.set_ylabel("precision / recall")
    a2.set_ylim(0, 1)
    lines = a.get_lines() + a2.get_lines()
    a.legend(lines, [ln.get_label() for ln in lines], fontsize=7, loc="best")
    a.set_title("quality vs diversity over psi", fontsize=9)
    b.plot([r["recall"] for r in sweep.rows], [r["precision"] for r in sweep.rows], "o-", color="tab:purple")
    for r in sweep.rows:
        b.annotate(f"{r['psi']:g}", (r["recall"], r["precision"]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    b.set_xlabel("recall (diversity) ↑")
    b.set_ylabel("precision (fidelity) ↑")
    b.set_title("precision against recall, labelled by psi", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)


__all__ = ["DEFAULT_PSIS", "Sweep", "plot_sweep", "truncation_sweep"]
