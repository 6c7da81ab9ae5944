"""A file that cannot be written stops the run with its path and the OS error, loses nothing complete,
and leaves nothing half-written under a final name."""

from __future__ import annotations

import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gankit.config import load_config
from gankit.errors import WriteFailed
from gankit.train.checkpoint import list_checkpoints, verify_checkpoint
from gankit.train.engine import train
from gankit.utils import io as gio

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _no_temporaries(run: Path) -> None:
    assert gio.stale_temporaries(run) == []


def _cfg(tiny_recipe: Path, *extra: str):
    return load_config(tiny_recipe, ["log.ckpt_every=5", "log.eval_every=5", "train.max_steps=20", *extra])


def test_disk_full_partway_through_a_checkpoint(tiny_recipe: Path, tmp_path: Path, monkeypatch) -> None:
    real = gio.write_bytes

    def failing(path, data, chunk=1 << 20):  # step 5 (and the best checkpoint) succeed; then the disk is "full"
        if ".step-000010." not in str(path):
            return real(path, data, chunk)
        Path(path).write_bytes(data[: len(data) // 2])
        raise OSError(ENOSPC.errno, ENOSPC.strerror, str(path))

    monkeypatch.setattr(gio, "write_bytes", failing)
    run = tmp_path / "run"
    with pytest.raises(WriteFailed) as err:
        train(_cfg(tiny_recipe), run)
    msg = str(err.value)
    assert f"cannot write {run / 'checkpoints' / 'step-000010'}" in msg and "No space left on device (errno 28)" in msg
    assert "step 10" in msg and "step-000005" in msg and "--resume auto" in msg
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-000005"]
    assert verify_checkpoint(run / "checkpoints" / "step-000005") is None
    _no_temporaries(run)


def test_metrics_line_cut_by_a_full_disk_is_removed(tiny_recipe: Path, tmp_path: Path, monkeypatch) -> None:
    real_write, seen = os.write, {"n": 0}

    def write(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("metrics.jsonl"):
            seen["n"] += 1
            if seen["n"] == 6:  # half of the line reaches the disk, then ENOSPC
                real_write(fd, data[: len(data) // 2])
                raise OSError(ENOSPC.errno, ENOSPC.strerror)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    run = tmp_path / "run"
    with pytest.raises(WriteFailed, match=r"cannot write .*metrics\.jsonl: No space left on device"):
        train(_cfg(tiny_recipe), run)
    lines = (run / "metrics.jsonl").read_bytes().decode().splitlines()
    assert len(lines) == 5 and all(json.loads(line) for line in lines)  # every line whole
    assert all(verify_checkpoint(p) is None for p in list_checkpoints(run / "checkpoints"))
    _no_temporaries(run)


def test_sample_grid_that_fails_to_write_leaves_no_partial_png(tiny_recipe: Path, tmp_path: Path, monkeypatch) -> None:
    real_save, seen = Image.Image.save, {"n": 0}

    def save(self, fp, *args, **kw):
        if "samples" in str(fp):
            seen["n"] += 1
            if seen["n"] == 2:
                Path(fp).write_bytes(b"\x89PNG half")
                raise OSError(ENOSPC.errno, ENOSPC.strerror, str(fp))
        return real_save(self, fp, *args, **kw)

    monkeypatch.setattr(Image.Image, "save", save)
    run = tmp_path / "run"
    with pytest.raises(WriteFailed, match=r"cannot write .*samples/step-000010\.png: No space left"):
        train(_cfg(tiny_recipe), run)
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["step-000005.png"]
    Image.open(run / "samples" / "step-000005.png").verify()
    assert [p.name for p in list_checkpoints(run / "checkpoints")] == ["step-000005"]
    _no_temporaries(run)


def _obey_permission_bits() -> None:
    """Root ignores permission bits: drop CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH before exec, so a
    read-only folder is read-only for the child too (a no-op for other users)."""
    if os.geteuid() == 0:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        for cap in (1, 2):
            if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="permission bits and prctl")
def test_read_only_checkpoint_folder(tiny_recipe: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "gankit.cli", "train", str(tiny_recipe), "--out", str(run), "--set", "log.ckpt_every=5"]

    def gankit(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=240, preexec_fn=_obey_permission_bits)

    r = gankit("--max-steps", "5")
    assert r.returncode == 0, r.stderr
    ckpts = run / "checkpoints"
    before = sorted(p.name for p in ckpts.iterdir())
    os.chmod(ckpts, 0o555)
    try:
        r = gankit("--max-steps", "10", "--resume", "auto")
    finally:
        os.chmod(ckpts, 0o755)
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    # the in-loop best checkpoint or the step checkpoint, whichever comes first at step 10
    assert re.search(rf"gankit: error: cannot write {re.escape(str(ckpts))}/(step-000010|best): Permission denied \(errno 13\)", r.stderr)
    assert f"the last complete checkpoint is {ckpts / 'step-000005'}" in r.stderr
    assert sorted(p.name for p in ckpts.iterdir()) == before and verify_checkpoint(ckpts / "step-000005") is None
    _no_temporaries(run)
