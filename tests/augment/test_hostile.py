"""``gankit augment`` with hostile values: `gankit: error: ...`, exit 2, no traceback, no file written."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gankit.cli import main
from gankit.cli.args import MAX_SAMPLES, MAX_SEED
from gankit.config import load_config
from gankit.data.datasets import FashionMNIST
from gankit.train.engine import train

from .conftest import cgan_recipe

NOT_INT = st.sampled_from(["nan", "inf", "1.5", "1e3", "", " ", "0x10", "٣", "1_000", "--", "None"])


def outside(lo: int, hi: int) -> st.SearchStrategy[str]:
    return st.one_of(st.integers(max_value=lo - 1), st.integers(min_value=hi + 1)).map(str) | NOT_INT


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory, tiny_idx) -> Path:
    root = tmp_path_factory.mktemp("augment-hostile")
    recipe = cgan_recipe(root, {"name": "fashion-mnist", "root": str(tiny_idx)}, steps=2)
    train(load_config(recipe), root / "run", hooks=[])
    (root / "file.txt").write_text("x")
    (root / "empty").mkdir()
    return root


def cases(root: Path) -> list[tuple[str, list[str], st.SearchStrategy[str], list[str]]]:
    run, f, out = str(root / "run"), str(root / "file.txt"), str(root / "new")
    base = ["augment", "--run", run]
    names = set(FashionMNIST.names) | {n.casefold() for n in FashionMNIST.names}
    bad_class = st.integers(min_value=10, max_value=10**6).map(str) | st.text(min_size=1, max_size=10).filter(
        lambda t: t.strip().casefold() not in names and not (t.strip().isascii() and t.strip().lstrip("+").isdigit()
                                                             and int(t.strip()) < 10) and not t.startswith("-"))  # fmt: skip
    return [
        ("--n", base + ["--class", "1", "--n"], outside(1, MAX_SAMPLES), ["--out", out]),
        ("--seed", base + ["--class", "1", "--n", "2", "--seed"], outside(0, MAX_SEED), ["--out", out]),
        ("--class", base + ["--n", "2", "--class"], bad_class, ["--out", out]),
        ("--filter", base + ["--class", "1", "--n", "2", "--filter"],
         st.sampled_from(["", "x", "confidence:", "confidence:0", "confidence:-1", "confidence:1.01", "confidence:nan",
                          "drs:inf", "drs:abc", "mh", "none:1"]), ["--out", out]),  # fmt: skip
        ("--minutes", ["augment", "--data", "fashion-mnist", "--class", "1", "--n", "2", "--minutes"],
         st.sampled_from(["nan", "inf", "0", "-1", "1e400", "abc", ""]), ["--out", out]),
        ("--run", ["augment", "--class", "1", "--n", "2", "--run"], st.just(f) | st.just(str(root / "empty")) | st.just(str(root / "nope")),
         ["--out", out]),
        ("--data", ["augment", "--class", "1", "--n", "2", "--data"], st.just(f) | st.just(str(root / "nope")) | st.just("cifar10"),
         ["--out", out]),
        ("--out", base + ["--class", "1", "--n", "2", "--out"], st.just(f) | st.just(f + "/x"), []),
    ]


@pytest.mark.parametrize("case", [c[0] for c in cases(Path("/x"))])
def test_hostile_values_are_refused_before_any_work(sandbox: Path, case: str, capsys) -> None:
    name, before, values, after = next(c for c in cases(sandbox) if c[0] == case)

    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(value=values)
    def check(value: str) -> None:
        files = set(sandbox.rglob("*"))
        capsys.readouterr()
        try:
            code = main([*before, value, *after])
        except SystemExit as e:  # argparse
            code = e.code
        err = capsys.readouterr().err
        assert code == 2, (name, value, err)
        assert err.startswith("gankit: error:") and "Traceback" not in err, (name, value, err)
        assert set(sandbox.rglob("*")) == files, (name, value)

    check()
