"""A run's discriminator beside its generator, scoring samples the way the task scores them in training.

Rejection sampling needs D, which the inference path never builds (:mod:`gankit.inference`); every
checkpoint keeps ``D.safetensors``, so D is rebuilt here exactly as training built it -- the task's
``build()``, with its wrappers (spectral norm's parametrisation, PacGAN's packed input) -- and scored
with the task's own call (``D(x)`` for ``gan``/``progan``/unconditional ``stylegan2``, ``D(x, c)`` for
``cgan`` and conditional ``stylegan2``; an ACGAN/TAC class head is dropped, the adversarial score kept).

What differs from a training step, on purpose:

* D runs in eval mode (batch-norm running statistics, spectral norm's stored vectors; no update).
* The input transforms (DiffAugment, ADA, instance noise) are not applied: the samples are judged
  as they will be used. The calibration (:mod:`gankit.sampling.calibration`) absorbs the shift.
* PacGAN's D judges packs of ``pac`` consecutive samples, so one score belongs to a pack: the
  samplers accept or reject whole packs (:attr:`Critic.pack`). That is exact: for packs of
  independent samples the pack's density ratio is the product of its samples' ratios, so accepted
  packs hold independent samples of the target.
* A D that looks at the whole minibatch (minibatch std, minibatch discrimination) gives a score
  that depends on the batch; it is scored in batches of ``train.batch_size`` samples of one kind
  (all generated or all real), as in training (:attr:`Critic.chunk`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gankit.errors import CheckpointError, ConfigError, GankitError
from gankit.inference import Inference

#: Modules whose output for one sample depends on the other samples of its batch.
_BATCH_LAYERS = ("MinibatchStd", "MinibatchStdDev", "MinibatchDiscrimination")
#: Samples scored per forward pass when the score does not depend on the batch.
_CHUNK = 1024


class NoDiscriminator(GankitError):
    """The folder holds a generator without the discriminator rejection sampling needs."""


@dataclass
class Critic:
    """D of one run, with how to call it. ``score`` returns one float64 score per unit (sample or pack)."""

    module: nn.Module
    task: object  # the run's GAN task (its ``_score`` is the training call)
    pack: int  # samples per score: PacGAN's pac, else 1
    chunk: int  # samples per forward pass (a multiple of ``pack``)
    batch_dependent: bool  # minibatch std / discrimination: score only full chunks of one kind
    conditional: bool
    loss: str  # the adversarial loss D was trained with (its output is a logit only for minimax/nonsaturating)
    path: Path

    @torch.no_grad()
    def score(self, x: torch.Tensor, c: torch.Tensor | None = None, device: str | torch.device = "cpu") -> torch.Tensor:
        """D's raw scores of float samples in the model's range (images in [-1, 1]); (N / pack,) float64."""
        if self.conditional and c is None:
            raise ConfigError(f"{self.path}: this conditional D judges (sample, class) pairs; give the classes.")
        n = len(x)
        if n % self.pack or (self.batch_dependent and n % self.chunk):
            unit = self.chunk if self.batch_dependent else self.pack
            raise ConfigError(f"D scores batches of a multiple of {unit} samples here, got {n}.")
        self.module.to(device).eval()
        out = []
        for i in range(0, n, self.chunk):
            xi = x[i : i + self.chunk].to(device).float()
            ci = None if c is None else c[i : i + self.chunk].to(device)
            s, _ = self.task._score(self.module, xi, ci if self.conditional else None)  # type: ignore[attr-defined]
            out.append(s.reshape(-1).double().cpu())
        return torch.cat(out) if out else torch.empty(0, dtype=torch.float64)


def refuse_export(path: str | Path) -> None:
    from gankit.export.signature import looks_like_export

    if looks_like_export(path):
        raise NoDiscriminator(
            f"{path} is an export folder: exports carry the generator only, no discriminator, and rejection "
            "sampling (--reject drs|mh) needs the run's D. Pass the run folder it was exported from "
            "(its checkpoints keep D.safetensors)."
        )


def load_critic(gen: Inference | str | Path) -> tuple[Inference, Critic]:
    """(the generator, its D) from a run or checkpoint folder, or from an already loaded ``Inference``."""
    from gankit.data import data_spec
    from gankit.tasks import build_task
    from gankit.tasks.gan import GAN
    from gankit.train.checkpoint import load_checkpoint, resolve_checkpoint

    if not isinstance(gen, Inference):
        refuse_export(gen)
        from gankit.inference import load

        gen = load(gen)
    ckpt_path = resolve_checkpoint(gen.path)
    ckpt = load_checkpoint(ckpt_path)
    cfg = gen.cfg
    known = {"class_names": ckpt.state["class_names"]} if ckpt.state.get("class_names") else {}
    task = build_task(cfg, data_spec(cfg.data.name).sample_shape(cfg.data), **known)
    if not isinstance(task, GAN) or getattr(task, "image_to_image", False) or gen.is_translator:
        raise ConfigError(
            f"{ckpt_path}: a {cfg.task.name} run maps images to images; rejection sampling reweights a noise-to-sample "
            "generator by its discriminator (tasks gan, cgan, progan, stylegan2)."
        )
    if not (ckpt_path / "D.safetensors").is_file():
        raise NoDiscriminator(f"{ckpt_path}: no D.safetensors in this checkpoint, so there is no discriminator to reject with.")
    with torch.random.fork_rng(devices=[]):  # build() seeds torch; the caller's random state stays as it was
        nets = task.build()
    D = nets["D"]
    try:
        D.load_state_dict(ckpt.weights("D"))
    except RuntimeError as e:
        raise CheckpointError(f"{ckpt_path}: D.safetensors does not fit the recipe's discriminator ({str(e).splitlines()[0]}).") from None
    D.eval()
    pack = int(getattr(D, "pac", 1))
    batch_dependent = any(type(m).__name__ in _BATCH_LAYERS for m in D.modules())
    chunk = cfg.train.batch_size if batch_dependent else _CHUNK * pack
    conditional = int(gen.signature["num_classes"]) > 0
    return gen, Critic(D, task, pack, chunk, batch_dependent, conditional, cfg.loss.name, ckpt_path)
