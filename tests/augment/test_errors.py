"""Bad input to ``gankit augment`` fails before any training, with one message saying what to change."""

from __future__ import annotations

import pytest
from PIL import Image

from gankit.cli import main
from gankit.config import load_config
from gankit.train.engine import train


def _err(capsys, argv) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    return err


def _base(tmp_path, recipe, *extra):
    return ["augment", "--data", "fashion-mnist", "--recipe", str(recipe), "--out", str(tmp_path / "out"),
            "--train-out", str(tmp_path / "run"), *extra]  # fmt: skip


def test_a_class_that_does_not_exist_names_the_valid_ones(tiny_cgan, tmp_path, capsys):
    err = _err(capsys, _base(tmp_path, tiny_cgan, "--class", "12", "--n", "5"))
    assert "--class 12: no such class" in err and "0: T-shirt/top" in err and "9: Ankle boot" in err
    err = _err(capsys, _base(tmp_path, tiny_cgan, "--class", "Sock", "--n", "5"))
    assert "--class 'Sock'" in err and "6: Shirt" in err
    assert not (tmp_path / "run").exists()  # nothing trained


@pytest.mark.parametrize("n", ["0", "-3", "many"])
def test_n_must_be_positive(tiny_cgan, tmp_path, capsys, n):
    with pytest.raises(SystemExit) as e:
        main(_base(tmp_path, tiny_cgan, "--class", "6", "--n", n))
    assert e.value.code == 2 and "argument --n" in capsys.readouterr().err


def test_n_is_checked_for_library_callers_too(tmp_path):
    from gankit.augment.command import AugmentRequest, augment
    from gankit.errors import ConfigError

    with pytest.raises(ConfigError, match="--n: the number of synthetic images, at least 1"):
        augment(AugmentRequest(klass=1, n=0, out=tmp_path / "o", data="fashion-mnist"))


def test_a_folder_without_class_subfolders(tiny_cgan, tmp_path, capsys):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i in range(4):
        Image.new("L", (8, 8), 10 * i).save(flat / f"{i}.png")
    argv = _base(tmp_path, tiny_cgan, "--class", "0", "--n", "3")
    argv[2] = str(flat)
    err = _err(capsys, argv)
    assert "gankit augment needs class labels" in err and "own subfolder" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    argv[2] = str(empty)
    assert "contains no images" in _err(capsys, argv)
    argv[2] = str(tmp_path / "missing")
    assert "neither a built-in dataset" in _err(capsys, argv)


def test_an_unconditional_run_or_recipe_is_refused(tiny_recipe, tmp_path, capsys):
    run = train(load_config(tiny_recipe, ["train.max_steps=2"]), tmp_path / "uncond", hooks=[]).run_dir
    err = _err(capsys, ["augment", "--run", str(run), "--class", "1", "--n", "3", "--out", str(tmp_path / "o")])
    assert "is an unconditional gan run" in err and "class-conditional" in err
    err = _err(capsys, _base(tmp_path, tiny_recipe, "--class", "1", "--n", "3"))
    assert "without class input" in err and "tacgan_fashion_mnist" in err
    assert not (tmp_path / "run").exists()


def test_other_misuse(tiny_cgan, tmp_path, capsys):
    assert "--data DATASET_OR_DIR is needed" in _err(capsys, ["augment", "--class", "1", "--n", "3", "--out", str(tmp_path / "o")])
    err = _err(capsys, ["augment", "--run", str(tmp_path), "--minutes", "2", "--class", "1", "--n", "3", "--out", str(tmp_path / "o")])
    assert "--run reuses RUN as it is" in err
    err = _err(capsys, _base(tmp_path, tiny_cgan, "--class", "6", "--n", "3", "--set", "data.per_class_limit={6: 0}"))
    assert "class 6 (Shirt) has no training images" in err
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text("{}")
    assert "already holds a manifest.json" in _err(capsys, _base(tmp_path, tiny_cgan, "--class", "6", "--n", "3"))
    with pytest.raises(SystemExit):
        main(_base(tmp_path, tiny_cgan, "--class", "6", "--n", "3", "--filter", "confidence:2"))
    assert "threshold is a probability in (0, 1]" in capsys.readouterr().err
