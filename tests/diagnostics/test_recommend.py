"""``gankit recommend`` names only recipes that exist and follows the selection guidance."""

from pathlib import Path

import pytest
import yaml

from gankit.config import load_config
from gankit.diagnostics.recommend import (
    SMALL_DATA,
    TASKS,
    available_recipes,
    format_recommendation,
    recommend,
)
from gankit.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
SIZES = (500, 60_000)


def combos():
    for task in TASKS:
        for size in SIZES:
            for quality in (None, "high"):
                for realtime in (False, True):
                    yield task, size, quality, realtime


@pytest.mark.parametrize("task,size,quality,realtime", list(combos()))
def test_every_recommendation_names_existing_recipes(task, size, quality, realtime):
    rec = recommend(task, size, quality, realtime, configs_dir=CONFIGS)
    existing = available_recipes(CONFIGS)
    assert rec.reasons
    if rec.recipe is not None:
        assert rec.recipe in existing and rec.path == existing[rec.recipe] and rec.path.is_file()
        # the suggested overrides are valid for the recipe
        load_config(rec.path, rec.settings)
    assert all(a in existing for a in rec.alternatives) and rec.recipe not in rec.alternatives
    out = format_recommendation(rec)
    assert (rec.recipe or "none of gankit's recipes") in out


def _regs(rec):
    cfg = load_config(rec.path, rec.settings)
    return [r.name for r in cfg.regularizers], cfg


def test_default_is_make_demos_recipe_with_dcgan_for_unlabelled_images():
    rec = recommend("generate", 60_000, configs_dir=CONFIGS)
    assert rec.recipe == "default_fashion_mnist" and rec.settings == []
    assert "dcgan_fashion_mnist" in rec.alternatives and "labels" in rec.reasons[0] and "dcgan_fashion_mnist" in rec.reasons[0]
    assert "default_fashion_mnist.yaml" in (Path(__file__).resolve().parents[2] / "Makefile").read_text()  # what `make demo` trains


def test_without_the_default_recipe_dcgan_is_the_default(tmp_path):
    for p in CONFIGS.glob("*.yaml"):
        if p.name != "default_fashion_mnist.yaml":
            (tmp_path / p.name).write_text(p.read_text())
    rec = recommend("generate", 60_000, configs_dir=tmp_path)
    assert rec.recipe == "dcgan_fashion_mnist" and "reliable default" in rec.reasons[0]


@pytest.mark.parametrize("task", ["generate", "augment"])
def test_small_data_gets_diffaugment_or_wgan_gp(task):
    rec = recommend(task, SMALL_DATA - 1, configs_dir=CONFIGS)
    regs, cfg = _regs(rec)
    assert "diffaugment" in regs or cfg.loss.name == "wgan_gp"
    assert any("small" in r for r in rec.reasons)
    big = recommend(task, SMALL_DATA * 6, configs_dir=CONFIGS)
    assert not any("is small" in r for r in big.reasons)


def test_small_data_with_a_data_limit_recipe_sets_the_size():
    rec = recommend("generate", 5000, configs_dir=CONFIGS)
    cfg = load_config(rec.path, rec.settings)
    assert cfg.data.limit in (None, 5000)


def test_high_quality_picks_stylegan_and_says_what_it_costs_on_a_cpu():
    rec = recommend("generate", 60_000, "high", configs_dir=CONFIGS)
    assert rec.recipe == "stylegan2_fashion_mnist"
    text = " ".join(rec.reasons)
    assert "on a GPU" in text and "CPU" in text and "stable_fashion_mnist" in text
    assert load_config(rec.path, rec.settings).task.name == "stylegan2"
    assert "on a GPU, start from stylegan2_folder_64" in text  # own images: the GPU preset, not the DCGAN folder one
    assert "dcgan_folder_64" in " ".join(recommend("generate", 60_000, configs_dir=CONFIGS).reasons)


def test_high_quality_without_a_stylegan_recipe_picks_a_stable_one(tmp_path):
    import shutil

    for p in CONFIGS.glob("*.yaml"):
        if not p.name.startswith("stylegan"):
            shutil.copy(p, tmp_path / p.name)
    rec = recommend("generate", 60_000, "high", configs_dir=tmp_path)
    assert "gankit has no StyleGAN recipe yet" in " ".join(rec.reasons)
    assert rec.recipe != "dcgan_fashion_mnist"
    cfg = load_config(rec.path, rec.settings)
    # a stabilised recipe: a stabilising loss or at least one remedy switched on
    assert cfg.loss.name in ("hinge", "wgan_gp") or cfg.regularizers


def test_realtime_keeps_a_small_dcgan_generator():
    rec = recommend("generate", 60_000, realtime=True, configs_dir=CONFIGS)
    cfg = load_config(rec.path, rec.settings)
    assert cfg.model.generator.name == "dcgan" and cfg.model.generator.params.get("base_channels", 64) <= 32
    assert any("gankit export RUN --format onnx" in r and "gankit serve EXPORT" in r for r in rec.reasons)
    assert not any("gankit export" in r for r in recommend("generate", 60_000, configs_dir=CONFIGS).reasons)


@pytest.mark.parametrize("task,recipe,folder,task_name", [("translate-paired", "pix2pix_edges2items", "pix2pix_folder_256", "pix2pix"),
                                                          ("translate-unpaired", "cyclegan_sandal2sneaker", "cyclegan_folder_256", "cyclegan")])
def test_translation_tasks_pick_the_translation_recipes(task, recipe, folder, task_name):
    rec = recommend(task, 20_000, configs_dir=CONFIGS)
    assert rec.recipe == recipe and load_config(rec.path, rec.settings).task.name == task_name
    text = " ".join(rec.reasons)
    assert f"start from {folder}" in text and "gankit translate" in text


def test_translation_without_its_recipes_says_so(tmp_path):
    import shutil

    for p in CONFIGS.glob("*.yaml"):
        if not p.stem.startswith(("pix2pix", "cyclegan")):
            shutil.copy(p, tmp_path / p.name)
    rec = recommend("translate-paired", 500, configs_dir=tmp_path)
    assert rec.recipe is None and any("Pix2Pix" in r and "recipe yet" in r for r in rec.reasons)


@pytest.mark.parametrize("task,recipe,usage", [("super-resolve", "srgan_fmnist_2x", "gankit upscale"),
                                               ("inpaint", "inpaint_fmnist", "gankit inpaint"),
                                               ("edit-domains", "stargan_fmnist_domains", "--target-class")])
def test_restoration_tasks_pick_their_recipe(task, recipe, usage):
    rec = recommend(task, 20_000, configs_dir=CONFIGS)
    assert rec.recipe == recipe and any(usage in r for r in rec.reasons)
    if task == "super-resolve":
        assert "srresnet_fmnist_2x" in rec.alternatives and "esrgan_folder_4x" in rec.alternatives


@pytest.mark.parametrize("task,missing", [("super-resolve", "SRGAN"), ("inpaint", "context encoder"), ("edit-domains", "StarGAN")])
def test_tasks_without_a_recipe_say_plainly_there_is_none(task, missing, tmp_path):
    (tmp_path / "dcgan_fashion_mnist.yaml").write_text((CONFIGS / "dcgan_fashion_mnist.yaml").read_text())
    rec = recommend(task, 20_000, configs_dir=tmp_path)
    assert rec.recipe is None and rec.path is None and rec.settings == []
    assert any(missing in r and "no" in r and "recipe yet" in r for r in rec.reasons)
    assert "none of gankit's recipes fits" in format_recommendation(rec)


def test_augment_and_conditional_generation_pick_a_conditional_recipe():
    for task in ("augment", "generate-conditional"):
        rec = recommend(task, 60_000, configs_dir=CONFIGS)
        assert rec.recipe == "tacgan_fashion_mnist"  # the measured best conditional recipe
        assert any("class-conditional" in r for r in rec.reasons) and any("labels" in r for r in rec.reasons)


def test_augment_falls_back_to_dcgan_with_a_note_without_conditional_recipes(tmp_path):
    (tmp_path / "dcgan_fashion_mnist.yaml").write_text((CONFIGS / "dcgan_fashion_mnist.yaml").read_text())
    rec = recommend("augment", 60_000, configs_dir=tmp_path)
    assert rec.recipe == "dcgan_fashion_mnist"
    assert any("class-conditional" in r for r in rec.reasons) and any("labels" in r for r in rec.reasons)


def test_recipes_are_read_at_call_time(tmp_path):
    (tmp_path / "dcgan_fashion_mnist.yaml").write_text((CONFIGS / "dcgan_fashion_mnist.yaml").read_text())
    rec = recommend("generate", 500, configs_dir=tmp_path)  # no WGAN-GP / DiffAugment recipe here
    assert rec.recipe == "dcgan_fashion_mnist" and rec.alternatives == []
    assert "diffaugment" in _regs(rec)[0]
    assert recommend("translate-paired", 500, configs_dir=tmp_path).recipe is None
    (tmp_path / "pix2pix_facades.yaml").write_text(yaml.safe_dump({"description": "future"}))
    (tmp_path / "stylegan2_ffhq.yaml").write_text(yaml.safe_dump({"description": "future"}))
    assert recommend("translate-paired", 500, configs_dir=tmp_path).recipe == "pix2pix_facades"
    assert recommend("generate", 60_000, "high", configs_dir=tmp_path).recipe == "stylegan2_ffhq"
    assert recommend("generate", 60_000, configs_dir=tmp_path / "empty").recipe is None


def test_bad_arguments():
    with pytest.raises(ConfigError, match="translate-paired"):
        recommend("translate-pair", 100)
    with pytest.raises(ConfigError, match="data-size"):
        recommend("generate", 0)
    with pytest.raises(ConfigError, match="quality"):
        recommend("generate", 100, quality="ultra")
