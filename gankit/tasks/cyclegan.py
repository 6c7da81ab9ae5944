"""CycleGAN (Zhu et al. 2017): unpaired translation with two generators and a cycle-consistency loss.

Networks (named as in the paper's notation): ``G_AB`` (a -> b), ``G_BA`` (b -> a), ``D_A`` (judges
domain A) and ``D_B`` (judges B), usually ``resnet_translator`` and ``patchgan``. One optimizer
``g`` steps both generators and one ``d`` both discriminators. Phases per step, in the reference
code's order:

* ``G`` -- D_A and D_B frozen: ``gan_weight`` x the adversarial loss of G_AB(a) under D_B and of
  G_BA(b) under D_A, plus ``cycle_weight`` x (|G_BA(G_AB(a)) - a| + |G_AB(G_BA(b)) - b|), plus
  ``identity_weight`` x ``cycle_weight`` x (|G_BA(a) - a| + |G_AB(b) - b|) (identity needs the two
  domains to have the same channels; 0 turns it off). The recipe's ``lsgan`` g_loss is
  (1/2)(D - 1)^2, the LSGAN paper's; the CycleGAN code uses (D - 1)^2, so its recipes set
  ``gan_weight: 2``.
* ``D`` -- on the same batch: D_A on real a against a fake from the history pool of G_BA's outputs,
  D_B likewise (Shrivastava et al. 2017; 50 images each). The pools are task state: a checkpoint
  holds them and their random streams, so a resume continues bit-exactly.

The lr schedule is the engine's: ``train.lr_decay: linear`` with ``lr_decay_start: 0.5`` is the
paper's constant-then-linear-to-zero (100 + 100 epochs) over the run's ``max_steps``.
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
from gankit.nn.image_pool import ImagePool
from gankit.objectives.translation import cycle_loss, identity_loss
from gankit.tasks import TASKS
from gankit.tasks.translation import Translation


@TASKS.register("cyclegan")
class CycleGAN(Translation):
    needs = ("a", "b")
    OPTIONS = {"cycle_weight": 10.0, "identity_weight": 0.5, "gan_weight": 1.0, "pool_size": 50}
    DIRECTIONS = {"AtoB": "G_AB", "BtoA": "G_BA"}
    inference_net = "G_AB"
    paired = False

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> None:
        super().__init__(cfg, sample_shape, **known)
        o = self.options
        self.cycle_weight, self.identity_weight, self.gan_weight = float(o["cycle_weight"]), float(o["identity_weight"]), float(o["gan_weight"])
        if min(self.cycle_weight, self.identity_weight, self.gan_weight) < 0:
            raise ConfigError("task: cycle_weight, identity_weight and gan_weight >= 0 (paper: 10, 0.5, 1).")
        if self.identity_weight > 0 and self.shape_a[0] != self.shape_b[0]:
            raise ConfigError(f"task.identity_weight: the identity loss feeds domain A's images to G_BA, so both domains need the same "
                              f"channels (A has {self.shape_a[0]}, B {self.shape_b[0]}); set identity_weight: 0.")  # fmt: skip
        if self.loss.n_critic != 1 or cfg.train.n_critic not in (None, 1):
            raise ConfigError("task cyclegan: one D step per G step; use loss lsgan (the paper's) or nonsaturating.")
        size = int(o["pool_size"])
        if size < 0:
            raise ConfigError(f"task.pool_size: images per history pool, >= 0 (paper: 50; 0 turns the pools off), got {size}.")
        self.pools = {"A": ImagePool(size, seed=cfg.seed + 1), "B": ImagePool(size, seed=cfg.seed + 2)}
        self._phases: list[Phase] | None = None

    def build(self) -> dict[str, nn.Module]:
        torch.manual_seed(self.cfg.seed)
        return {"G_AB": self._translator(self.shape_a, self.shape_b), "G_BA": self._translator(self.shape_b, self.shape_a),
                "D_A": self._critic(self.shape_a), "D_B": self._critic(self.shape_b)}  # fmt: skip

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"g": OptimizerSpec(("G_AB", "G_BA")), "d": OptimizerSpec(("D_A", "D_B"))}

    def metrics(self) -> tuple[str, ...]:
        return ("fid", "kid", "target_class", "cycle_l1")

    def phases(self, clock: Clock) -> list[Phase]:
        if self._phases is None:
            self._phases = [Phase("G", ("G_AB", "G_BA"), "g", self._g_loss, freezes=("D_A", "D_B"), log_as="g"),
                            Phase("D", ("D_A", "D_B"), "d", self._d_loss, draws=False, log_as="d")]  # fmt: skip
        return self._phases

    def _g_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("a", "b", task="cyclegan")
        g_ab, g_ba, a, b = ctx.nets["G_AB"], ctx.nets["G_BA"], batch.a, batch.b
        fake_b, fake_a = g_ab(a), g_ba(b)
        terms: Terms = {"loss": self.gan_weight * (self.loss.g_loss(ctx.raw["D_B"](fake_b).float().flatten(1))
                                                   + self.loss.g_loss(ctx.raw["D_A"](fake_a).float().flatten(1)))}  # fmt: skip
        terms["cycle"] = cycle_loss(a, g_ba(fake_b), b, g_ab(fake_a), weight=self.cycle_weight)
        if self.identity_weight > 0:
            terms["identity"] = identity_loss(a, g_ba(a), b, g_ab(b), weight=self.cycle_weight, identity_weight=self.identity_weight)
        if ctx.want_stats and self.cycle_weight > 0:
            ctx.stats["g_cycle_l1"] = (terms["cycle"] / (2 * self.cycle_weight)).detach()  # mean of the two L1s, on [-1, 1]
        ctx.scratch["fake_a"], ctx.scratch["fake_b"] = fake_a.detach(), fake_b.detach()
        return terms

    def _d_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        fake_a, fake_b = self.pools["A"].query(ctx.scratch.pop("fake_a")), self.pools["B"].query(ctx.scratch.pop("fake_b"))
        scores = {}
        for dom, real, fake in (("A", batch.a, fake_a), ("B", batch.b, fake_b)):
            D = ctx.nets[f"D_{dom}"]
            scores[dom] = (D(real).float().flatten(1), D(fake).float().flatten(1))
        if ctx.want_stats:
            rs = torch.cat([s[0].detach() for s in scores.values()], 1)
            fs = torch.cat([s[1].detach() for s in scores.values()], 1)
            acc_r, acc_f = self.loss.accuracy(rs, fs)
            ctx.stats |= {"d_real": self.loss.prob(rs).mean(), "d_fake": self.loss.prob(fs).mean(), "acc_real": acc_r, "acc_fake": acc_f}
        return {"loss": self.loss.d_loss(*scores["A"]) + self.loss.d_loss(*scores["B"])}

    def preview_columns(self, nets: dict[str, nn.Module], a: torch.Tensor, b: torch.Tensor | None) -> list[torch.Tensor]:
        out = nets["G_AB"](a)
        return [out, nets["G_BA"](out)]

    # ------------------------------------------------------------------ state: the pools

    def state_dict(self) -> dict[str, Any]:
        return {"pools": {k: p.state_dict() for k, p in self.pools.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k, s in (state.get("pools") or {}).items():
            self.pools[k].load_state_dict(s)
