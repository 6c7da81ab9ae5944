"""Tiny runs of every task family, trained for a few steps once per session, and their exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from gankit.config import load_config
from gankit.train.engine import train

SMALL = ["train.max_minutes=null", "train.max_steps=2", "train.batch_size=4", "log.log_every=1", "log.eval_every=1000",
         "log.ckpt_every=1000", "log.progress=false", "log.tensorboard=false"]  # fmt: skip
CH = ["model.generator.base_channels=4", "model.discriminator.base_channels=4"]
STYLE = ["model.z_dim=8", "model.generator={name: stylegan2, w_dim: 8, mapping_layers: 1, max_channels: 8, min_channels: 4}",
         "model.discriminator={name: stylegan2, max_channels: 8, min_channels: 4}", "task.pl_every=2",
         "regularizers=[{name: r1, gamma: 0.1, every: 4}, {name: ema, half_life_images: 500}]"]  # fmt: skip

#: family -> (recipe in configs/, overrides). Every task family gankit has, at test size.
FAMILIES: dict[str, tuple[str, list[str]]] = {
    "dcgan": ("dcgan_fashion_mnist", ["model.z_dim=8", *CH]),
    "sngan": ("sngan_fashion_mnist", ["model.z_dim=8", *CH]),  # spectral norm on D only; G plain
    "resnet": ("sngan_resnet_fashion_mnist", ["model.z_dim=8", *CH]),
    "mlp": ("mlp_grid25", ["model.generator.hidden=16", "model.discriminator.hidden=16"]),
    "cgan": ("cgan_fashion_mnist", ["model.z_dim=8", *CH]),
    "acgan": ("acgan_fashion_mnist", ["model.z_dim=8", *CH]),
    "projection": ("projection_fashion_mnist", ["model.z_dim=8", *CH]),
    "biggan": ("biggan_fashion_mnist", ["model.z_dim=8", "model.generator.shared_dim=8", *CH]),
    "stylegan2": ("stylegan2_fashion_mnist", [*STYLE, "train.batch_size=8"]),
    "stylegan2_cond": ("stylegan2_fashion_mnist", [*STYLE, "task.conditional=true", "train.batch_size=8"]),
    # 6 steps of 8 images: stage 1 (14 px) fading in at alpha 0.5, baked into the export
    "progan": ("progan_fashion_mnist", ["model.z_dim=8", "task={name: progan, stage_images: 32, fade_images: 32}",
                                        "model.generator={name: progan, max_channels: 8, min_channels: 4}",
                                        "model.discriminator={name: progan, max_channels: 8, min_channels: 4}",
                                        "train.batch_size=8", "train.max_steps=6"]),  # fmt: skip
    "pix2pix": ("pix2pix_edges2items", CH),
    "cyclegan": ("cyclegan_sandal2sneaker", CH),
    "srresnet": ("srresnet_fmnist_2x", [*CH, "model.generator.n_blocks=1"]),
    "srgan": ("srgan_fmnist_2x", [*CH, "model.generator.n_blocks=1", "task.pretrain_steps=1"]),
    "stargan": ("stargan_fmnist_domains", [*CH, "train.n_critic=1"]),
    "inpaint": ("inpaint_fmnist", CH),
}


class Runs:
    """Trains each family the first time a test asks for it; exports are cached by (family, format, options)."""

    def __init__(self, root: Path, idx: Path) -> None:
        self.root, self.idx = root, idx
        self._runs: dict[str, Path] = {}
        self._exports: dict[tuple, Path] = {}
        self.families = set(FAMILIES)

    def run(self, family: str) -> Path:
        if family not in self._runs:
            recipe, over = FAMILIES[family]
            cfg = load_config(f"configs/{recipe}.yaml", [f"data.root={self.idx}", *SMALL, *over])
            self._runs[family] = train(cfg, self.root / "runs" / family, hooks=[]).run_dir
        return self._runs[family]

    def export(self, family: str, fmt: str = "onnx", **options) -> Path:  # noqa: ANN003
        key = (family, fmt, tuple(sorted(options.items())))
        if key not in self._exports:
            from gankit.export import export

            name = "-".join([family, fmt, *(f"{k}{v}" for k, v in sorted(options.items()))])
            self._exports[key] = export(self.run(family), fmt, self.root / "exports" / name, log=lambda _m: None, **options).path
        return self._exports[key]


@pytest.fixture(scope="session")
def runs(tmp_path_factory, tiny_idx) -> Runs:
    return Runs(tmp_path_factory.mktemp("export"), tiny_idx)
