"""``gankit export RUN --format onnx|torchscript|safetensors|triton --out DIR [--opset N] [--batch dynamic|N]
[--truncation PSI] [--direction AtoB|BtoA] [--model-name NAME]``, and ``gankit sample EXPORT_DIR`` (ONNX
Runtime, no gankit model code; a safetensors export is rebuilt by gankit instead).
"""

from __future__ import annotations

import argparse

from gankit.errors import ConfigError

FORMATS = ("onnx", "torchscript", "safetensors", "triton")


def _batch(text: str) -> int | str:
    if text.strip().lower() == "dynamic":
        return "dynamic"
    from gankit.cli.args import integer

    return integer(1, 65536, "samples per batch")(text)  # type: ignore[return-value]


def add_parser(sub, a) -> None:  # noqa: ANN001 - the subparsers action and gankit.cli.args
    p = sub.add_parser("export", help="export a run's generator to ONNX, TorchScript, safetensors or Triton (parity-checked)")
    p.add_argument("run", type=a.existing_dir("a run folder or checkpoint folder"), help="run folder or checkpoint folder")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--out", required=True, type=a.out_dir, help="folder for the model and signature.json (a Triton repository)")
    p.add_argument("--opset", type=a.integer(13, 30, "opset"), help="ONNX opset (default: the exporter's, recorded in the signature)")
    p.add_argument("--batch", type=_batch, default="dynamic", metavar="dynamic|N", help="a dynamic batch dimension (default) or a fixed N")
    p.add_argument("--truncation", type=a.real(0.0, 1.0), default=1.0, metavar="PSI",
                   help="style-based G: truncation psi baked into the export (1: none)")
    p.add_argument("--direction", choices=["AtoB", "BtoA"], help="CycleGAN runs: which generator (default AtoB)")
    p.add_argument("--model-name", default="gankit", type=_model_name, help="--format triton: the model's folder and name")
    p.set_defaults(func=cmd_export)


def _model_name(text: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", text) or text in (".", ".."):
        raise argparse.ArgumentTypeError(f"a Triton model name is letters, digits, '_', '-', '.' (1-64); got {text!r}")
    return text


def cmd_export(args: argparse.Namespace) -> int:
    from gankit.export import export

    done = export(args.run, args.format, args.out, opset=args.opset, batch=args.batch, truncation=args.truncation,
                  direction=args.direction, model_name=args.model_name)  # fmt: skip
    s = done.signature
    extra = f", opset {s['opset']}" if s["opset"] else ""
    names = ", ".join(f"{i['name']} {i['dtype']} {i['shape']}" for i in s["inputs"])
    print(f"wrote {done.model} and {done.path / 'signature.json'} ({s['exporter']}{extra}, batch {s['batch']}; "
          f"inputs {names} -> images {s['outputs'][0]['shape']})")  # fmt: skip
    if args.format == "triton":
        print(f"Triton model repository: {args.out} (tritonserver --model-repository {args.out})")
    return 0


def is_export_dir(path) -> bool:  # noqa: ANN001
    from gankit.export.runtime import is_export_dir as check

    return check(path)


def sample_export(args: argparse.Namespace) -> int:
    """``gankit sample`` of an export folder: the same images as ``gankit sample RUN`` with the same seed."""
    import torch

    from gankit.cli.args import MAX_SAMPLES
    from gankit.export.signature import read_signature
    from gankit.inference import requested_labels, write_samples

    _, sig = read_signature(args.run)
    labels = requested_labels(args.n, sig["num_classes"], args.klass, args.classes, args.per_class)
    n = args.n if labels is None else len(labels)
    if n > MAX_SAMPLES:
        raise ConfigError(f"--per-class {args.per_class} x {sig['num_classes']} classes is {n:,} samples; at most {MAX_SAMPLES:,}.")
    if sig["format"] == "safetensors":  # rebuilt by gankit: the run's own sampling path
        from gankit.export.safetensors import load_safetensors

        psi = args.psi if args.psi != 1.0 else (sig["truncation_psi"] or 1.0)  # the psi exported with, as ONNX bakes it
        samples = load_safetensors(args.run).sample(n, seed=args.seed, classes=labels, truncation=args.truncation, psi=psi)
        backend = "gankit (safetensors)"
    else:
        from gankit.export.runtime import load_export

        out = load_export(args.run).sample(n, seed=args.seed, classes=None if labels is None else labels.numpy(),
                                           truncation=args.truncation, psi=None if args.psi == 1.0 else args.psi)  # fmt: skip
        samples = torch.from_numpy(out)
        backend = "onnxruntime"
    written = write_samples(samples, args.out, None, labels, sig.get("class_names"))
    src = sig.get("source") or {}
    print(f"wrote {len(samples)} samples from {args.run} ({backend}; run step {src.get('step')}, {src.get('weights')}) to {written}")
    return 0
