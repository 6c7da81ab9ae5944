"""The recipe schema: errors name the path and the closest keys; YAML quirks do not bite."""

import pytest

from gankit.config import apply_overrides, load_config, load_yaml, validate
from gankit.errors import ConfigError


def test_unknown_key_names_path_and_closest_keys():
    with pytest.raises(ConfigError) as e:
        validate({"train": {"bach_size": 3}})
    assert "train.bach_size" in str(e.value) and "batch_size" in str(e.value)


def test_wrong_type_and_value_name_the_path():
    with pytest.raises(ConfigError, match=r"train\.batch_size.*integer"):
        validate({"train": {"batch_size": "many"}})
    with pytest.raises(ConfigError, match=r"data\.name"):
        validate({"data": {"name": "cifar"}})
    with pytest.raises(ConfigError, match=r"train\.batch_size"):
        validate({"train": {"batch_size": 0}})


def test_on_key_is_a_string_not_a_boolean():
    assert load_yaml("{name: spectral_norm, on: both, x: yes, y: true}") == {"name": "spectral_norm", "on": "both", "x": "yes", "y": True}
    cfg = validate(apply_overrides({}, ["regularizers=[{name: spectral_norm, on: both}]"]))
    assert cfg.regularizers[0].params == {"on": "both"}


def test_overrides_parse_yaml_values(tmp_path):
    p = tmp_path / "r.yaml"
    p.write_text("train: {batch_size: 32}\n")
    cfg = load_config(p, ["train.batch_size=128", "optim.g.betas=[0.0, 0.9]", "optim.d.lr=1e-4", "train.grad_clip=null"])
    assert cfg.train.batch_size == 128 and cfg.optim.g.betas == (0.0, 0.9) and cfg.optim.d.lr == 1e-4
    assert cfg.name == "r"  # the file name when the recipe names none
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        load_config(p, ["train.batch_size"])


def test_missing_file_points_to_recipes(tmp_path):
    with pytest.raises(ConfigError, match="gankit recipes"):
        load_config(tmp_path / "nope.yaml")


def test_precision_32_may_be_written_as_a_number():
    assert validate(apply_overrides({}, ["train.precision=32"])).train.precision == "32"
    with pytest.raises(ConfigError, match="train.precision"):
        validate({"train": {"precision": 16}})


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("data:\n\tname: mnist\n", r"line 2, column 1.*never tabs"),
        ("train:\n  batch_size: 32\n  batch_size: 64\n", r"line 3.*'batch_size' is given twice \(first at line 2\)"),
        ("base: &opt {lr: 0.001}\noptim:\n  G: *opt\n", r"line 3.*aliases \(\*opt\) are not allowed"),
        ("trian:\n  batch_size: 3\n", r"unknown key 'trian'. Did you mean 'train'\?"),
        ("- just\n- a list\n", "must be a mapping of sections"),
    ],
    ids=["tab", "duplicate-key", "alias", "unknown-section", "not-a-mapping"],
)
def test_hostile_recipe_files_name_the_file_and_the_line(tmp_path, text, match):
    p = tmp_path / "hostile.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError, match=match) as err:
        load_config(p)
    assert str(err.value).startswith(str(p))


def test_a_recipe_that_is_not_text(tmp_path):
    p = tmp_path / "binary.yaml"
    p.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(ConfigError, match="binary.yaml: not a text file"):
        load_config(p)
