"""Triton Inference Server model repository: ``DIR/<model>/config.pbtxt`` + ``DIR/<model>/1/model.onnx``.

Triton's ONNX Runtime backend serves the same ``model.onnx`` as ``--format onnx``; its dynamic
batcher joins requests into one batch (``max_batch_size``, ``max_queue_delay_microseconds``). With
``max_batch_size`` > 0 Triton adds the batch dimension itself, so ``dims`` leave it out; ``c`` (one
int64 per sample, shape N) is declared ``dims: [1]`` with ``reshape: { shape: [] }``, Triton's form
for a tensor that is only the batch dimension. Triton cannot be installed here: :func:`check_repository`
checks the layout and the config against the model instead (parsed with a small text-proto reader).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from gankit.errors import ExportError

DEFAULT_MODEL_NAME = "gankit"
DEFAULT_MAX_BATCH = 64
DEFAULT_QUEUE_DELAY_US = 5000
TRITON_TYPES = {"float32": "TYPE_FP32", "int64": "TYPE_INT64"}


def _tensor(spec: dict[str, Any]) -> str:
    dims = [int(d) for d in spec["shape"][1:]]
    body = f'name: "{spec["name"]}"\n    data_type: {TRITON_TYPES[spec["dtype"]]}\n'
    body += f"    dims: [ {', '.join(map(str, dims))} ]" if dims else "    dims: [ 1 ]\n    reshape: { shape: [ ] }"
    return "  {\n    " + body + "\n  }"


def config_pbtxt(name: str, sig: dict[str, Any], max_batch: int = DEFAULT_MAX_BATCH,
                 delay_us: int = DEFAULT_QUEUE_DELAY_US) -> str:  # fmt: skip
    """The model configuration (protobuf text format) for the signature's inputs and ``images``."""
    ins = ",\n".join(_tensor(s) for s in sig["inputs"])
    outs = ",\n".join(_tensor(s) for s in sig["outputs"])
    return (f'# gankit export of {sig["source"]["run"]} (step {sig["source"]["step"]}); see signature.json\n'
            f'name: "{name}"\nplatform: "onnxruntime_onnx"\nmax_batch_size: {max_batch}\n'
            f"input [\n{ins}\n]\noutput [\n{outs}\n]\n"
            f"dynamic_batching {{\n  max_queue_delay_microseconds: {delay_us}\n}}\n"
            'version_policy: { latest: { num_versions: 1 } }\n')  # fmt: skip


# ---------------------------------------------------------------------------- a text-proto reader

_TOKEN = re.compile(r'\s*(?:#[^\n]*|"((?:[^"\\]|\\.)*)"|([{}\[\]:,])|([^\s{}\[\]:,"#]+))')


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip():
                raise ExportError(f"config.pbtxt: cannot read {text[pos:pos + 20]!r}")
            break
        pos = m.end()
        if m.group(1) is not None:
            out.append(("str", m.group(1)))
        elif m.group(2):
            out.append(("sym", m.group(2)))
        elif m.group(3):
            out.append(("word", m.group(3)))
    return out


def parse_pbtxt(text: str) -> dict[str, Any]:
    """Protobuf text format -> dict; a repeated field (or ``[...]`` list) becomes a list."""
    toks = _tokens(text)
    pos = 0

    def value() -> Any:
        nonlocal pos
        kind, tok = toks[pos]
        pos += 1
        if tok == "{" and kind == "sym":
            return message("}")
        if tok == "[" and kind == "sym":
            items: list[Any] = []
            while toks[pos] != ("sym", "]"):
                items.append(value())
                if toks[pos] == ("sym", ","):
                    pos += 1
            pos += 1
            return items
        if kind == "str":
            return tok
        return int(tok) if re.fullmatch(r"-?\d+", tok) else float(tok) if re.fullmatch(r"-?[\d.]+(e-?\d+)?", tok) else tok

    def message(end: str | None) -> dict[str, Any]:
        nonlocal pos
        msg: dict[str, Any] = {}
        while pos < len(toks) and toks[pos] != ("sym", end):
            kind, key = toks[pos]
            if kind != "word":
                raise ExportError(f"config.pbtxt: expected a field name, got {key!r}")
            pos += 1
            if toks[pos] == ("sym", ":"):
                pos += 1
            v = value()
            if key in msg:  # a repeated field
                msg[key] = (msg[key] if isinstance(msg[key], list) else [msg[key]]) + (v if isinstance(v, list) else [v])
            else:
                msg[key] = v
            if pos < len(toks) and toks[pos] == ("sym", ","):
                pos += 1
        if (pos >= len(toks)) != (end is None):
            raise IndexError
        pos += 1
        return msg

    try:
        return message(None)
    except IndexError:
        raise ExportError("config.pbtxt: ends in the middle of a message (unbalanced braces)") from None


# ---------------------------------------------------------------------------- the structure check


def check_repository(repo: str | Path, name: str | None = None) -> dict[str, Any]:
    """Check a Triton repository as Triton would read it; returns the parsed config, raises ExportError
    naming every problem: layout, platform, batching, and each input/output against model.onnx."""
    import onnx

    repo = Path(repo)
    models = [d for d in repo.iterdir() if d.is_dir()] if repo.is_dir() else []
    folder = repo / name if name else (models[0] if len(models) == 1 else None)
    if folder is None or not (folder / "config.pbtxt").is_file():
        raise ExportError(f"{repo}: a Triton repository holds MODEL/config.pbtxt and MODEL/1/model.onnx; found {[m.name for m in models]}.")
    problems = []
    cfg = parse_pbtxt((folder / "config.pbtxt").read_text())
    onnx_file = folder / "1" / "model.onnx"
    if not onnx_file.is_file():
        raise ExportError(f"{folder}: no version folder 1/model.onnx.")
    if cfg.get("name") != folder.name:
        problems.append(f"name {cfg.get('name')!r} is not the folder's {folder.name!r}")
    if cfg.get("platform") != "onnxruntime_onnx" and cfg.get("backend") != "onnxruntime":
        problems.append(f"platform {cfg.get('platform')!r}: expected onnxruntime_onnx")
    max_batch = cfg.get("max_batch_size")
    if not isinstance(max_batch, int) or max_batch < 1:
        problems.append(f"max_batch_size {max_batch!r}: dynamic batching needs >= 1")
    db = cfg.get("dynamic_batching")
    if not isinstance(db, dict) or not isinstance(db.get("max_queue_delay_microseconds"), int):
        problems.append("dynamic_batching { max_queue_delay_microseconds: ... } is missing")
    graph = onnx.load(str(onnx_file), load_external_data=False).graph
    for section, values in (("input", graph.input), ("output", graph.output)):
        entries = cfg.get(section, [])
        declared = {t.get("name"): t for t in (entries if isinstance(entries, list) else [entries]) if isinstance(t, dict)}
        for v in values:
            dims = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim]
            t = declared.pop(v.name, None)
            if t is None:
                problems.append(f"{section} {v.name!r} of model.onnx is not declared")
                continue
            elem = onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name
            if t.get("data_type") != TRITON_TYPES.get(elem):
                problems.append(f"{section} {v.name!r}: data_type {t.get('data_type')} but the model has {elem}")
            want = [int(d) for d in dims[1:]] or [1]
            got = t.get("dims") if isinstance(t.get("dims"), list) else [t.get("dims")]
            if got != want:
                problems.append(f"{section} {v.name!r}: dims {got} but the model has {dims[1:]} after the batch dimension")
            if isinstance(dims[0], int) and dims[0] > 0:
                problems.append(f"{section} {v.name!r}: the model's batch dimension is fixed at {dims[0]}; Triton batching needs it dynamic")
        problems += [f"{section} {k!r} is declared but model.onnx has no such {section}" for k in declared]
    if problems:
        raise ExportError(f"{folder}/config.pbtxt: " + "; ".join(problems))
    return cfg
