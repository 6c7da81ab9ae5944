"""SRGAN (Ledig et al. 2017) and ESRGAN (Wang et al. 2018): single-image super-resolution.

Networks: ``G`` (low-res ``a`` -> high-res ``b``: ``srresnet`` or ``rrdb``) and ``D`` (``srgan_d``,
judging high-res images alone). Two stages, as both papers train:

* **pre-training** until ``pretrain_steps`` (a step, or a fraction of the budget such as ``"20%"``):
  one phase ``G_pixel`` -- G on the pixel loss alone (``pixel_loss: mse``, SRResNet's; ``l1``,
  ESRGAN's). This is the PSNR-oriented network the adversarial stage starts from.
* **adversarial**: ``D`` on real b against G(a) (the recipe's loss: ``nonsaturating`` for SRGAN,
  ``ragan``, the relativistic average loss, for ESRGAN), then ``G`` on
  ``content_weight`` x content + ``gan_weight`` x adversarial + ``pixel_weight`` x pixel
  (SRGAN: VGG content + 1e-3 adversarial; ESRGAN: perceptual + 5e-3 RaGAN + 1e-2 L1).

The content loss compares fixed features of G(a) and b (``objectives/content.py``): VGG19 when
``vgg_weights`` gives its file, else, for grayscale data, the shipped Fashion-MNIST classifier's
features (the offline default; the run's protocol says which). ``gan_weight: 0`` is SRResNet: the
pixel stage for the whole run, no D.

The stage is a function of the clock, so the pre-training phase ends exactly at a step given as an
int (a resume mid-run continues in the same stage).
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from gankit.core.batch import Batch
from gankit.core.clock import Clock, parse_point
from gankit.core.errors import ConfigError
from gankit.core.phase import Phase, PhaseContext, Terms
from gankit.core.task import OptimizerSpec, Signature, TaskEnv
from gankit.objectives.restoration import pixel_loss
from gankit.tasks import TASKS
from gankit.tasks.translation import Translation


@TASKS.register("srgan")
class SRGAN(Translation):
    needs = ("a", "b")
    OPTIONS = {"pretrain_steps": "20%", "pixel_loss": "mse", "pixel_weight": 0.0, "content": "auto", "content_weight": 1.0,
               "content_layer": None, "vgg_weights": None, "gan_weight": 1e-3}  # fmt: skip
    DIRECTIONS = {"AtoB": "G"}
    paired = True
    relativistic_ok = True

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> None:
        super().__init__(cfg, sample_shape, **known)
        o = self.options
        (c, h, w), (cb, hb, wb) = self.shape_a, self.shape_b
        if c != cb or hb % h or wb % w or hb // h != wb // w or hb // h < 2:
            raise ConfigError(f"task srgan: the data's low-res input {self.shape_a} must be the high-res target {self.shape_b} "
                              "divided by an integer scale >= 2 in both sides, with the same channels.")  # fmt: skip
        self.scale = hb // h
        if o["pixel_loss"] not in ("mse", "l1"):
            raise ConfigError(f"task.pixel_loss: mse (SRResNet) or l1 (ESRGAN), got {o['pixel_loss']!r}.")
        self.gan_weight, self.pixel_weight = float(o["gan_weight"]), float(o["pixel_weight"])
        self.content_weight = float(o["content_weight"])
        if min(self.gan_weight, self.pixel_weight, self.content_weight) < 0:
            raise ConfigError("task: gan_weight, pixel_weight and content_weight must be >= 0 (SRGAN: 1e-3, 0, 1).")
        self.pretrain = parse_point(o["pretrain_steps"], "task.pretrain_steps") if self.gan_weight > 0 else None
        if self.loss.n_critic != 1 or cfg.train.n_critic not in (None, 1):
            raise ConfigError("task srgan: one D step per G step; use loss nonsaturating (SRGAN) or ragan (ESRGAN).")
        self.relativistic = bool(getattr(self.loss, "relativistic", False))
        self.content: nn.Module | None = None
        if self.gan_weight > 0 and self.content_weight > 0:
            self.content = self._content_loss()
        self._stages: dict[str, list[Phase]] = {}

    def _content_loss(self) -> nn.Module | None:
        from gankit.objectives.content import build_content_loss

        o = self.options
        kw = {"layer": o["content_layer"]} if o["content_layer"] else {}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            loss = build_content_loss(str(o["content"]), self.shape_b[0], vgg_weights=o["vgg_weights"], **kw)
        for w in caught:  # once, at build time: the user learns the run trains without a content term
            print(f"task srgan: {w.message}")
        return loss

    @property
    def content_protocol(self) -> str:
        """What the content term compares (recorded with the run)."""
        if self.gan_weight == 0:
            return "none (SRResNet: pixel loss only)"
        return getattr(self.content, "description", "none") if self.content is not None else "none"

    # ------------------------------------------------------------------ networks

    def build(self) -> dict[str, nn.Module]:
        torch.manual_seed(self.cfg.seed)
        nets = {"G": self._translator(self.shape_a, self.shape_b)}
        if self.gan_weight > 0:
            nets["D"] = self._critic(self.shape_b)
        return nets

    def bind(self, env: TaskEnv) -> None:
        if self.content is not None:
            self.content.to(env.device)

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"g": OptimizerSpec(("G",)), **({"d": OptimizerSpec(("D",))} if self.gan_weight > 0 else {})}

    def signature(self) -> Signature:
        return {**super().signature(), "scale": self.scale}  # type: ignore[typeddict-unknown-key]

    def metrics(self) -> tuple[str, ...]:
        return ("psnr", "ssim", "fid")

    # ------------------------------------------------------------------ stages

    def pretraining(self, clock: Clock) -> bool:
        """Whether ``clock`` is in the pixel-loss stage (always, for SRResNet)."""
        return self.gan_weight == 0 or not clock.reached(self.pretrain)

    def phases(self, clock: Clock) -> list[Phase]:
        stage = "pixel" if self.pretraining(clock) else "adversarial"
        if stage not in self._stages:
            if stage == "pixel":
                self._stages[stage] = [Phase("G_pixel", ("G",), "g", self._pixel_loss, log_as="g")]
            else:
                self._stages[stage] = [Phase("D", ("D",), "d", self._d_loss, log_as="d"),
                                       Phase("G", ("G",), "g", self._g_loss, freezes=("D",), draws=False, log_as="g")]  # fmt: skip
        return self._stages[stage]

    def _pixel(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        return pixel_loss(sr, hr, self.options["pixel_loss"])

    def _pixel_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("a", "b", task="srgan")
        sr = ctx.nets["G"](batch.a)
        if ctx.want_stats:  # the same number in both stages, so the doctor sees the adversarial stage's drift
            ctx.stats["g_pixel_mse"] = (sr.detach().float() - batch.b.float()).pow(2).mean()
        return {"pixel": self._pixel(sr, batch.b)}

    def _d_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("a", "b", task="srgan")
        ctx.scratch["sr"] = sr = ctx.nets["G"](batch.a)
        D = ctx.nets["D"]
        real_s, fake_s = D(batch.b).float().flatten(), D(sr.detach()).float().flatten()
        self.d_stats(ctx, real_s, fake_s)
        return {"loss": self.loss.d_loss(real_s, fake_s)}

    def _g_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        sr = ctx.scratch.pop("sr", None)
        if sr is None:
            sr = ctx.nets["G"](batch.a)
        D = ctx.raw["D"]
        fake_s = D(sr).float().flatten()
        if self.relativistic:
            with torch.no_grad():
                real_s = D(batch.b).float().flatten()
            adv = self.loss.g_loss(fake_s, real=real_s)
        else:
            adv = self.loss.g_loss(fake_s)
        terms: Terms = {"loss": self.gan_weight * adv}
        if self.content is not None:
            terms["content"] = self.content_weight * self.content(sr, batch.b)
        if self.pixel_weight > 0:
            terms["pixel"] = self.pixel_weight * self._pixel(sr, batch.b)
        if ctx.want_stats:
            ctx.stats["g_pixel_mse"] = (sr.detach().float() - batch.b.float()).pow(2).mean()
        return terms

    # ------------------------------------------------------------------ the in-loop picture

    def preview_columns(self, nets: dict[str, nn.Module], a: torch.Tensor, b: torch.Tensor | None) -> list[torch.Tensor]:
        """After the input: bicubic (torch, for the picture only), G's output, the target."""
        out = nets["G"](a)
        bicubic = F.interpolate(a, scale_factor=self.scale, mode="bicubic", align_corners=False).clamp(-1, 1)
        return [bicubic, out, b if b is not None else torch.zeros_like(out)]

    def preview_width(self) -> int:
        return 4

    def preview_input_column(self, a: torch.Tensor) -> torch.Tensor:
        """The low-res input blown up with nearest neighbours, so its pixels show at the output's size."""
        return F.interpolate(a, scale_factor=self.scale, mode="nearest")
