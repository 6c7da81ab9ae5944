"""Where numbers go: ``metrics.jsonl`` (one JSON object per event) and TensorBoard."""

from __future__ import annotations

import contextlib
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np


def _clean(v: Any) -> Any:
    """JSON has no NaN/Inf: write them as null so every reader can parse the file."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


class RunLogger:
    def __init__(self, run_dir: Path, tensorboard: bool = True, resume_step: int | None = None) -> None:
        self.path = run_dir / "metrics.jsonl"
        if resume_step is not None:
            self._truncate_after(resume_step)
        self.tb = None
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            # purge_step drops events a crashed run wrote after the checkpoint we resume from
            self.tb = SummaryWriter(str(run_dir / "tb"), purge_step=resume_step)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)

    def _truncate_after(self, step: int) -> None:
        """A resumed run re-does the steps after its checkpoint: drop their old records."""
        if not self.path.exists():
            return
        keep = []
        for line in self.path.read_text().splitlines():
            try:
                if json.loads(line).get("step", 0) <= step:
                    keep.append(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash
        from gankit.utils.io import atomic_write_text

        atomic_write_text(self.path, "".join(k + "\n" for k in keep))

    def log(self, step: int, values: dict[str, Any], kind: str = "train") -> None:
        rec = {"kind": kind, "step": step, **{k: _clean(v) for k, v in values.items()}}
        self._append((json.dumps(rec) + "\n").encode())
        if self.tb is not None:
            for k, v in values.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and v is not None and math.isfinite(v):
                    self.tb.add_scalar(f"{kind}/{k}", v, step)

    def _append(self, line: bytes) -> None:
        """All of the line or none of it: a failed write (disk full) is cut back off the file."""
        size = os.fstat(self._fd).st_size
        try:
            done = 0
            while done < len(line):
                done += os.write(self._fd, line[done:])
        except OSError as e:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, size)
            e.filename = e.filename or str(self.path)
            raise

    def image(self, tag: str, arr: np.ndarray, step: int) -> None:
        if self.tb is not None:
            self.tb.add_image(tag, arr, step, dataformats="HW" if arr.ndim == 2 else "HWC")

    def histogram(self, tag: str, values: Any, step: int) -> None:
        if self.tb is not None:
            self.tb.add_histogram(tag, values, step)

    def close(self) -> None:
        """Never raises: it runs while another error (a full disk) may already be on its way out."""
        with contextlib.suppress(OSError):
            os.close(self._fd)
        if self.tb is not None:
            with contextlib.suppress(Exception):
                self.tb.flush()
                self.tb.close()


def read_metrics(run_dir: str | Path, kind: str | None = None) -> list[dict[str, Any]]:
    p = Path(run_dir) / "metrics.jsonl"
    out = []
    if p.exists():
        for line in p.read_text().splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if kind is None or rec.get("kind") == kind:
                out.append(rec)
    return out
