"""Shared by the benchmark scripts: machine description and writing a section of docs/benchmarks.md."""

from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Each section is written by the script it names; rerun the command to refresh it. Speeds are
ratios against a baseline measured in the same run, because the machines are shared and noisy.
"""


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return f"{cpu}, {os.cpu_count()} cores, {gpu}; Python {platform.python_version()}, torch {torch.__version__}"


def command(omit: tuple[str, ...] = ()) -> str:
    """The invocation, without the options in ``omit`` (free text such as a note is shown elsewhere)."""
    import shlex

    args, skip = [], False
    for a in sys.argv[1:]:
        if skip:
            skip = False
        elif a in omit:
            skip = True
        elif not a.startswith(tuple(f"{o}=" for o in omit)):
            args.append(a)
    return "python " + shlex.join([Path(sys.argv[0]).as_posix().split("/work/main/")[-1], *args])


def write_section(name: str, body: str, omit: tuple[str, ...] = ()) -> Path:
    """Replace (or append) the section ``## name`` of docs/benchmarks.md."""
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else HEADER
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    section = f"## {name}\n\n- command: `{command(omit)}`\n- machine: {machine()}\n- date: {stamp}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(name)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    DOC.write_text(text)
    return DOC


def table(headers: list[str], rows: list[list[object]]) -> str:
    def fmt(v: object) -> str:
        if v is None:
            return "—"
        if isinstance(v, float):
            return f"{v:.3g}" if abs(v) < 100 else f"{v:.0f}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(fmt(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)
