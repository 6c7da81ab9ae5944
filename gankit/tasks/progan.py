"""Progressive growing (Karras et al. 2018) as a task: the unconditional GAN whose G and D (the
``progan`` networks) grow by resolution as training images go by.

Stages are data (task options): the first resolution trains for ``stage_images`` images; each
next one fades in over ``fade_images`` (alpha 0 -> 1) and then trains for ``stage_images`` more;
the final resolution stays until the budget ends. The stage and alpha are a pure function of the
step (images = step x batch size), set on G and D before every step, so a resume mid-fade
continues exactly; both are also buffers of the networks, so a checkpoint taken mid-growth loads
and samples at the resolution it had reached (upsampled to the final size).
"""

from __future__ import annotations

from typing import Any

from gankit.core.clock import Clock
from gankit.core.errors import ConfigError
from gankit.core.phase import Phase
from gankit.core.task import Signature
from gankit.models.common import image_layout
from gankit.tasks import TASKS
from gankit.tasks.gan import GAN


def growth(images: float, n: int, stage_images: float, fade_images: float) -> tuple[int, float]:
    """(stage, alpha) after ``images`` training images, for ``n`` doublings."""
    if images < stage_images or n == 0:
        return 0, 1.0
    left = images - stage_images
    period = fade_images + stage_images
    k = min(n, 1 + int(left // period))
    into = left - (k - 1) * period
    alpha = min(1.0, into / fade_images) if fade_images > 0 else 1.0
    return k, alpha


@TASKS.register("progan")
class ProGAN(GAN):
    OPTIONS = {"stage_images": 60_000, "fade_images": 60_000}

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> None:
        for part, m in (("generator", cfg.model.generator), ("discriminator", cfg.model.discriminator)):
            if m.name != "progan":
                raise ConfigError(f"model.{part}.name: task progan grows the progan networks, got {m.name!r}.")
        super().__init__(cfg, sample_shape, **known)
        self.stage_images, self.fade_images = float(self.options["stage_images"]), float(self.options["fade_images"])
        if self.stage_images < 0 or self.fade_images < 0:
            raise ConfigError("task: stage_images and fade_images are numbers of images >= 0 (ProGAN: 800k each).")
        _, self.n = image_layout(sample_shape[-1], "model.generator", "ProGAN")
        self._raw: Any = None

    def signature(self) -> Signature:
        return Signature(**{**super().signature(), "task": "progan"})

    def bind(self, env: Any) -> None:
        super().bind(env)
        self._raw = env.raw

    def growth_at(self, step: int) -> tuple[int, float]:
        return growth(step * self.cfg.train.batch_size, self.n, self.stage_images, self.fade_images)

    def phases(self, clock: Clock) -> list[Phase]:
        if self._raw is not None and clock is not None:
            stage, alpha = self.growth_at(clock.step)
            for name in ("G", "D"):
                self._raw[name].set_growth(stage, alpha)
        return super().phases(clock)
