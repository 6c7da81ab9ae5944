"""What each ``gankit`` subcommand does; arguments arrive checked (:mod:`gankit.cli.args`)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gankit.cli.args import MAX_SAMPLES
from gankit.cli.recipes import RECIPE_DIRS, find_recipe, recipe_paths
from gankit.errors import ConfigError

# ---------------------------------------------------------------------------- commands


def cmd_train(args: argparse.Namespace) -> int:
    from gankit.config import load_config, load_raw, validate, apply_overrides
    from gankit.train.checkpoint import find_resume, list_checkpoints, resolve_checkpoint
    from gankit.train.engine import train

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
            run_dir = next((r for r in runs if list_checkpoints(r / "checkpoints")), None)
        resume_from = find_resume(run_dir) if run_dir else None  # warns about each corrupt one it passes over
        if resume_from is None:
            print(f"--resume auto: no checkpoint found{f' in {run_dir}' if run_dir else ''}; starting fresh.", file=sys.stderr)
    elif args.resume:
        resume_from = resolve_checkpoint(args.resume)  # a run folder: its newest intact checkpoint
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
    from gankit.cli.export import is_export_dir, sample_export

    reject = getattr(args, "reject", None)
    if reject is None and getattr(args, "gamma", None) is not None:
        raise ConfigError("--gamma tunes discriminator rejection sampling; add --reject drs.")
    if reject is not None:
        from gankit.sampling.critic import refuse_export

        refuse_export(args.run)  # before the export path below: an export has no D to reject with
        if args.truncation is not None or args.psi != 1.0:
            raise ConfigError("--reject corrects G's own samples; --truncation/--psi change them first. Use one or the other.")
    if is_export_dir(args.run):  # an export folder: ONNX Runtime (or the safetensors rebuild), not the run's checkpoint
        return sample_export(args)
    from gankit.inference import load, mixture_means, requested_labels, write_samples

    gen = load(args.run)
    labels = requested_labels(args.n, gen.signature["num_classes"], args.klass, args.classes, args.per_class)
    n = args.n if labels is None else len(labels)
    if n > MAX_SAMPLES:
        raise ConfigError(f"--per-class {args.per_class} x {gen.signature['num_classes']} classes is {n:,} samples; at most {MAX_SAMPLES:,}.")
    note = ""
    if reject is not None:
        from gankit.sampling import rejection_sample

        r = rejection_sample(gen, n, reject, seed=args.seed, classes=labels, gamma=args.gamma, chain_length=args.chain_length)
        samples, note = r.samples, f"; {reject}: {_rejection_summary(r)}"
    else:
        samples = gen.sample(n, seed=args.seed, classes=labels, truncation=args.truncation, psi=args.psi)
    out = write_samples(samples, args.out, mixture_means(gen.cfg), labels, gen.class_names)
    extra = f", labels in {out.with_suffix('.labels.npy')}" if labels is not None and out.suffix == ".npy" else ""
    print(f"wrote {n} samples from {gen.path} (step {gen.step}, {gen.weights}) to {out}{extra}{note}")
    return 0


def _rejection_summary(r) -> str:  # noqa: ANN001 - a gankit.sampling.RejectionResult
    what = "accepted" if r.method == "drs" else "moves accepted"
    gamma = f", gamma {r.gamma:.3g}" if r.gamma is not None else f", chain length {r.details['chain_length']}"
    return f"acceptance rate {r.acceptance_rate:.1%} ({r.accepted:,} {what} of {r.proposed:,} proposals{gamma})"


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


def cmd_checkpoints(args: argparse.Namespace) -> int:
    from gankit.train.checkpoint import describe_checkpoints, newest_good

    cdir = args.run / "checkpoints" if (args.run / "checkpoints").is_dir() else args.run
    infos = describe_checkpoints(cdir)
    if not infos:
        raise ConfigError(f"no checkpoints in {cdir} (a run folder has checkpoints/step-XXXXXX/).")
    pick = newest_good(cdir, warn=lambda _m: None)
    width = max(len(i.path.name) for i in infos)
    print(f"{'checkpoint':<{width}}  {'step':>9}  {'size':>10}  status")
    for i in infos:
        step = f"{i.step:,}" if i.step is not None else "-"
        mark = "   <- --resume auto" if pick is not None and i.path == pick else ""
        print(f"{i.path.name:<{width}}  {step:>9}  {i.bytes / 1e6:>8.2f} MB  {i.status}{mark}")
    bad = sum(i.problem is not None for i in infos)
    print(f"{len(infos)} checkpoint(s) in {cdir}, {bad} corrupt" + (" (left in place: delete them by hand once you have checked)" if bad else ""))
    return 0


def cmd_latent(args: argparse.Namespace) -> int:
    from gankit.inference import load
    from gankit.latent import tools

    gen = load(args.run)
    if args.latent_command == "interpolate":
        images, nrow = tools.interpolate(gen, args.seed_from, args.seed_to, args.steps, args.space, args.klass), None
        what = f"{args.steps} steps from seed {args.seed_from} to {args.seed_to} in {args.space}"
    elif args.latent_command == "truncation":
        images = tools.truncation_grid(gen, args.seeds, args.psi, args.klass)
        nrow, what = len(args.psi), f"seeds {args.seeds} (rows) at psi {args.psi} (columns)"
    elif args.latent_command == "project":
        return _project(gen, args)
    elif args.latent_command == "edit":
        from gankit.latent.directions import edit_grid, load_direction

        images = edit_grid(gen, load_direction(gen, args.direction), args.seeds, args.strength, args.steps)
        nrow, what = args.steps, f"seeds {args.seeds} (rows) along {args.direction} from -{args.strength:g} to +{args.strength:g}"
    else:
        images = tools.style_mix(gen, args.rows, args.cols, args.layers, args.klass)
        nrow, what = 1 + len(args.cols), f"rows {args.rows} with the {args.layers} styles of columns {args.cols}"
    out = tools.write_frames(images, args.out, nrow=nrow)
    print(f"wrote {out}: {what} ({gen.path}, step {gen.step}, {gen.weights})")
    return 0


def _project(gen, args: argparse.Namespace) -> int:  # noqa: ANN001
    import json

    import torch
    from safetensors.torch import save_file

    from gankit.data.folder import load_image_uint8
    from gankit.latent import tools
    from gankit.latent.projection import project
    from gankit.utils.images import to_uint8
    from gankit.utils.io import atomic_write, atomic_write_json

    c, _, size = gen.signature["output_shape"]
    try:
        target = load_image_uint8(args.image, size, c).float().div(127.5).sub(1).unsqueeze(0)
    except (OSError, ValueError, SyntaxError) as e:
        raise ConfigError(f"--image {args.image}: cannot read it as an image ({e}).") from None
    p = project(gen, target, steps=args.steps)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    tools.write_frames(to_uint8(torch.cat([target, p.image])), out / "reconstruction.png", nrow=2)
    tools.write_frames(to_uint8(torch.cat(p.history).clamp(-1, 1)), out / "progress.png")
    tensors = {p.space: p.latent.contiguous()} | {f"noise{i}": n.contiguous() for i, n in enumerate(p.noise or [])}
    atomic_write(out / "latent.safetensors", lambda tmp: save_file(tensors, tmp))
    atomic_write_json(out / "report.json", {"image": str(args.image), "run": str(gen.path), "step": gen.step, "space": p.space,
                                            "steps": args.steps, "rms_error_0_1": p.error})  # fmt: skip
    print(f"projected {args.image} into {p.space} ({args.steps} steps): RMS error {p.error:.4f} on [0, 1]; "
          f"{out}/reconstruction.png, latent.safetensors, progress.png, report.json")
    return 0


def _is_run(path: Path) -> bool:
    return (path / "state.json").is_file() or (path / "checkpoints").is_dir()


def _truncation_sweep(args: argparse.Namespace, target: Path) -> int:
    import json

    from gankit.data import data_spec
    from gankit.inference import load
    from gankit.metrics.truncation_sweep import truncation_sweep
    from gankit.train.eval_hook import default_reference

    if not _is_run(target):
        raise ConfigError(f"--truncation-sweep samples a generator at each psi: give a run or checkpoint folder, not {target}.")
    if args.metrics:
        raise ConfigError("--truncation-sweep measures fid and pr at each psi; drop --metrics (or run it separately).")
    gen = load(target)
    ref = args.ref or default_reference(gen.cfg) or "fashion-mnist:test"
    data_root = gen.cfg.data.root if data_spec(gen.cfg.data.name).has_labels else None
    out = Path(args.out) if args.out else gen.path.parent.parent / "eval" / f"{gen.path.name}-truncation"
    sweep = truncation_sweep(gen, args.truncation_sweep, n=args.n, ref=ref, extractor=args.extractor, seed=args.seed,
                             out_dir=out, progress=not args.json, device=args.device, inception_weights=args.inception_weights,
                             data_root=data_root)  # fmt: skip
    if args.json:
        print(json.dumps({"rows": sweep.rows, "protocol": sweep.protocol, "files": sweep.files}, indent=2))
    else:
        print(sweep.table() + "\n\n" + sweep.protocol)
        best = sweep.best()
        print(f"lowest FID at psi {best['psi']:g}; wrote {', '.join(sweep.files.values())}")
    return 0


def _eval_translation(args: argparse.Namespace, gen) -> int:  # noqa: ANN001
    import json

    from gankit.metrics import restoration_eval as rest
    from gankit.metrics.translation_eval import evaluate_translation

    out_dir = Path(args.out) if args.out else gen.path.parent.parent / "eval" / gen.path.name
    print(f"translating up to {args.n} held-out inputs with {gen.path} (step {gen.step}, {gen.weights})", file=sys.stderr)
    evaluator = {"srgan": rest.evaluate_super_resolution, "inpaint": rest.evaluate_inpainting,
                 "stargan": rest.evaluate_domains}.get(gen.signature["task"], evaluate_translation)  # fmt: skip
    report = evaluator(gen, metrics=args.metrics, n=args.n, extractor=args.extractor, seed=args.seed, device=args.device,
                       out_dir=out_dir, inception_weights=args.inception_weights, lpips_weights=args.lpips_weights,
                       vgg_weights=args.vgg_weights)  # fmt: skip
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format_table())
    if not args.json:
        print(f"report: {out_dir / 'report.json'}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    import torch

    from gankit.metrics import evaluate

    target = Path(args.target)
    if args.truncation_sweep:
        return _truncation_sweep(args, target)
    mixture, data_root, out_dir = None, None, Path(args.out) if args.out else None
    ref, extractor, labels, task_metrics, gen = args.ref, args.extractor, None, None, None
    ppl = bool(args.metrics) and "ppl" in args.metrics.split(",")  # never a default metric
    if ppl:  # a bad similarity choice or LPIPS weights file fails before the run is loaded and sampled
        from gankit.metrics.ppl import check_similarity

        check_similarity(args.ppl_similarity, args.lpips_weights, args.vgg_weights,
                         device=args.device if _is_run(target) else None)  # fmt: skip
    if target.is_dir() and _is_run(target):
        from gankit.data import data_spec
        from gankit.inference import load
        from gankit.train.eval_hook import default_reference

        gen = load(target)
        if gen.is_translator:
            return _eval_translation(args, gen)
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
        generator=gen, ppl_similarity=args.ppl_similarity, lpips_weights=args.lpips_weights, vgg_weights=args.vgg_weights,
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


