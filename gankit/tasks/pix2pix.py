"""Pix2Pix (Isola et al. 2017): paired translation with a conditional PatchGAN and an L1 term.

Networks: ``G`` (a -> b, usually the ``unet`` family) and ``D`` (usually ``patchgan``) reading the
channel concatenation (a, b) -- real pairs against (a, G(a)). Phases per step:

* ``D`` -- the adversarial loss of the recipe (``nonsaturating`` as the paper's, or ``lsgan``) over
  every patch score; G's output is computed here once and reused by the G phase (G has not
  changed in between), detached for D.
* ``G`` -- ``gan_weight`` x the adversarial loss on D(a, G(a)) (D frozen) plus ``l1_weight`` x
  the mean absolute error to b (lambda_L1 = 100).

``gan_weight: 0`` trains the same U-Net on L1 alone, without a D (the paper's L1-only baseline).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.core.batch import Batch
from gankit.core.clock import Clock
from gankit.core.errors import ConfigError
from gankit.core.phase import Phase, PhaseContext, Terms
from gankit.core.task import OptimizerSpec
from gankit.objectives.translation import condition_pair, l1_loss
from gankit.tasks import TASKS
from gankit.tasks.translation import Translation


@TASKS.register("pix2pix")
class Pix2Pix(Translation):
    needs = ("a", "b")
    OPTIONS = {"l1_weight": 100.0, "gan_weight": 1.0}
    DIRECTIONS = {"AtoB": "G"}
    paired = True

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> None:
        super().__init__(cfg, sample_shape, **known)
        self.l1_weight, self.gan_weight = float(self.options["l1_weight"]), float(self.options["gan_weight"])
        if self.l1_weight < 0 or self.gan_weight < 0 or self.l1_weight + self.gan_weight == 0:
            raise ConfigError(f"task: l1_weight and gan_weight >= 0, not both 0 (paper: 100 and 1), got {self.l1_weight}, {self.gan_weight}.")
        if self.loss.n_critic != 1 or cfg.train.n_critic not in (None, 1):
            raise ConfigError("task pix2pix: one D step per G step; use loss nonsaturating or lsgan (and no train.n_critic).")
        self._phases: list[Phase] | None = None

    def build(self) -> dict[str, nn.Module]:
        torch.manual_seed(self.cfg.seed)
        nets = {"G": self._translator(self.shape_a, self.shape_b)}
        if self.gan_weight > 0:
            nets["D"] = self._critic((self.shape_a[0] + self.shape_b[0], *self.shape_b[1:]))
        return nets

    def optimizers(self) -> dict[str, OptimizerSpec]:
        out = {"g": OptimizerSpec(("G",))}
        if self.gan_weight > 0:
            out["d"] = OptimizerSpec(("D",))
        return out

    def metrics(self) -> tuple[str, ...]:
        return ("l1", "psnr", "ssim", "fid")

    def phases(self, clock: Clock) -> list[Phase]:
        if self._phases is None:
            g = Phase("G", ("G",), "g", self._g_loss, freezes=("D",) if self.gan_weight > 0 else (), draws=self.gan_weight == 0, log_as="g")
            self._phases = [Phase("D", ("D",), "d", self._d_loss, log_as="d"), g] if self.gan_weight > 0 else [g]
        return self._phases

    def _scores(self, D: nn.Module, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return D(condition_pair(a, b)).float().flatten(1)  # one score per patch

    def _d_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("a", "b", task="pix2pix")
        ctx.scratch["fake"] = fake = ctx.nets["G"](batch.a)
        real_s, fake_s = self._scores(ctx.nets["D"], batch.a, batch.b), self._scores(ctx.nets["D"], batch.a, fake.detach())
        self.d_stats(ctx, real_s, fake_s)
        return {"loss": self.loss.d_loss(real_s, fake_s)}

    def _g_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("a", "b", task="pix2pix")
        fake = ctx.scratch.pop("fake", None)
        if fake is None:
            fake = ctx.nets["G"](batch.a)
        terms: Terms = {"l1": self.l1_weight * l1_loss(fake, batch.b)}
        if self.gan_weight > 0:
            terms["loss"] = self.gan_weight * self.loss.g_loss(self._scores(ctx.raw["D"], batch.a, fake))
        if ctx.want_stats:
            ctx.stats["g_l1_raw"] = (terms["l1"] / max(self.l1_weight, 1e-12)).detach()  # mean |G(a) - b| on [-1, 1]
        return terms

    def preview_columns(self, nets: dict[str, nn.Module], a: torch.Tensor, b: torch.Tensor | None) -> list[torch.Tensor]:
        out = nets["G"](a)
        return [out, b if b is not None else torch.zeros_like(out)]
