"""Argument types that check every value before any work starts.

Each parser raises :class:`argparse.ArgumentTypeError` with what is allowed; :class:`Parser`
prints it as ``gankit: error: argument --n: ...`` and exits 2, so a hostile value never reaches
torch (``--n -5`` would otherwise fail deep inside with a traceback) and never leaves a partial file.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path
from typing import Callable, NoReturn, Sequence

MAX_SAMPLES = 1_000_000  # one request's images: 1M Fashion-MNIST-sized images are 0.8 GB of uint8
MAX_STEPS = 1_000_000_000
MAX_SEED = 2**32 - 1  # what numpy and every torch generator accept
MAX_CLASS = 100_000

Type = Callable[[str], object]


class Parser(argparse.ArgumentParser):
    """``gankit: error: ...`` (exit 2) and where to read the allowed arguments, instead of a usage dump."""

    def error(self, message: str) -> NoReturn:
        print(f"gankit: error: {message}\n  (`{self.prog} --help` lists the arguments)", file=sys.stderr)
        sys.exit(2)


def _fail(message: str) -> NoReturn:
    raise argparse.ArgumentTypeError(message)


def integer(lo: int, hi: int, what: str = "") -> Type:
    """A whole number in ``[lo, hi]``; ``what`` names the unit in the message."""
    unit = f" {what}" if what else ""

    def parse(text: str) -> int:
        t = text.strip()
        if not re.fullmatch(r"[+-]?[0-9]{1,30}", t):  # ASCII digits only: int() would also take "٣"
            _fail(f"expected a whole number{unit} from {lo:,} to {hi:,}, got {text!r}")
        v = int(t)
        if not lo <= v <= hi:
            _fail(f"must be from {lo:,} to {hi:,}{unit}, got {v:,}")
        return v

    return parse


def real(lo: float, hi: float, lo_open: bool = False) -> Type:
    """A finite number in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``); NaN and Inf are refused."""
    left = "(" if lo_open else "["

    def parse(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            _fail(f"expected a number in {left}{lo:g}, {hi:g}], got {text!r}")
        if not math.isfinite(v) or v < lo or (lo_open and v == lo) or v > hi:
            _fail(f"must be a finite number in {left}{lo:g}, {hi:g}], got {text!r}")
        return v

    return parse


seed = integer(0, MAX_SEED)
count = integer(1, MAX_SAMPLES, "samples")
steps = integer(1, MAX_STEPS, "steps")


def class_list(text: str) -> list[int]:
    """``0,3,7``: class indices, at least one, no repeats."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        _fail(f"expected class indices separated by commas (e.g. 0,3,7), got {text!r}")
    one = integer(0, MAX_CLASS, "")
    out = [int(one(p)) for p in parts]  # type: ignore[call-overload]
    if len(set(out)) != len(out):
        _fail(f"each class once, got {text!r}")
    return out


def seed_list(text: str) -> list[int]:
    """``0,1,2``: seeds, at least one, at most 64."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not 1 <= len(parts) <= 64:
        _fail(f"expected 1 to 64 seeds separated by commas (e.g. 0,1,2), got {text!r}")
    return [int(seed(p)) for p in parts]  # type: ignore[call-overload]


def float_list(lo: float, hi: float) -> Type:
    """``1,0.7,0.5``: finite numbers in [lo, hi], at least one, at most 64."""
    one = real(lo, hi)

    def parse(text: str) -> list[float]:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        if not 1 <= len(parts) <= 64:
            _fail(f"expected 1 to 64 numbers in [{lo:g}, {hi:g}] separated by commas, got {text!r}")
        return [float(one(p)) for p in parts]  # type: ignore[arg-type]

    return parse


def _path(text: str) -> Path:
    if not text or "\x00" in text:
        _fail(f"expected a path, got {text!r}")
    return Path(text)


def existing_dir(what: str) -> Type:
    def parse(text: str) -> Path:
        p = _path(text)
        if p.is_file():
            _fail(f"{p} is a file; expected {what} (a folder)")
        if not p.is_dir():
            _fail(f"no such folder: {p} (expected {what})")
        return p

    return parse


def existing_file(what: str, suffixes: Sequence[str] = ()) -> Type:
    def parse(text: str) -> Path:
        p = _path(text)
        if p.is_dir():
            _fail(f"{p} is a folder; expected {what} (a file)")
        if not p.is_file():
            _fail(f"no such file: {p} (expected {what})")
        if suffixes and p.suffix.lower() not in suffixes:
            _fail(f"{p}: expected {what} ending in {' or '.join(suffixes)}")
        return p

    return parse


def existing_path(what: str) -> Type:
    def parse(text: str) -> Path:
        p = _path(text)
        if not p.exists():
            _fail(f"no such file or folder: {p} (expected {what})")
        return p

    return parse


def _parents_are_folders(p: Path) -> None:
    for parent in p.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                _fail(f"{parent} is a file, so {p} cannot be written under it")
            return


def out_file(suffixes: Sequence[str]) -> Type:
    """A file to write: the right suffix, not an existing folder, not under a file."""

    def parse(text: str) -> Path:
        p = _path(text)
        if p.suffix.lower() not in suffixes:
            _fail(f"{p}: the output must end in {' or '.join(suffixes)}")
        if p.is_dir():
            _fail(f"{p} is a folder; expected a file name ending in {' or '.join(suffixes)}")
        _parents_are_folders(p)
        return p

    return parse


def out_dir(text: str) -> Path:
    """A folder to write into: not an existing file, not under a file."""
    p = _path(text)
    if p.exists() and not p.is_dir():
        _fail(f"{p} is a file; expected a folder to write into")
    _parents_are_folders(p)
    return p


def device(text: str) -> str:
    if not re.fullmatch(r"cpu|cuda(:[0-9]{1,2})?|mps", text):
        _fail(f"expected cpu, cuda, cuda:N or mps, got {text!r}")
    return text


def override(text: str) -> str:
    """``--set KEY=VALUE``: the value is checked with the recipe; the form is checked here."""
    key, sep, _ = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*", key.strip()):
        _fail(f"expected KEY=VALUE with a dotted key, for example train.batch_size=128, got {text!r}")
    return text


def resume(text: str) -> str | Path:
    """``auto``, or a run/checkpoint folder that exists."""
    if text == "auto":
        return text
    return existing_dir("auto, a run folder or a checkpoint folder")(text)  # type: ignore[return-value]


def recipe(text: str) -> str:
    from gankit.cli.recipes import find_recipe
    from gankit.errors import GankitError

    try:
        find_recipe(_path(text).as_posix())
    except GankitError as e:
        _fail(str(e))
    return text


def metric_list(text: str) -> str:
    """``fid,kid,...``: every name registered (checked here, so a typo fails before any sampling)."""
    from gankit.errors import GankitError
    from gankit.metrics.registry import METRICS

    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        _fail(f"expected metric names separated by commas, e.g. fid,kid; valid: {', '.join(sorted(METRICS.names()))}")
    for name in names:
        try:
            METRICS.get(name)
        except GankitError as e:
            _fail(f"{e} Valid: {', '.join(sorted(METRICS.names()))}." if "Valid" not in str(e) else str(e))
    return ",".join(names)


def reference(text: str) -> str:
    """A dataset split (``fashion-mnist:test``) or a folder of images."""
    from gankit.errors import GankitError
    from gankit.metrics.reference import parse_reference

    try:
        parse_reference(text)
    except GankitError as e:
        _fail(str(e))
    return text
