"""One inference path: a run folder or checkpoint -> the task's inference module, for sampling,
evaluation, export and serving alike. It builds no D and no optimizers.

    import gankit
    g = gankit.load("runs/demo")          # G_ema where one was kept, else G
    g.signature                           # {"task": "gan", "z_dim": 100, "num_classes": 0, ...}
    imgs = g.sample(16, seed=0)           # uint8 (16, C, H, W); float32 (N, D) for 2D points
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydantic
import torch
from torch import nn

from gankit.config import Config, validate
from gankit.core.task import Signature, Task
from gankit.data import data_spec
from gankit.errors import CheckpointError, ConfigError, GankitError
from gankit.latent.truncation import truncated_noise
from gankit.train.checkpoint import load_checkpoint, resolve_checkpoint
from gankit.utils.images import save_grid, save_scatter, to_uint8


@dataclass
class Inference:
    module: nn.Module
    signature: Signature
    cfg: Config
    step: int
    path: Path
    weights: str  # which saved network was loaded (G or G_ema)
    class_names: list[str] | None = None  # index -> name for a conditional model

    @property
    def is_vector(self) -> bool:
        return self.signature["output"] == "vector"

    def noise(self, n: int, seed: int = 0, truncation: float | None = None) -> torch.Tensor:
        """Seeded N(0, I) noise; ``truncation``: entries beyond it redrawn (BigGAN's trick)."""
        return truncated_noise(n, self.signature["z_dim"], truncation, seed)

    def _check_classes(self, n: int, classes: list[int] | torch.Tensor | None) -> torch.Tensor | None:
        k = self.signature["num_classes"]
        if classes is None:
            return None
        if k == 0:
            raise ConfigError(f"{self.path}: this {self.signature['task']} model is unconditional; it takes no classes.")
        c = torch.as_tensor(classes, dtype=torch.long).reshape(-1)
        if len(c) not in (1, n):
            raise ConfigError(f"classes: give one class or one per sample ({n}), got {len(c)}.")
        if int(c.min()) < 0 or int(c.max()) >= k:
            raise ConfigError(f"classes: this model has classes 0..{k - 1}, got {c.tolist()[:8]}.")
        return c.expand(n) if len(c) == 1 else c

    @property
    def is_translator(self) -> bool:
        return self.signature.get("input_shape") is not None

    def _inputs(self, images: torch.Tensor, any_size: bool = False) -> torch.Tensor:
        """uint8 (or float in [-1, 1]) N x C x H x W as float in [-1, 1], its channels checked."""
        if not self.is_translator:
            raise ConfigError(f"{self.path}: this {self.signature['task']} model generates from noise; use sample(), not translate().")
        want = self.signature["input_shape"]
        if images.dim() != 4 or images.shape[1] != want[0]:
            raise ConfigError(f"inputs must be N x {want[0]} x H x W (this model reads {want[0]}-channel images, "
                              f"{want[1]} x {want[2]} in training), got {tuple(images.shape)}.")  # fmt: skip
        if not any_size and tuple(images.shape[2:]) != tuple(want[1:]) and self.signature["task"] == "stargan":
            raise ConfigError(f"inputs must be {want[1]} x {want[2]} (this model's training size), got {tuple(images.shape[2:])}.")
        return images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()

    def _run(self, *inputs: torch.Tensor, batch_size: int, device: str | torch.device) -> torch.Tensor:
        self.module.to(device).eval()
        outs = [self.module(*(t.to(device) for t in chunk)).float().cpu() for chunk in zip(*(t.split(batch_size) for t in inputs))]
        return to_uint8(torch.cat(outs)) if outs else torch.empty(0, *self.signature["output_shape"], dtype=torch.uint8)

    @torch.no_grad()
    def translate(self, images: torch.Tensor, batch_size: int = 64, device: str | torch.device = "cpu",
                  target_class: int | list[int] | torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        """uint8 (or float in [-1, 1]) N x C x H x W inputs -> uint8 outputs, for an image-to-image run.

        ``target_class``: the domain to translate into, one for all or one per image (StarGAN runs)."""
        x = self._inputs(images)
        if self.signature["task"] == "stargan":
            if target_class is None:
                raise ConfigError(f"{self.path}: a StarGAN run translates into a chosen domain: give target_class "
                                  f"(`--target-class K`, 0..{self.signature['num_classes'] - 1}).")  # fmt: skip
            return self._run(x, self._check_classes(len(x), target_class), batch_size=batch_size, device=device)
        if target_class is not None:
            raise ConfigError(f"--target-class: this {self.signature['task']} run has no domains to choose (StarGAN runs do).")
        if self.signature["task"] == "inpaint":
            raise ConfigError(f"{self.path}: an inpainting run needs the hole's mask: use inpaint(images, masks) (`gankit inpaint`).")
        return self._run(x, batch_size=batch_size, device=device)

    @property
    def scale(self) -> int | None:
        """The upscaling factor of a super-resolution run (None otherwise)."""
        return self.signature.get("scale")  # type: ignore[return-value]

    @torch.no_grad()
    def upscale(self, images: torch.Tensor, batch_size: int = 64, device: str | torch.device = "cpu") -> torch.Tensor:
        """Low-res uint8 N x C x h x w -> uint8 N x C x (scale h) x (scale w). The networks are convolutional,
        so any size works; training saw the signature's input size."""
        if self.scale is None:
            raise ConfigError(f"{self.path}: a {self.signature['task']} run does not upscale; train a super-resolution "
                              "recipe (srresnet_fmnist_2x, srgan_fmnist_2x, esrgan_folder_4x).")  # fmt: skip
        return self._run(self._inputs(images, any_size=True), batch_size=batch_size, device=device)

    @torch.no_grad()
    def inpaint(self, images: torch.Tensor, masks: torch.Tensor, batch_size: int = 64, device: str | torch.device = "cpu") -> torch.Tensor:
        """uint8 N x C x H x W images and N x 1 x H x W masks (1 or 255 marks the hole; one mask may serve all)
        -> uint8 completed images: pixels outside the hole are returned unchanged."""
        if self.signature["task"] != "inpaint":
            raise ConfigError(f"{self.path}: a {self.signature['task']} run does not inpaint; train the inpaint_fmnist recipe.")
        x = self._inputs(images, any_size=True)
        m = torch.as_tensor(masks)
        if m.dim() == 3:
            m = m[:, None]
        if m.dim() != 4 or m.shape[1] != 1 or m.shape[2:] != x.shape[2:] or len(m) not in (1, len(x)):
            raise ConfigError(f"masks must be N x 1 x {x.shape[2]} x {x.shape[3]} (one per image, or one for all), got {tuple(m.shape)}.")
        m = (m > 0).float().expand(len(x), -1, -1, -1)
        out = self._run(x, m, batch_size=batch_size, device=device)
        if images.dtype == torch.uint8:  # known pixels exactly as given, not re-quantised
            out = torch.where(m.bool().expand_as(out), out, images)
        return out

    @property
    def is_style_based(self) -> bool:
        return hasattr(self.module, "mapping") and hasattr(self.module, "synthesis")

    @torch.no_grad()
    def generate(self, z: torch.Tensor, c: torch.Tensor | None = None, batch_size: int = 256,
                 device: str | torch.device = "cpu", psi: float = 1.0) -> torch.Tensor:  # fmt: skip
        """The module's raw float output on CPU (images in [-1, 1]), in eval mode.

        ``psi`` < 1 truncates (Karras et al. 2019): w_avg + psi (w - w_avg) for a style-based G, z x psi
        otherwise (the prior's mode is 0), trading variety for typical samples."""
        if not 0.0 <= psi <= 1.0:
            raise ConfigError(f"psi: from 0 (every sample the average) to 1 (no truncation), got {psi}.")
        style = psi != 1.0 and self.is_style_based
        if psi != 1.0 and not style and getattr(self.module, "normalizes_z", False):
            raise ConfigError(f"psi: this {type(self.module).__name__} pixel-normalises z, so z x psi is the same image; "
                              "use --truncation T (BigGAN's threshold on z) instead.")  # fmt: skip
        if psi != 1.0 and not style:
            z = z * psi
        self.module.to(device).eval()
        k = self.signature["num_classes"]
        if k and c is None:  # every class in turn
            c = torch.arange(len(z)) % k
        outs = []
        for i in range(0, len(z), batch_size):
            zi = z[i : i + batch_size].to(device)
            args = (zi,) if c is None else (zi, c[i : i + batch_size].to(device))
            outs.append((self.module(*args, truncation_psi=psi) if style else self.module(*args)).float().cpu())
        return torch.cat(outs) if outs else torch.empty(0, *self.signature["output_shape"])

    def sample_float(self, n: int, seed: int = 0, classes: list[int] | torch.Tensor | None = None,
                     truncation: float | None = None, **kw) -> torch.Tensor:  # fmt: skip
        """``truncation``: BigGAN's threshold on z; ``psi=`` (keyword, see :meth:`generate`): truncation in w."""
        if self.is_translator:
            raise ConfigError(f"{self.path}: this {self.signature['task']} model maps images to images; use translate(images) "
                              "(`gankit translate`), not sample().")  # fmt: skip
        return self.generate(self.noise(n, seed, truncation), self._check_classes(n, classes), **kw)

    def sample(self, n: int, seed: int = 0, classes: list[int] | torch.Tensor | None = None,
               truncation: float | None = None, **kw) -> torch.Tensor:  # fmt: skip
        """uint8 N x C x H x W for images, float32 N x D for vectors; the same seed gives the same samples.

        ``classes``: one class for all, or one per sample (conditional models; default every class in turn).
        ``psi=0.7``: the truncation trick in w (z x psi for a G without a mapping network).
        """
        out = self.sample_float(n, seed, classes, truncation, **kw)
        return out if self.is_vector else to_uint8(out)


def _config(state: dict, path: Path) -> Config:
    try:
        return validate(state["config"])
    except (GankitError, KeyError, pydantic.ValidationError) as e:
        raise CheckpointError(
            f"{path}: its recipe does not validate under this gankit ({str(e).splitlines()[0]}); "
            "it may come from an older checkpoint layout -- sample it with the gankit version that wrote it."
        ) from None


def load(path: str | Path, prefer_ema: bool = True, direction: str | None = None) -> Inference:
    """The inference module of a run folder (newest checkpoint) or checkpoint folder.

    ``direction``: for an image-to-image run, ``"AtoB"`` (default) or ``"BtoA"`` (CycleGAN's second generator).
    """
    from gankit.tasks import build_task

    ckpt_path = resolve_checkpoint(path)
    ckpt = load_checkpoint(ckpt_path)
    cfg = _config(ckpt.state, ckpt_path)
    try:
        known = {"class_names": ckpt.state["class_names"]} if ckpt.state.get("class_names") else {}
        task: Task = build_task(cfg, data_spec(cfg.data.name).sample_shape(cfg.data), **known)
    except ConfigError as e:
        raise CheckpointError(f"{ckpt_path}: its recipe does not validate under this gankit ({e}).") from None
    net, signature = None, task.signature()
    if direction == "AtoB" and getattr(task, "image_to_image", False) and not hasattr(task, "direction_network"):
        direction = None  # a one-way image-to-image task (StarGAN): AtoB is its only direction
    if direction is not None:
        if not hasattr(task, "direction_network"):
            raise ConfigError(f"--direction: {ckpt_path} is a {signature['task']} run, which generates from noise; it has no directions.")
        net = task.direction_network(direction)
        if net.endswith("_BA"):
            signature = {**signature, "input_shape": signature["output_shape"], "output_shape": signature["input_shape"]}  # type: ignore[typeddict-item]
    try:
        module = task.build_inference(net) if net else task.build_inference()  # the training wrappers (spectral norm) too
    except ConfigError as e:
        raise CheckpointError(f"{ckpt_path}: its recipe does not validate under this gankit ({e}).") from None
    saved = {p.stem for p in ckpt_path.glob("*.safetensors")}
    name = net or (task.inference_weights(saved) if prefer_ema else task.inference_net)
    try:
        module.load_state_dict(ckpt.weights(name))
    except RuntimeError as e:
        raise CheckpointError(f"{ckpt_path}: {name}.safetensors does not fit the recipe's network ({str(e).splitlines()[0]}).") from None
    module.eval()
    return Inference(module=module, signature=signature, cfg=cfg, step=ckpt.step, path=ckpt_path, weights=name,  # type: ignore[arg-type]
                     class_names=getattr(task, "class_names", None))  # fmt: skip


def mixture_means(cfg: Config) -> torch.Tensor | None:
    """The modes to draw under a 2D scatter (None for real data)."""
    mix = data_spec(cfg.data.name).mixture(cfg.data)
    return mix[0] if mix is not None else None


def requested_labels(n: int, num_classes: int, klass: int | None = None, classes: list[int] | None = None,
                     per_class: int | None = None) -> torch.Tensor | None:  # fmt: skip
    """The labels of ``gankit sample``'s ``--class K`` / ``--classes a,b`` / ``--per-class M`` (None: unconditional).

    Without any, a conditional model is asked for every class in turn. ``--per-class M`` gives M of
    every class (n is then M x classes).
    """
    if klass is None and classes is None and per_class is None:
        return torch.arange(n) % num_classes if num_classes else None
    if not num_classes:
        raise ConfigError("--class/--classes/--per-class: this model is unconditional; it takes no classes.")
    if per_class is not None:
        if per_class < 1:
            raise ConfigError(f"--per-class: at least 1 sample per class, got {per_class}.")
        return torch.arange(num_classes).repeat_interleave(per_class)
    wanted = [klass] if klass is not None else list(classes or [])
    bad = [k for k in wanted if not 0 <= k < num_classes]
    if bad or not wanted:
        raise ConfigError(f"classes {bad or wanted}: this model has classes 0..{num_classes - 1}.")
    return torch.tensor(wanted).repeat(-(-n // len(wanted)))[:n].sort(stable=True).values


def _save_npy(path: Path, arr: np.ndarray) -> None:
    from gankit.utils.io import atomic_write

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.save would append .npy to the temporary's name
            np.save(fh, arr)

    atomic_write(path, write)


def write_samples(samples: torch.Tensor, out: str | Path, means: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                  names: list[str] | None = None) -> Path:  # fmt: skip
    """``.npy``: uint8 N x C x H x W for images, float32 N x D for vectors, and ``FILE.labels.npy`` (int64, N)
    beside it for a conditional model; ``.png``: a grid (one row per class, named) or a scatter."""
    from gankit.train.grids import class_grid
    from gankit.utils.images import save_png

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    vector = samples.dim() == 2
    images = samples if vector or samples.dtype == torch.uint8 else to_uint8(samples)
    if out.suffix == ".npy":  # labels first: a samples file never exists without the labels it needs
        if labels is not None:
            _save_npy(out.with_suffix(".labels.npy"), labels.numpy().astype(np.int64))
        _save_npy(out, samples.numpy().astype(np.float32) if vector else images.numpy())
    elif vector:
        save_scatter(samples, out, means)
    elif labels is not None:
        save_png(class_grid(images, labels, names), out)
    else:
        save_grid(images, out)
    return out
