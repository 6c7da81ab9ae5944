"""Atomic writes keep the old file on failure and give new files the permissions of a plain open()."""

import os
import stat

import pytest

from gankit.train.checkpoint import save_checkpoint
from gankit.utils.io import atomic_path, atomic_write_text


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(p) -> int:
    return stat.S_IMODE(os.stat(p).st_mode)


def test_atomic_write_replaces_and_uses_umask(tmp_path, umask_022):
    p = atomic_write_text(tmp_path / "a" / "config.yaml", "x: 1\n")
    assert p.read_text() == "x: 1\n" and _mode(p) == 0o644  # mkstemp alone would leave 0600
    atomic_write_text(p, "x: 2\n")
    assert p.read_text() == "x: 2\n"
    assert [f.name for f in p.parent.iterdir()] == ["config.yaml"]  # no temporary left behind


def test_atomic_path_failure_keeps_old_file(tmp_path):
    p = tmp_path / "stats.json"
    p.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(p) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash while writing")
    assert p.read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["stats.json"]


def test_checkpoint_folder_is_readable(tmp_path, umask_022):
    import torch

    ck = save_checkpoint(tmp_path, 5, {"G": {"w": torch.ones(2)}}, {"note": "x"})
    assert _mode(ck) == 0o755  # mkdtemp alone would leave 0700
    assert all(_mode(f) == 0o644 for f in ck.iterdir())
