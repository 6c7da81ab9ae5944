"""The ``gankit`` command line. User errors print one clear message and exit 2, never a traceback."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gankit.errors import GankitError

RECIPE_DIRS = [Path.cwd() / "configs", Path(__file__).resolve().parent.parent / "configs"]
EXIT_USER_ERROR = 2
EXIT_DIVERGED = 3


def find_recipe(name_or_path: str) -> Path:
    """A path to a YAML file, or a recipe name from ``configs/`` (with or without ``.yaml``)."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    for d in RECIPE_DIRS:
        for cand in (d / name_or_path, d / f"{name_or_path}.yaml"):
            if cand.is_file():
                return cand
    from gankit.errors import ConfigError
    from gankit.core.registry import did_you_mean

    names = sorted({q.stem for d in RECIPE_DIRS if d.is_dir() for q in d.glob("*.yaml")})
    raise ConfigError(f"no recipe file {name_or_path!r}.{did_you_mean(p.stem, names)}")


def recipe_paths() -> list[Path]:
    seen: dict[str, Path] = {}
    for d in RECIPE_DIRS:
        if d.is_dir():
            for q in sorted(d.glob("*.yaml")):
                seen.setdefault(q.name, q)
    return [seen[k] for k in sorted(seen)]


# ---------------------------------------------------------------------------- commands


def cmd_train(args: argparse.Namespace) -> int:
    from gankit.config import load_config, load_raw, validate, apply_overrides
    from gankit.train.checkpoint import resolve_checkpoint
    from gankit.train.engine import find_resume, train

    overrides = list(args.set or [])
    if args.max_steps is not None:
        overrides.append(f"train.max_steps={args.max_steps}")
    if args.seed is not None:
        overrides.append(f"seed={args.seed}")
    cfg = load_config(find_recipe(args.config), overrides)

    resume_from: Path | None = None
    run_dir: Path | None = Path(args.out) if args.out else None
    if args.resume == "auto":
        if run_dir is None:  # newest run of this recipe that has a checkpoint
            runs = sorted(Path("runs").glob(f"{cfg.name}-*"), key=lambda p: p.stat().st_mtime, reverse=True)
            run_dir = next((r for r in runs if find_resume(r)), None)
        resume_from = find_resume(run_dir) if run_dir else None
        if resume_from is None:
            print(f"--resume auto: no checkpoint found{f' in {run_dir}' if run_dir else ''}; starting fresh.", file=sys.stderr)
    elif args.resume:
        resume_from = resolve_checkpoint(args.resume)
        run_dir = run_dir or resume_from.parent.parent
    if run_dir is None:
        run_dir = Path("runs") / f"{cfg.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if resume_from is not None:
        print(f"resuming from {resume_from}", file=sys.stderr)
        # The checkpoint's own recipe wins for what shapes the networks; budgets come from the command.
        from gankit.train.checkpoint import load_checkpoint

        saved = load_checkpoint(resume_from).state["config"]
        raw = apply_overrides(load_raw(find_recipe(args.config)), overrides)
        for section in ("data", "model", "loss"):
            if validate(raw).model_dump(mode="json")[section] != saved[section]:
                from gankit.errors import CheckpointError

                raise CheckpointError(
                    f"the recipe's '{section}' section differs from the one {resume_from} was trained with; "
                    f"resume with that run's config.yaml ({run_dir / 'config.yaml'})."
                )

    result = train(cfg, run_dir, resume_from)
    if result.checkpoint is None:  # not rank 0 under DDP
        return 0
    print(f"\n{result.status} at step {result.step}")
    print(f"  run folder:  {result.run_dir}")
    print(f"  samples:     {result.grid}")
    print(f"  checkpoint:  {result.checkpoint}")
    print(f"  metrics:     {result.run_dir / 'metrics.jsonl'}")
    print(f"  tensorboard: tensorboard --logdir {result.run_dir / 'tb'}")
    if result.status == "interrupted":
        print(f"  resume with: gankit train {args.config} --out {result.run_dir} --resume auto")
        return 128 + (result.signal or 2)  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    from gankit.inference import load, mixture_means, requested_labels, write_samples

    gen = load(args.run)
    classes = [int(x) for x in args.classes.split(",") if x.strip()] if args.classes else None
    labels = requested_labels(args.n, gen.signature["num_classes"], args.klass, classes, args.per_class)
    n = args.n if labels is None else len(labels)
    samples = gen.sample(n, seed=args.seed, classes=labels, truncation=args.truncation)
    out = write_samples(samples, args.out, mixture_means(gen.cfg), labels, gen.class_names)
    extra = f", labels in {out.with_suffix('.labels.npy')}" if labels is not None and out.suffix == ".npy" else ""
    print(f"wrote {n} samples from {gen.path} (step {gen.step}, {gen.weights}) to {out}{extra}")
    return 0


def cmd_data_fetch(args: argparse.Namespace) -> int:
    from gankit.data.fetch import fetch

    path = fetch(args.name, args.root)
    print(f"{args.name} ready in {path}")
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    import yaml

    rows = []
    for p in recipe_paths():
        raw = yaml.safe_load(p.read_text()) or {}
        rows.append((p.stem, str(raw.get("description", "")).strip().splitlines()[0] if raw.get("description") else ""))
    width = max((len(r[0]) for r in rows), default=0)
    for name, desc in rows:
        print(f"{name:<{width}}  {desc}")
    return 0


def _is_run(path: Path) -> bool:
    return (path / "state.json").is_file() or (path / "checkpoints").is_dir()


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    import torch

    from gankit.metrics import evaluate

    target = Path(args.target)
    mixture, data_root, out_dir = None, None, Path(args.out) if args.out else None
    ref, extractor, labels, task_metrics = args.ref, args.extractor, None, None
    if target.is_dir() and _is_run(target):
        from gankit.data import data_spec
        from gankit.inference import load
        from gankit.train.eval_hook import default_reference

        gen = load(target)
        cfg = gen.cfg
        print(f"sampling {args.n} from {gen.path} (step {gen.step}, {gen.weights})", file=sys.stderr)
        k = gen.signature["num_classes"]
        # a conditional model: every class equally often (class-balanced, as CAS and intra-class FID want)
        labels = torch.arange(args.n) % k if k else None
        samples = gen.sample(args.n, seed=args.seed, classes=labels)
        task_metrics = ",".join(m for m in ("fid", "kid", "pr", "classes", "class_consistency", "intra_fid")) if k else None
        spec = data_spec(cfg.data.name)
        mixture = cfg.data.name if spec.mixture(cfg.data) is not None else None
        ref = ref or default_reference(cfg) or "fashion-mnist:test"
        data_root = cfg.data.root if spec.has_labels else None
        out_dir = out_dir or (gen.path.parent.parent / "eval" / gen.path.name)
    else:
        samples = target
        ref = ref or "fashion-mnist:test"
        mixture = args.mixture
    metrics = args.metrics or task_metrics
    if metrics is None:
        vector = hasattr(samples, "dim") and samples.dim() == 2
        metrics = "coverage" if (vector or mixture) else "fid,kid,is,pr,classes"
    report = evaluate(
        samples, metrics, extractor=extractor, ref=ref, n=args.n, seed=args.seed, device=args.device,
        out_dir=out_dir, mixture=mixture, inception_weights=args.inception_weights, data_root=data_root,
        train_ref=args.train_ref, progress=not args.json, labels=labels if labels is not None else args.labels,
    )  # fmt: skip
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.format_table())
        for name, path in report.artifacts.items():
            print(f"{name}: {path}")
    return 0


def cmd_features_train(args: argparse.Namespace) -> int:
    from gankit.metrics import train_fmnist_classifier
    from gankit.metrics.extractors.fmnist import DEFAULT_WEIGHTS
    from gankit.metrics.extractors.train_fmnist import DEFAULT_EPOCHS

    out = Path(args.out) if args.out else DEFAULT_WEIGHTS
    meta = train_fmnist_classifier(out, epochs=args.epochs or DEFAULT_EPOCHS, seed=args.seed, device=args.device)
    print(f"wrote {out}: test accuracy {meta['test_accuracy']:.4f}, sha256 {meta['sha256'][:16]}...")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from gankit.diagnostics.doctor import diagnose, summary_text, write_report

    rep = diagnose(args.run)
    path = write_report(args.run, args.out, report=rep)
    print(summary_text(rep))
    print(f"  report:    {path}")
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    from gankit.diagnostics.recommend import format_recommendation, recommend

    print(format_recommendation(recommend(args.task, args.data_size, args.quality, args.realtime, configs_dir=RECIPE_DIRS)))
    return 0


# ---------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="gankit", description="Train, evaluate, diagnose and serve GANs.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train a recipe")
    p.add_argument("config", help="recipe YAML path or name from configs/ (see `gankit recipes`)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config value, e.g. train.batch_size=128")
    p.add_argument("--out", help="run folder (default runs/<recipe>-<timestamp>)")
    p.add_argument("--max-steps", type=int, help="generator steps to train for")
    p.add_argument("--resume", metavar="auto|PATH", help="continue from the newest checkpoint (auto) or a given one")
    p.add_argument("--seed", type=int)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("sample", help="draw samples from a trained generator")
    p.add_argument("run", help="run folder or checkpoint folder")
    p.add_argument("--n", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help=".png (grid / scatter) or .npy (uint8 NCHW images, float32 ND vectors)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--class", dest="klass", type=int, metavar="K", help="conditional models: every sample of class K")
    which.add_argument("--classes", metavar="0,3,7", help="conditional models: these classes, one grid row each")
    which.add_argument("--per-class", type=int, metavar="M", help="conditional models: M samples of every class")
    p.add_argument("--truncation", type=float, metavar="T", help="redraw noise entries with |z| > T (BigGAN's truncation trick)")
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("data", help="datasets")
    dsub = p.add_subparsers(dest="data_command", required=True)
    f = dsub.add_parser("fetch", help="fetch a dataset into the gankit data cache")
    f.add_argument("name", choices=["fashion-mnist", "mnist"])
    f.add_argument("--root", help="folder to put the files in (default: the gankit data cache)")
    f.set_defaults(func=cmd_data_fetch)

    p = sub.add_parser("recipes", help="list the shipped recipes")
    p.set_defaults(func=cmd_recipes)

    p = sub.add_parser("eval", help="FID/KID/IS/precision-recall/coverage/memorisation, with their protocol")
    p.add_argument("target", help="run folder, checkpoint folder, folder of images, or .npy from `gankit sample`")
    p.add_argument("--metrics", help="comma list of fid,kid,is,pr,classes,coverage,memorization,class_consistency,intra_fid,cas "
                   "(default: fid,kid,is,pr,classes; coverage for 2D; a conditional run adds class_consistency,intra_fid)")
    p.add_argument("--extractor", default="auto", choices=["auto", "fmnist", "inception"], help="auto: fmnist for 28x28 grayscale, else inception")
    p.add_argument("--n", type=int, default=10000, help="generated (and reference) samples")
    p.add_argument("--ref", help="reference: fashion-mnist:test (default), fashion-mnist:train, mnist:test, or a folder")
    p.add_argument("--train-ref", default="fashion-mnist:train", help="training set for memorization")
    p.add_argument("--mixture", choices=["ring8", "grid25"], help="for 2D samples given as .npy")
    p.add_argument("--labels", help="classes the samples were generated for (.npy, int64 N); default: SAMPLES.labels.npy beside a .npy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--inception-weights", help="pt_inception-2015-12-05 weights file, for offline Inception metrics")
    p.add_argument("--out", help="folder for report.json and pictures (default: RUN/eval/<checkpoint>)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("doctor", help="diagnose a run: report.html with curves, warnings and grids over time")
    p.add_argument("run", help="run folder")
    p.add_argument("--out", help="report path (default RUN/report.html)")
    p.set_defaults(func=cmd_doctor)

    from gankit.diagnostics.recommend import TASKS

    p = sub.add_parser("recommend", help="which recipe to start from, and why")
    p.add_argument("--task", required=True, choices=list(TASKS))
    p.add_argument("--data-size", type=int, required=True, help="number of training images")
    p.add_argument("--quality", choices=["high"])
    p.add_argument("--realtime", action="store_true", help="generation must be fast (small generator)")
    p.set_defaults(func=cmd_recommend)

    p = sub.add_parser("features", help="feature extractors for evaluation")
    fsub = p.add_subparsers(dest="features_command", required=True)
    f = fsub.add_parser("train", help="train the Fashion-MNIST feature extractor shipped with gankit")
    f.add_argument("dataset", choices=["fashion-mnist"])
    f.add_argument("--out", help="weights file (default: the packaged gankit/assets/fmnist_classifier.safetensors)")
    f.add_argument("--epochs", type=int, default=None)
    f.add_argument("--seed", type=int, default=0)
    f.add_argument("--device", default="cpu")
    f.set_defaults(func=cmd_features_train)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GankitError as e:
        from gankit.errors import TrainingDiverged

        print(f"gankit: error: {e}", file=sys.stderr)
        return EXIT_DIVERGED if isinstance(e, TrainingDiverged) else EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
