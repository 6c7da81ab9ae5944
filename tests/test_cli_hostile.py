"""Every subcommand with hostile values: `gankit: error: ...`, exit 2, no traceback, no file written.

Values come from hypothesis strategies that are invalid by construction (negative, zero, huge, NaN,
a wrong type, a missing file, a folder where a file is expected and the reverse).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit.cli import main
from gankit.cli.args import MAX_SAMPLES, MAX_SEED


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, tiny_idx) -> Path:
    """A trained tiny run, a file, an empty folder, a garbage recipe: the things hostile arguments point at."""
    from gankit.config import load_config
    from gankit.train.engine import train

    root = tmp_path_factory.mktemp("hostile")
    recipe = {"name": "tiny", "data": {"name": "fashion-mnist", "root": str(tiny_idx)},
              "model": {"z_dim": 8, "generator": {"name": "dcgan", "base_channels": 4},
                        "discriminator": {"name": "dcgan", "base_channels": 4}},
              "train": {"batch_size": 16, "max_steps": 2}, "monitor": {"enabled": False}, "eval": {"select_on": "off"},
              "log": {"log_every": 1, "eval_every": 100, "ckpt_every": 100, "progress": False, "grid_size": 4, "tensorboard": False}}  # fmt: skip
    (root / "tiny.yaml").write_text(yaml.safe_dump(recipe))
    train(load_config(root / "tiny.yaml"), root / "run")
    (root / "file.txt").write_text("a file")
    (root / "empty").mkdir()
    (root / "garbage.yaml").write_bytes(b"\x00\xff garbage")
    return root


NOT_INT = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1.5", "1e3", "", " ", "0x10", "٣", "1_000", "--", "None", "[]"]),
    st.text(min_size=1, max_size=12).filter(lambda t: not t.strip().lstrip("+-").isascii() or not t.strip().lstrip("+-").isdigit()),
)


def ints_outside(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.one_of(st.integers(max_value=lo - 1), st.integers(min_value=hi + 1)).map(str) | NOT_INT


NOT_FINITE_POSITIVE = st.one_of(
    st.sampled_from(["nan", "NaN", "inf", "-inf", "1e400", "0", "-0", "-1", "101", "abc", ""]),
    st.floats(max_value=0, allow_nan=False).map(repr),
)


def missing(root: Path) -> st.SearchStrategy[str]:
    return st.text(alphabet="abcdefgh", min_size=1, max_size=8).map(lambda t: str(root / "missing" / t))


# (argv before the hostile value with {run}/{root} placeholders, the option, its hostile values, argv after)
def cases(root: Path) -> list[tuple[str, list[str], st.SearchStrategy[str], list[str]]]:
    run, f, empty = str(root / "run"), str(root / "file.txt"), str(root / "empty")
    out_png = str(root / "new" / "s.png")
    sample = ["sample", run]
    bad_out = st.sampled_from([empty, str(root / "s.jpg"), str(root / "s"), f + "/s.png", ""])
    return [
        ("sample --n", sample + ["--n"], ints_outside(1, MAX_SAMPLES), ["--out", out_png]),
        ("sample --seed", sample + ["--seed"], ints_outside(0, MAX_SEED), ["--out", out_png]),
        ("sample --truncation", sample + ["--truncation"], NOT_FINITE_POSITIVE, ["--out", out_png]),
        ("sample --psi", sample + ["--psi"], st.sampled_from(["nan", "inf", "-0.1", "1.01", "2", "abc", ""]), ["--out", out_png]),
        ("sample --class", sample + ["--class"], st.integers(min_value=0, max_value=50).map(str) | ints_outside(0, 10**5), ["--out", out_png]),
        ("sample --classes", sample + ["--classes"], st.sampled_from(["", ",", "1,1", "-1", "a,b", "0;1", "1,,x"]), ["--out", out_png]),
        ("sample --per-class", sample + ["--per-class"], ints_outside(1, MAX_SAMPLES), ["--out", out_png]),
        ("sample --out", sample + ["--out"], bad_out, []),
        ("sample RUN", ["sample"], missing(root) | st.just(f) | st.just(empty), ["--out", out_png]),
        ("train config", ["train"], missing(root) | st.just(empty) | st.just(str(root / "garbage.yaml")), ["--out", str(root / "new")]),
        ("train --max-steps", ["train", str(root / "tiny.yaml"), "--max-steps"], ints_outside(1, 10**9), ["--out", str(root / "new")]),
        ("train --seed", ["train", str(root / "tiny.yaml"), "--seed"], ints_outside(0, MAX_SEED), ["--out", str(root / "new")]),
        ("train --set", ["train", str(root / "tiny.yaml"), "--set"],
         st.sampled_from(["novalue", "=3", "a..b=1", "train.nope=1", "train.batch_size=-3", "train.batch_size=nan",
                          "train.max_steps=0", "data.image_size=1e9", "seed=-1", "log.ckpt_every=x"]), ["--out", str(root / "new")]),
        ("train --out", ["train", str(root / "tiny.yaml"), "--out"], st.just(f) | st.just(f + "/run"), []),
        ("train --resume", ["train", str(root / "tiny.yaml"), "--resume"], missing(root) | st.just(f) | st.just(empty), ["--out", str(root / "new")]),
        ("eval TARGET", ["eval"], missing(root), ["--out", str(root / "new")]),
        ("eval --n", ["eval", run, "--n"], ints_outside(1, MAX_SAMPLES), ["--out", str(root / "new")]),
        ("eval --labels", ["eval", run, "--labels"], missing(root) | st.just(empty) | st.just(f), ["--out", str(root / "new")]),
        ("eval --device", ["eval", run, "--device"], st.sampled_from(["gpu", "cuda:x", "", "tpu", "cpu0"]), ["--out", str(root / "new")]),
        ("eval --inception-weights", ["eval", run, "--inception-weights"], missing(root) | st.just(empty), ["--out", str(root / "new")]),
        ("eval --metrics", ["eval", run, "--metrics"], st.sampled_from(["", ",", "bogus", "fid,nope", "FID"]), ["--out", str(root / "new")]),
        ("eval --ref", ["eval", run, "--ref"], missing(root) | st.sampled_from(["fashion-mnist", "mnist:nope", f, ""]), ["--out", str(root / "new")]),
        ("eval --truncation-sweep", ["eval", run, "--truncation-sweep"],
         st.sampled_from(["", ",", "1.2", "-1", "nan", "1,,x", ",".join(["0.5"] * 65)]), ["--out", str(root / "new")]),
        ("eval --ppl-similarity", ["eval", run, "--metrics", "ppl", "--ppl-similarity"], st.sampled_from(["", "vgg", "LPIPS", "inception"]),
         ["--out", str(root / "new")]),
        ("eval --lpips-weights", ["eval", run, "--metrics", "ppl", "--ppl-similarity", "lpips", "--lpips-weights"],
         missing(root) | st.just(empty) | st.just(f), ["--out", str(root / "new")]),
        ("eval --out", ["eval", run, "--out"], st.just(f) | st.just(f + "/x"), []),
        ("doctor RUN", ["doctor"], missing(root) | st.just(f), []),
        ("doctor --out", ["doctor", run, "--out"], st.sampled_from([empty, str(root / "r.txt"), f + "/r.html"]), []),
        ("checkpoints RUN", ["checkpoints"], missing(root) | st.just(f) | st.just(empty), []),
        ("recommend --data-size", ["recommend", "--task", "generate", "--data-size"], ints_outside(1, 10**10), []),
        ("data fetch --root", ["data", "fetch", "mnist", "--root"], st.just(f) | st.just(f + "/x"), []),
        ("features --epochs", ["features", "train", "fashion-mnist", "--epochs"], ints_outside(1, 1000), ["--out", str(root / "new" / "w.safetensors")]),
        ("features --out", ["features", "train", "fashion-mnist", "--out"], st.sampled_from([empty, str(root / "w.bin"), f + "/w.safetensors"]), []),
    ]


def _files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*")}


CASE_IDS = [c[0] for c in cases(Path("/x"))]


@pytest.mark.parametrize("case", CASE_IDS)
def test_hostile_values_are_refused_before_any_work(sandbox: Path, case: str, capsys) -> None:
    name, before, values, after = next(c for c in cases(sandbox) if c[0] == case)

    @settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(value=values)
    def check(value: str) -> None:
        files = _files(sandbox)
        capsys.readouterr()
        try:
            code = main([*before, value, *after])
        except SystemExit as e:  # argparse
            code = e.code
        err = capsys.readouterr().err
        assert code == 2, (name, value, err)
        assert err.startswith("gankit: error:") and "Traceback" not in err, (name, value, err)
        assert _files(sandbox) == files, (name, value, sorted(_files(sandbox) - files))

    check()


def test_the_reported_case_as_a_user_runs_it(sandbox: Path) -> None:
    """`gankit sample RUN --n -5 --out s.png` printed a RuntimeError traceback."""
    out = sandbox / "s.png"
    r = subprocess.run([sys.executable, "-m", "gankit.cli", "sample", str(sandbox / "run"), "--n", "-5", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("gankit: error: argument --n: must be from 1 to 1,000,000 samples, got -5")
    assert not out.exists()
