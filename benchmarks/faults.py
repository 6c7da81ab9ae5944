"""Faults survived: each fault done for real to the default recipe, and what it cost.

Trains ``configs/dcgan_fashion_mnist.yaml`` for ``--steps`` steps (checkpoint every ``--ckpt``) and,
case by case: kill -9 at random moments (some mid-checkpoint) with ``--resume auto`` after each; a
truncated newest checkpoint; a read-only checkpoint folder; a disk that fills partway through a
checkpoint and through a metrics line; SIGTERM; hostile arguments and hostile input files. Writes
the table "Faults survived" to docs/benchmarks.md.

    python benchmarks/faults.py [--steps 240] [--ckpt 40] [--kills 6]
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import table, write_section  # noqa: E402

from gankit.train.checkpoint import list_checkpoints, load_checkpoint, verify_checkpoint  # noqa: E402
from gankit.utils.io import stale_temporaries  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "configs" / "dcgan_fashion_mnist.yaml"
GANKIT = [sys.executable, "-m", "gankit.cli"]


def train_cmd(out: Path, steps: int, ckpt: int, *extra: str) -> list[str]:
    sets = [f"log.ckpt_every={ckpt}", "log.keep_last=3", "log.progress=false", "train.max_minutes=null", "log.log_every=1"]
    return GANKIT + ["train", str(RECIPE), "--out", str(out), "--max-steps", str(steps), *sum((["--set", s] for s in sets), []), *extra]


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1800, **kw)


def same_weights(a: Path, b: Path) -> bool:
    for net in ("G", "D"):
        wa, wb = load_checkpoint(a).weights(net), load_checkpoint(b).weights(net)
        if wa.keys() != wb.keys() or not all(torch.equal(wa[k], wb[k]) for k in wa):
            return False
    return True


def last_step(run_dir: Path) -> int:
    good = [p for p in list_checkpoints(run_dir / "checkpoints") if verify_checkpoint(p) is None]
    return load_checkpoint(good[-1]).step if good else 0


def steps_done(run_dir: Path) -> int:
    """The highest step the killed process logged: what it had done when it died."""
    steps = [json.loads(x).get("step", 0) for x in (run_dir / "metrics.jsonl").read_text().splitlines() if x.strip().endswith("}")]
    return max(steps, default=0)


def kill9(work: Path, reference: Path, steps: int, ckpt: int, kills: int) -> list[str]:
    rng, out, lost, mid = random.Random(1), work / "kill9", [], 0
    for i in range(kills):
        proc = subprocess.Popen(train_cmd(out, steps, ckpt, *(["--resume", "auto"] if i else [])),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        while proc.poll() is None and not (out / "metrics.jsonl").exists():
            time.sleep(0.01)
        until, want_mid = time.time() + rng.uniform(0.5, 6.0), i % 2 == 0
        while proc.poll() is None:
            writing = (out / "checkpoints").is_dir() and any(p.name.startswith(".step-") for p in (out / "checkpoints").iterdir())
            if (want_mid and writing) or (not want_mid and time.time() > until):
                proc.kill()
                proc.wait()
                mid += writing
                lost.append(max(steps_done(out) - last_step(out), 0))
                break
            time.sleep(0.001)
    r = run(train_cmd(out, steps, ckpt, "--resume", "auto"))
    final = list_checkpoints(out / "checkpoints")[-1]
    exact = r.returncode == 0 and same_weights(final, list_checkpoints(reference / "checkpoints")[-1])
    temps = len(stale_temporaries(out))
    return [f"kill -9 at {len(lost)} random moments ({mid} mid-checkpoint), `--resume auto` after each",
            f"completed; final weights {'bit-identical to' if exact else 'DIFFERENT from'} an uninterrupted run; "
            f"{temps} temporary files left",
            f"the steps since the last checkpoint: at most {max(lost, default=0)} (mean {sum(lost) / max(len(lost), 1):.0f}) steps redone"]  # fmt: skip


def corrupt_newest(work: Path, reference: Path, steps: int, ckpt: int) -> list[str]:
    out = work / "corrupt"
    run(train_cmd(out, steps // 2, ckpt))
    newest = list_checkpoints(out / "checkpoints")[-1]
    for f in newest.glob("*.safetensors"):
        f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])
    r = run(train_cmd(out, steps, ckpt, "--resume", "auto"))
    resumed = r.stderr.split("resuming from")[-1].split()[0] if "resuming from" in r.stderr else "?"
    warning = next((x for x in r.stderr.splitlines() if x.startswith("warning: skipping")), "no warning")
    warning = warning.replace(str(out / "checkpoints") + "/", "").split("; it is left")[0]
    exact = r.returncode == 0 and same_weights(list_checkpoints(out / "checkpoints")[-1], list_checkpoints(reference / "checkpoints")[-1])
    return ["newest checkpoint's safetensors truncated, `--resume auto`",
            f"warned `{warning}`, resumed from {Path(resumed).name}, "
            f"finished {'bit-identical to' if exact else 'DIFFERENT from'} an uninterrupted run; the corrupt one left in place",
            f"{ckpt} steps (one checkpoint interval) redone"]  # fmt: skip


def read_only(work: Path, steps: int, ckpt: int) -> list[str]:
    out = work / "readonly"
    run(train_cmd(out, ckpt, ckpt))
    cdir = out / "checkpoints"
    os.chmod(cdir, 0o555)

    def obey_bits() -> None:  # root ignores permission bits unless it drops CAP_DAC_OVERRIDE
        if os.geteuid() == 0:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            for cap in (1, 2):
                libc.prctl(24, cap, 0, 0, 0)

    try:
        r = run(train_cmd(out, 2 * ckpt, ckpt, "--resume", "auto"), preexec_fn=obey_bits)
    finally:
        os.chmod(cdir, 0o755)
    msg = next((line for line in r.stderr.splitlines() if line.startswith("gankit: error:")), r.stderr[-200:])
    ok = verify_checkpoint(list_checkpoints(cdir)[-1]) is None and not stale_temporaries(out)
    return ["checkpoint folder made read-only mid-run",
            f"exit {r.returncode}: `{msg.split('. Training')[0].replace(str(work), '…')}`; last checkpoint "
            f"{'intact' if ok else 'DAMAGED'}, no temporary left", f"{ckpt} steps since the last checkpoint"]  # fmt: skip


DISK_FULL = r"""
import errno, os, sys
from pathlib import Path
from gankit.utils import io as gio
real = gio.write_bytes
def full(path, data, chunk=1 << 20):
    if ".step-%06d." in str(path):
        Path(path).write_bytes(data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return real(path, data, chunk)
gio.write_bytes = full
from gankit.cli import main
sys.exit(main(sys.argv[1:]))
"""


def disk_full(work: Path, steps: int, ckpt: int) -> list[str]:
    out = work / "diskfull"
    argv = train_cmd(out, 3 * ckpt, ckpt)[3:]
    r = run([sys.executable, "-c", DISK_FULL % (2 * ckpt), *argv])
    msg = next((line for line in r.stderr.splitlines() if line.startswith("gankit: error:")), r.stderr[-200:])
    names = [p.name for p in list_checkpoints(out / "checkpoints")]
    ok = all(verify_checkpoint(p) is None for p in list_checkpoints(out / "checkpoints")) and not stale_temporaries(out)
    return ["disk full halfway through writing a checkpoint's file",
            f"exit {r.returncode}: `{msg.split('. Training')[0].replace(str(work), '…')}`; kept {', '.join(names)} "
            f"({'verified' if ok else 'DAMAGED'}), no half-written checkpoint", f"{ckpt} steps since the last checkpoint"]  # fmt: skip


def sigterm(work: Path, steps: int, ckpt: int) -> list[str]:
    out = work / "sigterm"
    proc = subprocess.Popen(train_cmd(out, 100 * steps, 100 * steps), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    while proc.poll() is None and not ((out / "metrics.jsonl").exists() and steps_done(out) >= ckpt):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=300)
    return ["SIGTERM mid-run", f"exit {proc.returncode}, checkpoint written at step {last_step(out)}", "nothing"]


def hostile_args(work: Path) -> list[str]:
    run_dir = work / "kill9"
    f = work / "file.txt"
    f.write_text("x")
    cases = [["sample", str(run_dir), "--n", v, "--out", str(work / "s.png")] for v in ("-5", "0", "nan", "1e9", "10000000000")]
    cases += [["sample", str(run_dir), "--out", str(work)], ["sample", str(f), "--out", str(work / "s.png")],
              ["sample", str(run_dir), "--class", "3", "--out", str(work / "s.png")], ["sample", str(run_dir), "--truncation", "nan", "--out", str(work / "s.png")],
              ["train", str(RECIPE), "--seed", "-1"], ["train", str(RECIPE), "--set", "train.batch_size=-3"], ["train", str(RECIPE), "--out", str(f)],
              ["train", str(work)], ["eval", str(work / "missing")], ["eval", str(run_dir), "--n", "0"], ["eval", str(run_dir), "--labels", str(work)],
              ["doctor", str(f)], ["checkpoints", str(f)], ["recommend", "--task", "generate", "--data-size", "-1"],
              ["features", "train", "fashion-mnist", "--epochs", "0"]]  # fmt: skip
    before = {p for p in work.rglob("*")}
    results = [run(GANKIT + c) for c in cases]
    clean = sum(r.returncode == 2 and r.stderr.startswith("gankit: error:") and "Traceback" not in r.stderr for r in results)
    new = {p for p in work.rglob("*")} - before
    return [f"{len(cases)} hostile command lines (negative, zero, huge, NaN, wrong type, missing file, folder for file and back)",
            f"{clean}/{len(cases)} gave `gankit: error: …` with exit 2 and no traceback; {len(new)} files written",
            "nothing"]  # fmt: skip


def hostile_files(work: Path) -> list[str]:
    from PIL import Image

    from gankit.config import load_config
    from gankit.data.folder import ImageFolderDataset
    from gankit.data.idx import read_idx
    from gankit.errors import GankitError

    d = work / "files"
    d.mkdir()
    (d / "trunc-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03\x00\x00\x00\x05\x00\x00\x00\x1c\x00\x00\x00\x1c" + b"\x00" * 100)
    img = d / "imgs"
    img.mkdir()
    Image.new("L", (16, 16)).save(img / "ok.png")
    (img / "zero.png").write_bytes(b"")
    (d / "dup.yaml").write_text("train:\n  batch_size: 1\n  batch_size: 2\n")
    (d / "tab.yaml").write_text("train:\n\tbatch_size: 1\n")
    (d / "alias.yaml").write_text("a: &x 1\nseed: *x\n")
    checks = [lambda: read_idx(d / "trunc-idx3-ubyte"), lambda: ImageFolderDataset(img, 8, 1),
              lambda: load_config(d / "dup.yaml"), lambda: load_config(d / "tab.yaml"), lambda: load_config(d / "alias.yaml")]  # fmt: skip
    named = 0
    for check in checks:
        try:
            check()
        except GankitError as e:
            named += any(n in str(e) for n in ("trunc-idx3", "zero.png", "dup.yaml", "tab.yaml", "alias.yaml"))
    return ["truncated IDX, zero-byte image, recipe with a duplicated key / a tab / an alias",
            f"{named}/{len(checks)} clear errors naming the file (and the line, for recipes)", "nothing"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=240)
    ap.add_argument("--ckpt", type=int, default=40)
    ap.add_argument("--kills", type=int, default=6)
    a = ap.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="gankit-faults-") as tmp:
        work = Path(tmp)
        reference = work / "straight"
        t0 = time.time()
        r = run(train_cmd(reference, a.steps, a.ckpt))
        assert r.returncode == 0, r.stderr[-2000:]
        rows = [kill9(work, reference, a.steps, a.ckpt, a.kills), corrupt_newest(work, reference, a.steps, a.ckpt),
                read_only(work, a.steps, a.ckpt), disk_full(work, a.steps, a.ckpt), sigterm(work, a.steps, a.ckpt),
                hostile_args(work), hostile_files(work)]  # fmt: skip
        took = time.time() - t0
    body = (f"`dcgan_fashion_mnist` for {a.steps} steps, a checkpoint every {a.ckpt}; every case done for real "
            f"(the disk-full case patches gankit's one file writer to write half the bytes and raise ENOSPC). {took / 60:.1f} min.\n\n"
            + table(["case", "what happened", "data lost"], rows))  # fmt: skip
    print(body)
    write_section("Faults survived (benchmarks/faults.py)", body)


if __name__ == "__main__":
    main()
