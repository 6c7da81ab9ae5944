"""Checksummed checkpoints: a damaged one is named with its reason, skipped by --resume auto, never deleted."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gankit.cli import main
from gankit.errors import CheckpointError
from gankit.train.checkpoint import (
    clean_temporaries,
    describe_checkpoints,
    list_checkpoints,
    load_checkpoint,
    newest_good,
    save_checkpoint,
    verify_checkpoint,
)

GANKIT = [sys.executable, "-m", "gankit.cli"]


def _save(cdir: Path, step: int, keep_last: int | None = None) -> Path:
    return save_checkpoint(cdir, step, {"G": {"w": torch.full((64,), float(step))}}, {"note": step}, keep_last=keep_last)


def _truncate(path: Path) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])


def test_state_records_size_and_sha256_of_every_file(tmp_path: Path) -> None:
    import hashlib

    ck = _save(tmp_path, 3)
    files = json.loads((ck / "state.json").read_text())["files"]
    assert set(files) == {"G.safetensors", "state.safetensors"}
    for name, rec in files.items():
        raw = (ck / name).read_bytes()
        assert rec == {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}
    assert verify_checkpoint(ck) is None and load_checkpoint(ck).state["note"] == 3


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda ck: _truncate(ck / "G.safetensors"), r"G.safetensors is \d[\d,]* bytes, expected [\d,]+ \(truncated"),
        (lambda ck: (ck / "G.safetensors").write_bytes(b"X" + (ck / "G.safetensors").read_bytes()[1:]), "does not match its SHA-256"),
        (lambda ck: (ck / "state.safetensors").unlink(), "state.safetensors is missing"),
        (lambda ck: (ck / "state.json").write_text("{not json"), "state.json unreadable"),
    ],
    ids=["truncated", "altered", "missing", "state-json"],
)
def test_damage_is_detected_and_named(tmp_path: Path, damage, reason) -> None:
    ck = _save(tmp_path, 5)
    damage(ck)
    assert verify_checkpoint(ck) is not None
    with pytest.raises(CheckpointError, match=reason):
        load_checkpoint(ck)


def test_newest_good_skips_corrupt_ones_with_a_warning_and_deletes_nothing(tmp_path: Path) -> None:
    for s in (10, 20, 30):
        _save(tmp_path, s)
    _truncate(tmp_path / "step-000030" / "G.safetensors")
    (tmp_path / "step-000020" / "state.safetensors").write_bytes(b"garbage")
    warned: list[str] = []
    assert newest_good(tmp_path, warned.append) == tmp_path / "step-000010"
    assert len(warned) == 2 and "step-000030" in warned[0] and "truncated" in warned[0] and "step-000020" in warned[1]
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000010", "step-000020", "step-000030"]


def test_rotation_never_counts_checkpoints_after_the_one_written(tmp_path: Path) -> None:
    """Resumed from step 10 because step 30 is corrupt: writing 11 must not push 10 out with keep_last=2."""
    for s in (10, 30):
        _save(tmp_path, s)
    _truncate(tmp_path / "step-000030" / "G.safetensors")
    _save(tmp_path, 11, keep_last=2)
    _save(tmp_path, 12, keep_last=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-000011", "step-000012", "step-000030"]


def test_old_checkpoints_without_checksums_are_parsed_instead(tmp_path: Path) -> None:
    ck = _save(tmp_path, 4)
    meta = json.loads((ck / "state.json").read_text())
    del meta["files"]
    (ck / "state.json").write_text(json.dumps(meta))
    assert verify_checkpoint(ck) is None
    _truncate(ck / "G.safetensors")
    assert "G.safetensors unreadable" in verify_checkpoint(ck)


def test_temporaries_of_a_killed_write_are_removed_and_a_cut_swap_is_put_back(tmp_path: Path) -> None:
    cdir = tmp_path / "checkpoints"
    good = _save(cdir, 7)
    (cdir / ".step-000008.ab12cd34.tmp").mkdir()  # a checkpoint cut mid-write
    (tmp_path / ".metrics.json.zz99yy88.tmp").write_text("half")
    old = cdir / ".step-000007.old.qq11ww22.tmp"  # killed between the two renames of a same-step swap
    old.mkdir()
    os.replace(good, old / "step-000007")
    (tmp_path / "keep.txt").write_text("a user's file")
    removed = clean_temporaries(tmp_path)
    assert len(removed) == 3
    assert verify_checkpoint(cdir / "step-000007") is None and (tmp_path / "keep.txt").exists()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["G.safetensors", "checkpoints", "keep.txt", "state.json",
                                                           "state.safetensors", "step-000007"]  # fmt: skip


def test_checkpoints_command_lists_step_size_and_status(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    for s in (5, 10):
        _save(run / "checkpoints", s)
    save_checkpoint(run / "checkpoints", 7, {"G": {"w": torch.zeros(3)}}, {}, name="best")
    _truncate(run / "checkpoints" / "step-000010" / "G.safetensors")
    assert main(["checkpoints", str(run)]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line for line in out[1:-1]}
    assert "ok" in rows["step-000005"] and "<- --resume auto" in rows["step-000005"]
    assert "corrupt (G.safetensors is" in rows["step-000010"] and " 10 " in rows["step-000010"]
    assert rows["best"].split()[1] == "7" and "MB" in rows["best"]
    assert "3 checkpoint(s)" in out[-1] and "1 corrupt" in out[-1]
    assert (run / "checkpoints" / "step-000010").is_dir()  # listed, not deleted


def test_resume_auto_falls_back_past_a_truncated_newest_checkpoint(tiny_recipe: Path, tmp_path: Path) -> None:
    """The case from the issue: the newest checkpoint's safetensors are truncated, the previous one is intact."""
    out = tmp_path / "run"
    common = ["train", str(tiny_recipe), "--out", str(out), "--set", "log.ckpt_every=4", "--set", "log.keep_last=5"]
    r = subprocess.run(GANKIT + common + ["--max-steps", "8"], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    for f in (out / "checkpoints" / "step-000008").glob("*.safetensors"):
        _truncate(f)
    r = subprocess.run(GANKIT + common + ["--max-steps", "12", "--resume", "auto"], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert "skipping checkpoint" in r.stderr and "step-000008" in r.stderr and "resuming from" in r.stderr
    assert "step-000004" in r.stderr.split("resuming from")[1].splitlines()[0]
    assert load_checkpoint(list_checkpoints(out / "checkpoints")[-1]).step == 12
    # straight to 12 in one go gives the same weights: the fallback lost steps 5..8, not exactness
    straight = tmp_path / "straight"
    r = subprocess.run(GANKIT + ["train", str(tiny_recipe), "--out", str(straight), "--max-steps", "12",
                                 "--set", "log.ckpt_every=4"], capture_output=True, text=True, timeout=240)  # fmt: skip
    assert r.returncode == 0, r.stderr
    a = load_checkpoint(out / "checkpoints" / "step-000012").weights("G")
    b = load_checkpoint(straight / "checkpoints" / "step-000012").weights("G")
    assert all(torch.equal(a[k], b[k]) for k in a)
