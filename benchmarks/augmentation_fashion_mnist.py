"""When do GAN samples help a rare class? Fashion-MNIST with one class cut to 1 % and 5 % of its images.

For each rare class (shirt, sandal, bag) and level (1 % = 60, 5 % = 300 training images), the fixed
classifier of :mod:`gankit.augment.classifier` is trained for each seed on (a) the imbalanced real
data, (b) + random oversampling, (c) + classical augmentation, (d) + samples of a conditional GAN
trained on the same imbalanced data only, (e) (d) filtered by the (a) classifier's confidence and,
separately, by discriminator rejection sampling, (f) + samples of the same GAN trained with
DiffAugment (or ADA), and scored on the real test split. The GANs are trained once per class and
level (``--minutes`` each) and reused by every condition and seed; every result is cached under
``--out`` (keyed by its settings) and kept in ``--results`` (benchmarks/results/augmentation, in
git), so a rerun, in this checkout or a new one, does only what is missing, and ``--parallel`` runs
that many single-thread worker processes. The section shows every kept cell of the current
settings, and carries the document's own earlier rows of any other cell (dated): ``--levels 5``
alone adds the 5 % rows beside the 1 % ones. The table, the verdicts against the issue's target and a
recall plot go to docs/benchmarks.md; ``--tiny`` runs a seconds-long configuration, prints its
report and writes nothing under docs/.

Compute at the defaults: 12 GAN trainings of ``--minutes`` each, and 126 classifier trainings of about
3 single-thread CPU minutes each (60,000 images, 5 epochs; measured 3.3 s per 6,000 images and epoch on
a shared 2-core machine), plus the filters and metrics: about 4 hours with ``--parallel 2`` on 2 cores.
``--levels 1`` (the target's level) alone takes about half; interrupted runs resume from the cache.

    python benchmarks/augmentation_fashion_mnist.py [--minutes 10] [--classes shirt,sandal,bag] [--levels 1,5]
        [--seeds 3] [--parallel 2] [--recipe tacgan_fashion_mnist] [--low-data diffaugment|ada] [--note TEXT]
    python benchmarks/augmentation_fashion_mnist.py --tiny [--data-root TESTS_IDX_FOLDER]
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _augment_jobs import (  # noqa: E402
    CONDITIONS, GAN_OF, ROOT, Cell, Study, cell_dir, gan_key, judge_path, lookup, n_real, read_cached, row_key, row_path, run_job, save,
)  # fmt: skip

RESULTS = ROOT / "benchmarks" / "results" / "augmentation"
SECTION = "GAN data augmentation for a rare class (benchmarks/augmentation_fashion_mnist.py)"
PLOT = "augmentation_recall.png"
NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
# A few hundred Fashion-MNIST images (or the tests' fixture folder), tiny nets, a few steps: seconds.
TINY_GAN = ("model.z_dim=8", "model.generator.base_channels=4", "model.discriminator.base_channels=4", "train.batch_size=16")


def class_id(text: str) -> tuple[int, str]:
    """A Fashion-MNIST class by id or name (``shirt``, ``ankle-boot``, ``t-shirt``...), as (id, short name)."""
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    norm = [re.sub(r"[^a-z0-9]", "", n.lower()) for n in NAMES]
    if key.isdigit() and int(key) < len(NAMES):
        k = int(key)
    elif key in norm:
        k = norm.index(key)
    else:
        hits = [i for i, n in enumerate(norm) if key and n.startswith(key)]
        if len(hits) != 1:
            raise SystemExit(f"--classes: {text!r} is not a Fashion-MNIST class; use an id 0-9 or one of "
                             f"{', '.join(n.lower() for n in NAMES)}.")  # fmt: skip
        k = hits[0]
    return k, re.sub(r"[^a-z0-9]+", "-", NAMES[k].lower()).strip("-")


def plan(study: Study, cells: list[Cell], seeds: list[int]) -> list[tuple[tuple, list[tuple]]]:
    """Every job with the jobs it needs first: the GANs, then each row (the confidence filter needs (a)'s model)."""
    jobs: list[tuple[tuple, list[tuple]]] = []
    for cell in cells:
        for kind in ("gan", "lowdata"):
            jobs.append((("gan", study, cell, kind), []))
    for seed in seeds:
        for cell in cells:
            for cond, _ in CONDITIONS:
                deps = [("gan", study, cell, GAN_OF[cond])] if cond in GAN_OF else []
                if cond == "gan_conf":
                    deps.append(("row", study, cell, "real", seed))
                jobs.append((("row", study, cell, cond, seed), deps))
    return jobs


def prune(study: Study, jobs: list[tuple[tuple, list[tuple]]]) -> list[tuple[tuple, list[tuple]]]:
    """Only the jobs whose results are neither cached nor kept, and the ones they need: a new checkout
    with every row kept trains no GAN. Row (a) reruns where its kept result lacks the saved classifier
    a missing confidence row needs."""

    def have(cell: Cell, cond: str, seed: int) -> bool:
        return lookup(study, row_path(study, cell, cond, seed), row_key(study, cell, cond, seed)) is not None

    need: set[tuple] = set()
    for job, _ in jobs:
        if job[0] == "row":
            _, _, cell, cond, seed = job
            if not have(cell, cond, seed) or (cond == "real" and not judge_path(study, cell, seed).is_file()
                                              and not have(cell, "gan_conf", seed)):  # fmt: skip
                need.add(job)
    deps = dict(jobs)
    need |= {d for job in list(need) for d in deps[job] if d[0] == "gan"}
    return [(job, [d for d in ds if d in need]) for job, ds in jobs if job in need]


def keep(study: Study, cells: list[Cell], seeds: list[int]) -> None:
    """Copy the cache's results of ``cells`` into ``study.results`` (also those cached before results were kept)."""
    if not study.results:
        return
    for cell in cells:
        found = [(cell_dir(study, cell) / f"{kind}.json", gan_key(study, cell, kind)) for kind in ("gan", "lowdata")]
        found += [(row_path(study, cell, c, s), row_key(study, cell, c, s)) for c, _ in CONDITIONS for s in seeds]
        for path, key in found:
            res = read_cached(path, key)
            if res:
                save(study, path, res)


def kept_cells(study: Study, cells: list[Cell]) -> list[Cell]:
    """Cells this run does not run whose results are kept (the report shows them; their keys are checked there)."""
    if not study.results or not Path(study.results).is_dir():
        return []
    out = []
    for d in sorted(Path(study.results).iterdir()):
        m = re.fullmatch(r"(.+)-([\d.]+)pct", d.name)
        if m and d.is_dir():
            k, name = class_id(m.group(1))
            cell = Cell(k, name, float(m.group(2)))
            if cell not in cells:
                out.append(cell)
    return out


def describe(job: tuple, res: dict) -> str:
    if job[0] == "gan":
        return f"GAN {job[2].tag}/{job[3]}: {res['steps']} steps, {res['seconds'] / 60:.1f} min ({res['status']})"
    head = f"{job[2].tag} {job[3]:10s} seed {job[4]}"
    if "error" in res:
        return f"{head}: no classifier ({res['error'][:120]})"
    m = res["metrics"]
    return (f"{head}: +{res.get('n_added', 0)} → rare recall {m['rare_recall']:.3f}, precision {m['rare_precision']:.3f}, "
            f"balanced acc {m['balanced_accuracy']:.3f}")  # fmt: skip


def run_all(jobs: list[tuple[tuple, list[tuple]]], parallel: int) -> list[str]:
    """Run the jobs, dependencies first; a failed job fails its dependants but not the rest. Returns the failures."""
    done: set[tuple] = set()
    failed: dict[tuple, str] = {}

    def blocked(deps: list[tuple]) -> str | None:
        bad = [d for d in deps if d in failed]
        return f"needs {bad[0][0]} {bad[0][2].tag} {bad[0][3]}, which failed" if bad else None

    if parallel <= 1:
        for job, deps in jobs:
            why = blocked(deps)
            if why:
                failed[job] = why
                continue
            try:
                print(describe(job, run_job(job)), flush=True)
                done.add(job)
            except Exception as e:  # noqa: BLE001 - one bad job must not lose the others' hours
                failed[job] = f"{type(e).__name__}: {e}"
                print(f"FAILED {job[0]} {job[2].tag} {job[3:]}: {failed[job]}", flush=True)
        return list(failed.values())

    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    os.environ["OMP_NUM_THREADS"] = "1"  # the spawned workers inherit it
    pending = list(jobs)
    running: dict = {}
    with ProcessPoolExecutor(max_workers=parallel, mp_context=mp.get_context("spawn")) as pool:
        while pending or running:
            for item in list(pending):
                job, deps = item
                if blocked(deps):
                    failed[job] = blocked(deps)  # type: ignore[assignment]
                    pending.remove(item)
                elif all(d in done for d in deps) and len(running) < parallel:
                    running[pool.submit(run_job, job)] = job
                    pending.remove(item)
            if not running:  # nothing can start: a dependency that is not a job (a planning bug), never loop on it
                failed.update({job: "its dependencies never ran" for job, _ in pending})
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                job = running.pop(fut)
                try:
                    print(describe(job, fut.result()), flush=True)
                    done.add(job)
                except Exception as e:  # noqa: BLE001
                    failed[job] = f"{type(e).__name__}: {e}"
                    print(f"FAILED {job[0]} {job[2].tag} {job[3:]}: {failed[job]}", flush=True)
    return list(failed.values())


def parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0, help="training budget of each GAN")
    ap.add_argument("--classes", default=None, help="rare classes, names or ids (default shirt,sandal,bag; --tiny: shirt)")
    ap.add_argument("--levels", default=None, help="percent of the rare class's training images kept (default 1,5; --tiny: 20)")
    ap.add_argument("--seeds", type=int, default=None, help="classifier seeds 0..N-1 (default 3; --tiny: 2)")
    ap.add_argument("--parallel", type=int, default=None, help="worker processes, one torch thread each (default 2; --tiny: 1)")
    ap.add_argument("--recipe", default="tacgan_fashion_mnist", help="the conditional GAN recipe (configs/)")
    ap.add_argument("--low-data", choices=["diffaugment", "ada"], default="diffaugment", help="the trick of condition (f)")
    ap.add_argument("--balance", action="store_true", help="train the GANs with class-balanced sampling (data.balance)")
    ap.add_argument("--epochs", type=int, default=None, help="classifier epochs (default: the classifier's fixed recipe)")
    ap.add_argument("--confidence", type=float, default=None, help="threshold of the confidence filter (default 0.9; --tiny: 0.05)")
    ap.add_argument("--gamma", type=float, default=None, help="DRS gamma (default: its 95th-percentile rule; --tiny: -10)")
    ap.add_argument("--n-add", type=int, default=None, help="images each condition adds (default: up to the median class size)")
    ap.add_argument("--out", default=None, help="cache folder (default runs/bench-augment; --tiny: a temporary one)")
    ap.add_argument("--results", default=None, help="folder that keeps every result JSON (default benchmarks/results/augmentation; "
                    "--tiny: none); 'none' keeps none")  # fmt: skip
    ap.add_argument("--data-root", default=None, help="folder of the Fashion-MNIST IDX files (default: gankit's search)")
    ap.add_argument("--tiny", action="store_true", help="a tiny configuration in seconds; prints, writes nothing under docs/")
    ap.add_argument("--note", default="", help="conditions of this run to print above the table")
    return ap.parse_args(argv)


def make_study(args: argparse.Namespace) -> tuple[Study, list[Cell], list[int]]:
    from gankit.augment.classifier import EPOCHS

    tiny = args.tiny
    classes = [class_id(c) for c in (args.classes or ("shirt" if tiny else "shirt,sandal,bag")).split(",") if c.strip()]
    levels = [float(x) for x in (args.levels or ("20" if tiny else "1,5")).split(",") if x.strip()]
    args.seeds = args.seeds or (2 if tiny else 3)
    args.parallel = args.parallel or (1 if tiny else 2)
    if not classes or not levels or any(not 0 < lv <= 100 for lv in levels):
        raise SystemExit("--classes and --levels need at least one entry each; a level is a percent in (0, 100].")
    if args.seeds < 1 or args.parallel < 1:
        raise SystemExit("--seeds and --parallel are at least 1.")
    # --tiny's networks are untrained noise: thresholds that let its filters keep samples, so every path runs.
    confidence = args.confidence if args.confidence is not None else 0.05 if tiny else 0.9
    gamma = args.gamma if args.gamma is not None else -10.0 if tiny else None
    common = dict(recipe=args.recipe, low_data=args.low_data, balance=args.balance, confidence=confidence, gamma=gamma,
                  n_add=args.n_add, data_root=args.data_root)  # fmt: skip
    if args.tiny:
        # The fixture folder has 256 training images; real Fashion-MNIST is cut to its first 600.
        out = args.out or tempfile.mkdtemp(prefix="gankit-augment-tiny-")
        study = Study(out=out, steps=20, gan_overrides=TINY_GAN, epochs=args.epochs or 3, quality_n=64, calibration_n=64,
                      burn_in=256, limit=None if args.data_root else 600, test_limit=None if args.data_root else 300,
                      minutes=args.minutes, **common)  # fmt: skip
    else:
        study = Study(out=args.out or str(ROOT / "runs" / "bench-augment"), minutes=args.minutes, epochs=args.epochs or EPOCHS,
                      results=str(RESULTS), **common)  # fmt: skip
    if args.results:
        study = replace(study, results=None if args.results == "none" else args.results)
    if not (ROOT / "configs" / f"{study.recipe}.yaml").is_file():
        raise SystemExit(f"--recipe: no configs/{study.recipe}.yaml")
    cells = [Cell(k, name, lv) for lv in levels for k, name in classes]
    return study, cells, list(range(args.seeds))


def main(argv: list[str] | None = None) -> str:
    args = parse(argv)
    study, cells, seeds = make_study(args)
    import torch

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    failures = run_all(prune(study, plan(study, cells, seeds)), args.parallel)
    keep(study, cells, seeds)

    from _augment_carry import previous
    from _augment_report import body, collect, plot
    from _report import DOC

    shown = cells + kept_cells(study, cells)
    rows, gans = collect(study, shown, seeds)
    shown = [c for c in shown if c in cells or any(rows[(c.tag, cond)] for cond, _ in CONDITIONS)]  # kept under other settings: not shown
    carried = previous(DOC, SECTION, {c.tag for c in shown}) if not args.tiny else None
    counts = {c.tag: n_real(study, c) for c in shown}
    img_dir = Path(study.out) if args.tiny else ROOT / "docs" / "images"
    picture = plot(study, shown, rows, img_dir / PLOT, carried)
    text = body(study, shown, seeds, rows, gans, counts, picture.name if picture else None, note=args.note, carried=carried)
    if failures:
        text += "\n**Jobs that failed in this invocation:** " + "; ".join(sorted(set(failures)))[:2000] + "\n"
    print(text)
    print(f"({(time.perf_counter() - t0) / 60:.1f} min; cache {study.out})", flush=True)
    if not args.tiny:
        from _report import write_section

        print("wrote", write_section(SECTION, text, omit=("--note",)))
    return text


if __name__ == "__main__":
    main()
