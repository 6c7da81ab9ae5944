"""``gankit recommend --task augment`` points at ``gankit augment`` with the filter, and its start line runs."""

from __future__ import annotations

import shlex
from pathlib import Path

from gankit.cli import build_parser
from gankit.config import load_config
from gankit.diagnostics.recommend import format_recommendation, recommend

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_augment_reasons_and_start_line_name_gankit_augment_with_a_filter(tmp_path):
    for size in (500, 60_000):
        rec = recommend("augment", size, configs_dir=CONFIGS)
        assert rec.recipe == "tacgan_fashion_mnist" and rec.command == "augment"
        assert any("gankit augment --data DATA --class K --n N" in r and "--filter confidence:0.9" in r and "--filter drs" in r
                   for r in rec.reasons)  # fmt: skip
        assert any("gankit augment --data DIR" in r for r in rec.reasons)  # a folder, not an unconditional folder recipe
        assert not any("dcgan_folder" in r for r in rec.reasons)
        start = next(line for line in format_recommendation(rec).splitlines() if line.startswith("start: "))
        assert start.startswith("start: gankit augment --data DATA --class K --n N --recipe tacgan_fashion_mnist")
        # the start line parses as `gankit augment` arguments (placeholders filled in), its --set overrides fit the recipe
        fill = {"DATA": "fashion-mnist", "K": "6", "N": "100", "DIR": str(tmp_path / "out")}
        argv = [fill.get(a, a) for a in shlex.split(start.removeprefix("start: gankit "))]
        args = build_parser().parse_args(argv)
        assert args.command == "augment" and args.filter.kind == "drs"  # the filter the study could use at 1 %
        load_config(rec.path, list(args.set or []))
    small = recommend("augment", 500, configs_dir=CONFIGS)
    assert any("diffaugment" in s for s in small.settings)


def test_without_a_conditional_recipe_augment_falls_back_to_train(tmp_path):
    (tmp_path / "dcgan_fashion_mnist.yaml").write_text((CONFIGS / "dcgan_fashion_mnist.yaml").read_text())
    rec = recommend("augment", 60_000, configs_dir=tmp_path)
    assert rec.command == "train" and "start: gankit train dcgan_fashion_mnist" in format_recommendation(rec)
    assert not any("gankit augment --data" in r for r in rec.reasons)  # gankit augment refuses unconditional recipes
