"""Inpainting: fill a masked hole (context encoder, Pathak et al. 2016; global + local D, Iizuka et al. 2017).

Networks: ``G`` -- an :class:`~gankit.models.inpainting.Inpainter` around a core translator (the
recipe's ``model.generator``: ``completion_net``, Iizuka's dilated network, or ``unet``) that sees
the masked image and the mask and whose output is *composited*: only the hole is replaced, every
known pixel passes through exactly. ``D`` -- ``global_local`` (a global trunk on the whole image
and a local one on a window around the hole) or any image D.

Phases per step:

* ``D`` -- the recipe's adversarial loss on real images b against completed ones (detached).
* ``G`` -- ``hole_weight`` x L1 on the hole (normalised by the hole's area, so small and large holes
  weigh alike) + ``gan_weight`` x the adversarial loss (D frozen). Pathak et al. weight the
  adversarial term 0.001 against 0.999 reconstruction, Iizuka et al. 0.0004 against MSE;
  ``gan_weight: 0`` trains the context encoder on the reconstruction alone, without a D.

Data: ``Batch.a`` (the image, holes filled), ``Batch.b`` (the full image), ``Batch.mask`` (1 = hole),
e.g. the built-in ``fmnist-inpaint``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.core.batch import Batch
from gankit.core.clock import Clock
from gankit.core.errors import ConfigError
from gankit.core.phase import Phase, PhaseContext, Terms
from gankit.core.task import OptimizerSpec, Signature
from gankit.objectives.restoration import hole_l1
from gankit.tasks import TASKS
from gankit.tasks.translation import Translation


@TASKS.register("inpaint")
class Inpaint(Translation):
    needs = ("a", "b", "mask")
    OPTIONS = {"hole_weight": 1.0, "gan_weight": 1e-3}
    DIRECTIONS = {"AtoB": "G"}
    paired = True

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> None:
        super().__init__(cfg, sample_shape, **known)
        self.hole_weight, self.gan_weight = float(self.options["hole_weight"]), float(self.options["gan_weight"])
        if self.hole_weight < 0 or self.gan_weight < 0 or self.hole_weight + self.gan_weight == 0:
            raise ConfigError(f"task: hole_weight and gan_weight >= 0, not both 0 (Pathak et al.: 1 and 1e-3), "
                              f"got {self.hole_weight}, {self.gan_weight}.")  # fmt: skip
        if self.shape_a != self.shape_b:
            raise ConfigError(f"task inpaint: the masked image and the target must have one shape, got {self.shape_a} and {self.shape_b}.")
        if self.loss.n_critic != 1 or cfg.train.n_critic not in (None, 1):
            raise ConfigError("task inpaint: one D step per G step; use loss nonsaturating or lsgan (and no train.n_critic).")
        self._phases: list[Phase] | None = None
        self._preview_mask: torch.Tensor | None = None

    # ------------------------------------------------------------------ networks

    def _inpainter(self) -> nn.Module:
        from gankit.models.inpainting import Inpainter

        c, h, w = self.shape_b
        return Inpainter(self._translator((c + 1, h, w), (c, h, w)))

    def build(self) -> dict[str, nn.Module]:
        torch.manual_seed(self.cfg.seed)
        nets = {"G": self._inpainter()}
        if self.gan_weight > 0:
            nets["D"] = self._critic(self.shape_b)
        return nets

    def build_inference(self, network: str | None = None) -> nn.Module:
        torch.manual_seed(self.cfg.seed)
        return self._inpainter()

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"g": OptimizerSpec(("G",)), **({"d": OptimizerSpec(("D",))} if self.gan_weight > 0 else {})}

    def signature(self) -> Signature:
        return {**super().signature(), "mask_shape": [1, *self.shape_b[1:]]}  # type: ignore[typeddict-unknown-key]

    def metrics(self) -> tuple[str, ...]:
        return ("hole_psnr", "hole_l1", "fid")

    # ------------------------------------------------------------------ phases

    def phases(self, clock: Clock) -> list[Phase]:
        if self._phases is None:
            g = Phase("G", ("G",), "g", self._g_loss, freezes=("D",) if self.gan_weight > 0 else (), draws=self.gan_weight == 0, log_as="g")
            self._phases = [Phase("D", ("D",), "d", self._d_loss, log_as="d"), g] if self.gan_weight > 0 else [g]
        return self._phases

    @staticmethod
    def _score(D: nn.Module, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """D's logits; the global + local D also reads where the hole is."""
        out = D(x, mask) if getattr(D, "reads_mask", False) else D(x)
        return out.float().flatten(1) if out.dim() > 1 else out.float()

    def _d_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("a", "b", "mask", task="inpaint")
        ctx.scratch["fake"] = fake = ctx.nets["G"](batch.a, batch.mask)
        D = ctx.nets["D"]
        real_s, fake_s = self._score(D, batch.b, batch.mask), self._score(D, fake.detach(), batch.mask)
        self.d_stats(ctx, real_s, fake_s)
        return {"loss": self.loss.d_loss(real_s, fake_s)}

    def _g_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("a", "b", "mask", task="inpaint")
        fake = ctx.scratch.pop("fake", None)
        if fake is None:
            fake = ctx.nets["G"](batch.a, batch.mask)
        terms: Terms = {"hole_l1": self.hole_weight * hole_l1(fake, batch.b, batch.mask)}
        if self.gan_weight > 0:
            terms["loss"] = self.gan_weight * self.loss.g_loss(self._score(ctx.raw["D"], fake, batch.mask))
        if ctx.want_stats:
            ctx.stats["g_hole_l1_raw"] = hole_l1(fake.detach(), batch.b, batch.mask)  # on [-1, 1]
        return terms

    # ------------------------------------------------------------------ the in-loop picture

    def preview_inputs(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self._preview is None:
            from gankit.data import load_inpaint_triples
            from gankit.tasks.translation import PREVIEW_ROWS

            a, b, m = load_inpaint_triples(self.cfg.data, "test", limit=PREVIEW_ROWS)
            self._preview = (a.float() / 127.5 - 1, b.float() / 127.5 - 1)
            self._preview_mask = m.float()
        return self._preview

    def preview_columns(self, nets: dict[str, nn.Module], a: torch.Tensor, b: torch.Tensor | None) -> list[torch.Tensor]:
        """After the masked input: the completed image and the original."""
        assert self._preview_mask is not None
        out = nets["G"](a, self._preview_mask.to(a.device))
        return [out, b if b is not None else torch.zeros_like(out)]
