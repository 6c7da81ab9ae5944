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
