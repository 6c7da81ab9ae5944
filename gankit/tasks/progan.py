"""Progressive growing (Karras et al. 2018) as a task: the unconditional GAN whose G and D (the
``progan`` networks) grow by resolution as training images go by.

Stages are data (task options). Simple form: the first resolution trains for ``stage_images``
images; each next one fades in over ``fade_images`` (alpha 0 -> 1) and then trains for
``stage_images`` more; the final resolution stays until the budget ends. Full form: ``stages``, one
entry per resolution (``resolution``, ``batch_size``, ``images``), as the paper lowers the batch as
the networks grow. The data source draws ``train.batch_size`` images per step (the largest stage
batch) and a stage uses the first ``batch_size`` of them. Stage, alpha and batch are a pure function
of the step, set on G and D before every step, so a resume mid-fade continues exactly; stage and
alpha are also buffers of the networks, so a checkpoint taken mid-growth loads and samples at the
resolution it had reached (upsampled to the final size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gankit.core.batch import Batch
from gankit.core.clock import Clock
from gankit.core.errors import ConfigError
from gankit.core.phase import Phase, PhaseContext, Terms
from gankit.core.task import Signature
from gankit.models.common import image_layout
from gankit.tasks import TASKS
from gankit.tasks.gan import GAN

STAGE_KEYS = ("resolution", "batch_size", "images")


def growth(images: float, n: int, stage_images: float, fade_images: float) -> tuple[int, float]:
    """(stage, alpha) after ``images`` training images, for ``n`` doublings, every stage alike."""
    if images < stage_images or n == 0:
        return 0, 1.0
    left = images - stage_images
    period = fade_images + stage_images
    k = min(n, 1 + int(left // period))
    into = left - (k - 1) * period
    alpha = min(1.0, into / fade_images) if fade_images > 0 else 1.0
    return k, alpha


@dataclass(frozen=True)
class Stage:
    resolution: int
    batch_size: int
    images: float  # images at full alpha before the next fade (the last stage: until the budget ends)


class Schedule:
    """Steps of each stage's fade and stable parts, from per-stage batch sizes and image counts."""

    def __init__(self, stages: list[Stage], fade_images: float) -> None:
        self.stages, self.fade = stages, fade_images
        self.segments: list[tuple[int, int, int, bool]] = []  # (first step, steps, stage, fading)
        step = 0
        for k, s in enumerate(stages):
            parts = ([(fade_images, True)] if k else []) + ([(s.images, False)] if k < len(stages) - 1 else [])
            for images, fading in parts:
                n = math.ceil(images / s.batch_size)
                if n:
                    self.segments.append((step, n, k, fading))
                step += n

    def at(self, step: int) -> tuple[int, float, int]:
        """(stage, alpha, batch size) for the step about to run."""
        for first, n, k, fading in self.segments:
            if step < first + n:
                alpha = min(1.0, (step - first) * self.stages[k].batch_size / self.fade) if fading else 1.0
                return k, alpha, self.stages[k].batch_size
        last = len(self.stages) - 1
        return last, 1.0, self.stages[last].batch_size


def parse_stages(spec: Any, resolutions: list[int], default_batch: int, default_images: float) -> list[Stage]:
    """The ``stages`` option, checked against the resolutions the networks grow through."""
    if spec is None:
        return [Stage(r, default_batch, default_images) for r in resolutions]
    if not isinstance(spec, list) or len(spec) != len(resolutions) or not all(isinstance(e, dict) for e in spec):
        raise ConfigError(f"task.stages: one entry per resolution {resolutions} (each with resolution, batch_size, images), got {spec!r}.")
    out = []
    for i, (entry, res) in enumerate(zip(spec, resolutions)):
        bad = sorted(set(entry) - set(STAGE_KEYS))
        if bad:
            raise ConfigError(f"task.stages[{i}]: unknown key(s) {', '.join(bad)}; valid: {', '.join(STAGE_KEYS)}.")
        if entry.get("resolution", res) != res:
            raise ConfigError(f"task.stages[{i}].resolution: the networks grow through {resolutions}; stage {i} is {res}, got {entry['resolution']}.")
        batch, images = entry.get("batch_size", default_batch), entry.get("images", default_images)
        if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= default_batch:
            raise ConfigError(f"task.stages[{i}].batch_size: from 1 to train.batch_size ({default_batch}, what the data source draws "
                              f"per step; raise it to the largest stage batch), got {batch!r}.")  # fmt: skip
        if not isinstance(images, (int, float)) or isinstance(images, bool) or images < 0:
            raise ConfigError(f"task.stages[{i}].images: a number of images >= 0, got {images!r}.")
        out.append(Stage(res, batch, float(images)))
    return out


@TASKS.register("progan")
class ProGAN(GAN):
    OPTIONS = {"stage_images": 60_000, "fade_images": 60_000, "stages": None}

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> None:
        for part, m in (("generator", cfg.model.generator), ("discriminator", cfg.model.discriminator)):
            if m.name != "progan":
                raise ConfigError(f"model.{part}.name: task progan grows the progan networks, got {m.name!r}.")
        super().__init__(cfg, sample_shape, **known)
        self.stage_images, self.fade_images = float(self.options["stage_images"]), float(self.options["fade_images"])
        if self.stage_images < 0 or self.fade_images < 0:
            raise ConfigError("task: stage_images and fade_images are numbers of images >= 0 (ProGAN: 800k each).")
        start, self.n = image_layout(sample_shape[-1], "model.generator", "ProGAN")
        resolutions = [start * 2**k for k in range(self.n + 1)]
        self.stages = parse_stages(self.options["stages"], resolutions, cfg.train.batch_size, self.stage_images)
        self.schedule = Schedule(self.stages, self.fade_images)
        self._raw: Any = None
        self._batch = cfg.train.batch_size

    def signature(self) -> Signature:
        return Signature(**{**super().signature(), "task": "progan"})

    def bind(self, env: Any) -> None:
        super().bind(env)
        self._raw = env.raw

    def growth_at(self, step: int) -> tuple[int, float]:
        stage, alpha, _ = self.schedule.at(step)
        return stage, alpha

    def phases(self, clock: Clock) -> list[Phase]:
        if self._raw is not None and clock is not None:
            stage, alpha, self._batch = self.schedule.at(clock.step)
            for name in ("G", "D"):
                self._raw[name].set_growth(stage, alpha)
        return super().phases(clock)

    # The stage's batch: the first ``batch_size`` of the images drawn, and as many fakes.
    def _cut(self, batch: Batch) -> Batch:
        return batch if len(batch) <= self._batch else batch.split(self._batch)[0]

    def _d_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        return super()._d_loss(ctx, self._cut(batch))

    def _d_reg_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        return super()._d_reg_loss(ctx, self._cut(batch))

    def g_batch_size(self) -> int:
        return self._batch
