"""``gankit recommend``: which recipe to start from for a task, and why.

The selection follows the classic guidance: paired image-to-image translation -> Pix2Pix; unpaired
-> CycleGAN; super-resolution -> SRGAN/ESRGAN; high-quality unconditional generation -> StyleGAN;
small datasets (under ~10k images) -> DiffAugment and WGAN-GP; otherwise DCGAN, the reliable
default; real-time generation favours a small DCGAN generator; data augmentation wants a
class-conditional GAN.

Only recipes that exist in the recipe folder when :func:`recommend` is called are named. Where the
ideal architecture has no gankit recipe yet, the reasons say so plainly and the recommendation
falls back to the closest existing recipe, or to ``recipe=None`` when no existing recipe does the
task at all (a noise-to-image GAN cannot translate images).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import yaml

from gankit.errors import ConfigError
from gankit.core.registry import did_you_mean

TASKS = ("generate", "generate-conditional", "translate-paired", "translate-unpaired", "super-resolve", "inpaint", "edit-domains",
         "augment")
#: Below this many training images D memorises the data and overpowers G (Karras et al. 2020,
#: "Training GANs with limited data"; Zhao et al. 2020, "Differentiable augmentation").
SMALL_DATA = 10_000
#: ``--realtime``: how to ship it fast (benchmarks/export_speed.py measures the ratios on your machine).
SERVE_FAST = ("--realtime: ship it exported: `gankit export RUN --format onnx --out EXPORT`, then `gankit serve EXPORT` "
              "(ONNX Runtime; micro-batching joins concurrent requests). ONNX Runtime is several times faster than eager "
              "PyTorch at batch 1 on a CPU (docs/benchmarks.md, generation speed).")
#: ``--realtime``: a DCGAN generator with at most this many base channels.
REALTIME_BASE_CHANNELS = 32
#: DCGAN's default ``base_channels`` (gankit.models.dcgan).
DCGAN_BASE_CHANNELS = 64

#: Recipe families: patterns over recipe file stems, best first.
FAMILIES: dict[str, tuple[str, ...]] = {
    "default": ("default_fashion_mnist",),  # make demo's recipe: the lowest FID at 10 CPU minutes, needs labels
    "dcgan": ("dcgan_fashion_mnist", "dcgan*"),
    "wgan_gp": ("wgan_gp_fashion_mnist", "wgan_gp*"),
    "diffaugment": ("*diffaug*",),
    # the stablest recipes for quality, best first: hinge + spectral norm (+ DiffAugment, EMA), WGAN-GP
    "quality": ("stable_fashion_mnist", "sngan*", "wgan_gp_fashion_mnist", "wgan_gp*", "hinge*"),
    "stylegan": ("stylegan2_fashion_mnist", "stylegan*"),
    "style_folder": ("stylegan2_folder_64", "stylegan*folder*"),
    "pix2pix": ("pix2pix_edges2items", "pix2pix*"),
    "cyclegan": ("cyclegan_sandal2sneaker", "cyclegan*"),
    "pix2pix_folder": ("pix2pix_folder*",),
    "cyclegan_folder": ("cyclegan_folder*",),
    "srgan": ("srgan_fmnist_2x", "srgan*", "esrgan*"),
    "srgan_folder": ("esrgan_folder*", "*sr*folder*"),
    "srresnet": ("srresnet*",),
    "inpaint": ("inpaint_fmnist", "inpaint*"),
    "stargan": ("stargan_fmnist_domains", "stargan*"),
    # measured best first (docs/benchmarks.md, class-conditional section)
    "conditional": ("tacgan_fashion_mnist", "acgan_fashion_mnist", "cgan_fashion_mnist", "tacgan*", "acgan*", "cgan*", "projection*",
                    "biggan*", "*conditional*"),
    "mlp": ("mlp_fashion_mnist",),
    "folder": ("dcgan_folder*", "*folder*"),
}
_MISSING = {  # family -> (what it is, what it is the standard for)
    "stylegan": ("StyleGAN", "high-quality unconditional generation"),
    "pix2pix": ("Pix2Pix", "paired image-to-image translation (U-Net generator, PatchGAN discriminator, L1 + adversarial loss)"),
    "cyclegan": ("CycleGAN", "unpaired translation (two generators with a cycle-consistency loss)"),
    "srgan": ("SRGAN/ESRGAN", "super-resolution (residual generator, perceptual + adversarial loss)"),
    "inpaint": ("A context encoder with a global + local D", "inpainting (filling a masked hole)"),
    "stargan": ("StarGAN", "multi-domain editing (one generator, the target domain as a label)"),
    "conditional": ("A class-conditional GAN (cGAN / AC-GAN / TAC-GAN)", "data augmentation: it generates labelled samples of a chosen class"),
}
_MISSING_SHORT = {"conditional": "class-conditional"}
#: Why the default recipe is the default (benchmarks/quality_per_minute.py, docs/benchmarks.md).
DEFAULT_WHY = ("the lowest FID measured after 10 minutes on 2 CPU cores, at least 25 % below DCGAN's with recall no lower "
               "(benchmarks/quality_per_minute.py, 3 seeds; docs/benchmarks.md). It is a TAC-GAN: it uses class labels "
               "(Fashion-MNIST has them; a folder needs one subfolder per class) and samples every class in turn for an "
               "unconditional sample; for unlabelled images use dcgan_fashion_mnist.")
#: ``--task augment``: the command that does it, with the filter (docs/augment.md).
AUGMENT_USAGE = ("`gankit augment --data DATA --class K --n N --recipe {recipe} --filter drs --out DIR` trains it on "
                 "your (imbalanced) data and writes N samples of class K as an ImageFolder ready to merge, kept by discriminator "
                 "rejection sampling (`--filter confidence:0.9` keeps those a classifier trained on the same data gives p(K) >= 0.9, "
                 "but that judge is biased against a rare class: it passed almost nothing at 1 % in the study, and at 5 % kept "
                 "prototypical samples that lowered recall); its manifest.json reports the acceptance rate. Compare with random "
                 "oversampling, which beat GAN samples at 1 % and 5 % in every class of the study: docs/augment.md.")


@dataclass
class Recommendation:
    recipe: str | None  # a recipe name that exists in the recipe folder, or None
    path: Path | None
    reasons: list[str]
    alternatives: list[str] = field(default_factory=list)  # other existing recipe names worth a try
    settings: list[str] = field(default_factory=list)  # `--set KEY=VALUE` overrides to add to the recipe
    command: str = "train"  # the gankit command of the `start:` line: train, or augment


def default_recipe_dirs() -> list[Path]:
    """``./configs`` then the package's ``configs/`` (the CLI's search order)."""
    return [Path.cwd() / "configs", Path(__file__).resolve().parents[2] / "configs"]


def available_recipes(configs_dir: str | Path | Sequence[str | Path] | None = None) -> dict[str, Path]:
    """Recipe name -> path, read from disk now (the first folder wins for a name)."""
    if configs_dir is None:
        dirs = default_recipe_dirs()
    elif isinstance(configs_dir, (str, Path)):
        dirs = [Path(configs_dir)]
    else:
        dirs = [Path(d) for d in configs_dir]
    found: dict[str, Path] = {}
    for d in dirs:
        if d.is_dir():
            for p in sorted(d.glob("*.yaml")):
                found.setdefault(p.stem, p)
    return found


def _raw(path: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _regularizers(raw: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in (raw.get("regularizers") or []) if isinstance(r, dict) and "name" in r]


def _generator(raw: dict[str, Any]) -> tuple[str, int]:
    gen = (raw.get("model") or {}).get("generator") or {}
    return str(gen.get("name", "dcgan")), int(gen.get("base_channels", DCGAN_BASE_CHANNELS))


class _Builder:
    def __init__(self, recipes: dict[str, Path]) -> None:
        self.recipes = recipes
        self.reasons: list[str] = []
        self.alternatives: list[str] = []
        self.add_regs: list[str] = []  # regularizers the chosen recipe should gain
        self.sets: dict[str, Any] = {}

    def has(self, family: str) -> str | None:
        for pattern in FAMILIES[family]:
            for name in sorted(self.recipes):
                if fnmatch(name, pattern):
                    return name
        return None

    def raw(self, name: str | None) -> dict[str, Any]:
        return _raw(self.recipes[name]) if name else {}

    def uses(self, name: str | None, regularizer: str) -> bool:
        return any(r["name"] == regularizer for r in _regularizers(self.raw(name)))

    def with_regularizer(self, name: str | None) -> str | None:
        """The first recipe (sorted) that lists ``name`` among its regularizers."""
        return next((n for n in sorted(self.recipes) if self.uses(n, name)), None) if name else None

    def missing(self, family: str) -> None:
        what, task = _MISSING[family]
        self.reasons.append(f"{what} is the standard for {task}; gankit has no {_MISSING_SHORT.get(family, what)} recipe yet.")

    def alt(self, *names: str | None) -> None:
        for n in names:
            if n and n not in self.alternatives:
                self.alternatives.append(n)

    def done(self, recipe: str | None) -> Recommendation:
        settings: list[str] = []
        if recipe:
            regs = _regularizers(self.raw(recipe))
            new = [r for r in dict.fromkeys(self.add_regs) if not any(x["name"] == r for x in regs)]
            if new:  # --set replaces the whole list: keep the recipe's own regularizers
                full = regs + [{"name": r} for r in new]
                settings.append("regularizers=" + yaml.safe_dump(full, default_flow_style=True, width=10_000).strip())
            settings += [f"{k}={v}" for k, v in self.sets.items()]
        alts = [a for a in self.alternatives if a != recipe]
        return Recommendation(recipe, self.recipes.get(recipe) if recipe else None, self.reasons, alts, settings)


def _small_data(b: _Builder, data_size: int, name: str | None) -> str | None:
    """Small-data advice for the chosen recipe (or a choice where there is none yet)."""
    b.reasons.append(
        f"{data_size} training images is small (< {SMALL_DATA}): D memorises a small dataset and overpowers G; "
        "DiffAugment (differentiable augmentation of real and fake images) and a gradient-penalised critic "
        "(WGAN-GP) keep training stable."
    )
    diff = b.has("diffaugment") or b.with_regularizer("diffaugment")
    if name is None:
        name = diff or b.has("wgan_gp")
    else:
        b.alt(diff)
    if name is None:  # whichever recipe is picked later gains DiffAugment
        b.add_regs.append("diffaugment")
        b.reasons.append("Add DiffAugment to the recipe: `regularizers: [..., {name: diffaugment}]`.")
        return None
    if b.uses(name, "diffaugment"):
        b.reasons.append(f"{name} trains with DiffAugment.")
    else:
        b.add_regs.append("diffaugment")
        b.reasons.append(f"Add DiffAugment to {name}: `regularizers: [..., {{name: diffaugment}}]`.")
    limit = (b.raw(name).get("data") or {}).get("limit")
    if limit and limit != data_size:
        b.sets["data.limit"] = data_size
        b.reasons.append(f"{name} trains on the first {limit} images (data.limit: {limit}); set data.limit: {data_size} "
                         "(or data.root for your own images).")  # fmt: skip
    b.alt(b.has("wgan_gp"))
    return name


def _translation(b: _Builder, family: str, what: str, data_size: int) -> Recommendation:
    name = b.has(family)
    if name:
        b.reasons.append(f"{name}: {_MISSING[family][0]} is the standard for {_MISSING[family][1]}.")
    else:
        b.missing(family)
        b.reasons.append(f"No existing recipe {what} (they all generate images from noise), so none is recommended.")
    if name:
        folder = b.has(f"{family}_folder")
        layout = "a train/ folder of A|B side-by-side files, data.name: aligned" if family == "pix2pix" else "trainA/ and trainB/, data.name: unaligned"
        if folder:
            b.reasons.append(f"For your own images ({layout}) start from {folder} and set data.root; it is sized for a GPU "
                             "(256 px); on a CPU shrink data.image_size and the networks' base_channels.")  # fmt: skip
        b.reasons.append(f"`gankit translate RUN --input DIR --out DIR` applies it; `gankit eval RUN` measures it "
                         + ("(L1, PSNR, SSIM, FID)." if family == "pix2pix" else "(FID/KID to the target domain, cycle L1)."))  # fmt: skip
    if data_size < SMALL_DATA and family == "pix2pix":
        b.reasons.append(f"With {data_size} pairs, augment strongly (the same random crop/flip on both images of a pair: the default "
                         "preprocess resize_and_crop with flips does this).")  # fmt: skip
    return b.done(name)


_RESTORE = {  # task -> (family, what it does, how to apply it, what `gankit eval` reports)
    "super-resolve": ("srgan", "maps low- to high-resolution images", "gankit upscale RUN --input LOWRES --out DIR",
                      "PSNR, SSIM and FID against bicubic upsampling"),
    "inpaint": ("inpaint", "fills masked holes", "gankit inpaint RUN --input IMG --mask MASK.png --out DIR",
                "hole PSNR and L1 against mean fill and OpenCV's Telea inpainting"),
    "edit-domains": ("stargan", "translates an image into any of several domains", "gankit translate RUN --input IMG --out DIR --target-class K",
                     "the target-class rate and FID per domain, and the reconstruction L1"),
}  # fmt: skip


def _restoration(b: _Builder, task: str, data_size: int, realtime: bool) -> Recommendation:
    family, what, usage, measures = _RESTORE[task]
    name = b.has(family)
    if not name:
        b.missing(family)
        b.reasons.append(f"No existing recipe {what}, so none is recommended.")
        return b.done(None)
    b.reasons.append(f"{name}: {_MISSING[family][0]} is the standard for {_MISSING[family][1]}.")
    if family == "srgan":
        b.alt(b.has("srresnet"), b.has("srgan_folder"))
        b.reasons.append("SRGAN trades pixel accuracy for realism (lower PSNR, better FID); for the highest PSNR train the "
                         f"SRResNet baseline{' ' + b.has('srresnet') if b.has('srresnet') else ''} (no D).")  # fmt: skip
        if b.has("srgan_folder"):
            b.reasons.append(f"For your own photos (a folder of high-resolution images, data.name: sr_folder) start from "
                             f"{b.has('srgan_folder')} and set data.root; it is sized for a GPU.")  # fmt: skip
        if realtime:
            b.reasons.append("--realtime: keep the generator light (model.generator.n_blocks: 4, base_channels: 32).")
            b.reasons.append(SERVE_FAST)
    if family == "stargan":
        b.reasons.append("It needs labelled images: one subfolder per domain (data.name: folder) or Fashion-MNIST's classes.")
    if data_size < SMALL_DATA and family != "stargan":
        b.reasons.append(f"{data_size} images is small: train on random crops (data.crop: random) so each image gives many examples.")
    b.reasons.append(f"`{usage}` applies it; `gankit eval RUN` reports {measures}.")
    return b.done(name)


def recommend(
    task: str,
    data_size: int,
    quality: str | None = None,
    realtime: bool = False,
    configs_dir: str | Path | Sequence[str | Path] | None = None,
) -> Recommendation:
    """The recipe to start from for ``task`` with ``data_size`` training images.

    ``quality``: None or ``"high"``; ``realtime``: generation must be fast (favours a small DCGAN
    generator). ``configs_dir``: recipe folder(s) to choose from (default ``./configs``, then the
    package's). Raises :class:`~gankit.errors.ConfigError` for an unknown task or a bad size.
    """
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}.{did_you_mean(task, list(TASKS))}")
    if isinstance(data_size, bool) or not isinstance(data_size, int) or data_size < 1:
        raise ConfigError(f"--data-size: the number of training images, a positive integer (got {data_size!r}).")
    if quality not in (None, "high"):
        raise ConfigError(f"--quality: only 'high' is supported (got {quality!r}).")
    b = _Builder(available_recipes(configs_dir))
    small = data_size < SMALL_DATA

    if task == "translate-paired":
        return _translation(b, "pix2pix", "translates paired images", data_size)
    if task == "translate-unpaired":
        return _translation(b, "cyclegan", "translates between unpaired domains", data_size)
    if task in ("super-resolve", "inpaint", "edit-domains"):
        return _restoration(b, task, data_size, realtime)

    name: str | None = None
    if task in ("augment", "generate-conditional"):
        name = b.has("conditional")
        if name:
            b.reasons.append(f"{name} is class-conditional: it generates samples of a chosen class"
                             + (", which augmentation needs." if task == "augment" else " (`gankit sample RUN --class K`)."))
            b.reasons.append("It needs class labels: Fashion-MNIST/MNIST have them; a folder needs one subfolder per class.")
            if task == "augment":
                b.reasons.append(AUGMENT_USAGE.format(recipe=name))
        else:
            b.missing("conditional")
            name = b.has("dcgan")
            if name:
                b.reasons.append(
                    f"Falling back to {name}: its samples carry no labels; train one GAN per class (one data "
                    "folder per class) or label the samples with a classifier, and check that they help the "
                    "downstream task before relying on them."
                )
    else:  # generate
        if quality == "high":
            name = b.has("stylegan")
            if name:
                b.reasons.append(
                    f"{name}: StyleGAN gives the best quality for unconditional generation, on a GPU. On a CPU its "
                    "small preset runs G about 11x and D about 25x slower than DCGAN-32 (images/s forward + backward at "
                    "batch 64, one thread, same process), and at 30 CPU minutes it reached FID 170 against DCGAN-32's 37.5 "
                    "(79 with 16-32 channels); within an hour of CPU, stable_fashion_mnist is the safer bet."
                )
            else:
                b.missing("stylegan")
                name = b.has("quality")
                if name:
                    b.reasons.append(
                        f"Closest existing recipe: {name}, the stablest and sharpest of gankit's recipes "
                        "(hinge or Wasserstein loss with a Lipschitz-constrained D)."
                    )
                    for reg, why in (("spectral_norm", "spectral norm on D"), ("ema", "an EMA of G for sampling")):
                        if not b.uses(name, reg) and not (reg == "spectral_norm" and b.raw(name).get("loss", {}).get("name") == "wgan_gp"):
                            b.add_regs.append(reg)
                            b.reasons.append(f"Add {why}: `{{name: {reg}}}` in `regularizers`.")
    if small:
        name = _small_data(b, data_size, name)
        if quality == "high" and b.has("stylegan") == name:
            b.reasons.append("StyleGAN on small data needs adaptive augmentation (StyleGAN2-ADA) or DiffAugment.")
    if realtime and task == "generate":
        if quality == "high":
            b.reasons.append("--realtime and --quality high pull apart: StyleGAN-class generators are slow, a DCGAN generator is fast.")
        gen_name, base = _generator(b.raw(name))
        if name is None or gen_name != "dcgan":
            b.alt(name)
            name = b.has("dcgan")
            gen_name, base = _generator(b.raw(name))
        if name:
            if base > REALTIME_BASE_CHANNELS:
                b.sets["model.generator.base_channels"] = REALTIME_BASE_CHANNELS
            b.reasons.append(
                f"--realtime: {name} uses the DCGAN generator (a few transposed convolutions, milliseconds per batch); "
                f"keep it small, model.generator.base_channels: {min(base, REALTIME_BASE_CHANNELS)}."
            )
        b.reasons.append(SERVE_FAST)
        b.alt(b.has("mlp"))
    if name is None and task == "generate":
        default = b.has("default")
        name = default or b.has("dcgan")
        if name and name == default:
            b.reasons.append(f"{name}: {DEFAULT_WHY}")
        elif name:
            b.reasons.append(f"{name}: DCGAN is the reliable default for unconditional generation with enough data.")
    b.alt(b.has("dcgan"), b.has("quality"))
    style = quality == "high" and name is not None and name == b.has("stylegan")
    folder = (b.has("style_folder") or b.has("folder")) if style else b.has("folder")
    augmenting = task == "augment" and name is not None and name == b.has("conditional")
    if augmenting:
        b.reasons.append(f"For your own images, `gankit augment --data DIR` (one subfolder per class) trains {name} on the folder.")
    elif folder and folder != name:
        where = " on a GPU" if style else ""
        b.reasons.append(f"For your own images (not Fashion-MNIST){where}, start from {folder} and set data.root.")
    rec = b.done(name)
    rec.command = "augment" if augmenting else "train"
    return rec


def format_recommendation(rec: Recommendation) -> str:
    """What ``gankit recommend`` prints."""
    head = f"recipe: {rec.recipe}  ({rec.path})" if rec.recipe else "recipe: none of gankit's recipes fits this task"
    lines = [head, "why:"] + [f"  - {r}" for r in rec.reasons]
    if rec.recipe:
        sets = "".join(f" --set '{s}'" for s in rec.settings)
        if rec.command == "augment":
            lines.append(f"start: gankit augment --data DATA --class K --n N --recipe {rec.recipe}{sets} --filter drs --out DIR")
        else:
            lines.append(f"start: gankit train {rec.recipe}{sets}")
    if rec.alternatives:
        lines.append("alternatives: " + ", ".join(rec.alternatives))
    return "\n".join(lines)


__all__ = ["FAMILIES", "SMALL_DATA", "TASKS", "Recommendation", "available_recipes", "format_recommendation", "recommend"]
