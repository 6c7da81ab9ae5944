"""The unconditional GAN (noise -> sample): G and D, an adversarial loss, and the recipe's tricks.

Phases, in order, each step (see ``core/phase.py``):

* ``D`` -- ``n_critic`` times, each on a fresh batch: D scores real data and *detached* fakes,
  both through the input transforms (DiffAugment, instance noise); terms: the loss, the loss's own
  penalty (WGAN-GP), and every non-lazy penalty trick (R1/R2, DRAGAN, historical averaging).
  After each step the loss's ``after_d_step`` (weight clipping) and the averagers bound to D run.
* ``D_reg`` -- only when a penalty has ``every > 1``: that penalty alone, lazily (StyleGAN2).
* ``G`` -- D frozen and called unwrapped (no weight gradients, no DDP reduction); G's fakes pass
  through the same input transforms; a scorer trick may replace D(fake) (unrolled D); terms:
  the loss and the G-side tricks (feature matching, historical averaging). Averagers bound to G
  (EMA) update after its step.

With one D step per G step and no score replacer, the G phase reuses the D phase's fakes (same z,
graph kept), so each iteration runs G forward once -- exact, since G did not change in between.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch
from torch import nn

from gankit.core.batch import Batch
from gankit.core.clock import Clock
from gankit.core.errors import ConfigError
from gankit.core.objective import Targets
from gankit.core.phase import Phase, PhaseContext, Terms, lazy_ratio
from gankit.core.task import OptimizerSpec, Signature, Task, TaskEnv
from gankit.models import build_discriminator, build_generator
from gankit.objectives import build_loss
from gankit.tasks import TASKS, refuse_relativistic, task_options
from gankit.tricks import Assembly, StepContext, Trick, TrickEnv, build_tricks


def _term_name(t: Trick, spec_name: str) -> str:
    return getattr(t, "key", "") or spec_name


@TASKS.register("gan")
class GAN(Task):
    needs = ("x",)
    #: Options of ``task: {name: ..., ...}`` and their defaults (a subclass adds its own).
    OPTIONS: dict[str, Any] = {}

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> None:
        super().__init__(cfg, sample_shape)
        self.options = task_options(cfg, self.OPTIONS)
        self.loss = build_loss(cfg.loss.name, cfg.loss.params)
        refuse_relativistic(self.loss, cfg.task.name)
        self.tricks = build_tricks(cfg.regularizers)
        self.names = [_term_name(t, s.name) for t, s in zip(self.tricks, cfg.regularizers)]
        dup = sorted({n for n in self.names if self.names.count(n) > 1})
        if dup:
            raise ConfigError(f"regularizers: {', '.join(dup)} listed more than once; keep one of each (their terms share a name).")
        for i, t in enumerate(self.tricks):
            if t.needs_targets and not self.loss.supports_targets:
                raise ConfigError(
                    f"regularizers[{i}] ({cfg.regularizers[i].name}) changes D's targets, which loss "
                    f"'{cfg.loss.name}' does not use; pick minimax, nonsaturating or lsgan."
                )
        self.z_dim = cfg.model.z_dim
        self.n_critic = cfg.train.n_critic or self.loss.n_critic
        self.lazy = [i for i, t in enumerate(self.tricks) if t.kind == "penalty" and t.every > 1]
        intervals = {self.tricks[i].every for i in self.lazy}
        if len(intervals) > 1:
            raise ConfigError(f"regularizers: lazy penalties must share one interval (every), got {sorted(intervals)}.")
        self.reg_every = intervals.pop() if intervals else 1
        self.reuse_fakes = self.n_critic == 1 and not any(t.scores_for_g for t in self.tricks)
        self._phases: list[Phase] | None = None

    # ------------------------------------------------------------------ networks

    def _g(self) -> nn.Module:
        m = self.cfg.model.generator
        return build_generator(m.name, m.params, self.z_dim, self.sample_shape)

    def _d(self, shape: tuple[int, ...]) -> nn.Module:
        m = self.cfg.model.discriminator
        return build_discriminator(m.name, m.params, tuple(shape))

    def build(self) -> dict[str, nn.Module]:
        torch.manual_seed(self.cfg.seed)  # the same recipe gives the same weights
        asm = Assembly({"G": self._g(), "D": self._d(self.sample_shape)}, {"D": self._d}, self.sample_shape, self.cfg.train.batch_size)
        for t in self.tricks:
            t.wrap(asm)
        return asm.nets

    def build_inference(self) -> nn.Module:
        torch.manual_seed(self.cfg.seed)
        asm = Assembly({"G": self._g()}, {}, self.sample_shape, self.cfg.train.batch_size)
        for t in self.tricks:
            if t.kind == "wrapper":  # spectral norm on G changes its parameter layout
                t.wrap(asm)
        return asm.nets["G"]

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"g": OptimizerSpec(("G",)), "d": OptimizerSpec(("D",), lazy_ratio(self.reg_every) if self.lazy else 1.0)}

    def signature(self) -> Signature:
        vector = len(self.sample_shape) == 1
        return Signature(task="gan", z_dim=self.z_dim, num_classes=0, input_shape=None, output_shape=list(self.sample_shape),
                         value_range=[-1.0, 1.0] if not vector else [float("-inf"), float("inf")],
                         output="vector" if vector else "image")  # fmt: skip

    def metrics(self) -> tuple[str, ...]:
        return ("coverage",) if len(self.sample_shape) == 1 else ("fid", "kid", "is", "pr", "classes", "memorization")

    def bind(self, env: TaskEnv) -> None:
        opt_of = {net: env.optimizers[name] for name, spec in self.optimizers().items() for net in spec.networks}
        cfg_of = {net: self.cfg.optim[name] for name, spec in self.optimizers().items() for net in spec.networks}
        tenv = TrickEnv(raw=env.raw, optimizer_of=opt_of, optim_cfg_of=cfg_of, tricks=self.tricks)
        for t in self.tricks:
            t.bind(tenv)

    def averaged(self) -> Mapping[str, nn.Module]:
        out: dict[str, nn.Module] = {}
        for t in self.tricks:
            out |= t.averaged()
        return out

    # ------------------------------------------------------------------ phases

    def phases(self, clock: Clock) -> list[Phase]:
        if self._phases is None:
            ps = [Phase("D", ("D",), "d", self._d_loss, repeat=self.n_critic, log_as="d", after=self._after_d)]
            if self.lazy:
                ps.append(Phase("D_reg", ("D",), "d", self._d_reg_loss, every=self.reg_every, lazy=True, draws=False,
                                log_as="d", after=lambda ctx: self.loss.after_d_step(ctx.raw["D"])))  # fmt: skip
            ps.append(Phase("G", ("G",), "g", self._g_loss, freezes=("D",), draws=False, log_as="g", after=self._after_g))
            self._phases = ps
        return self._phases

    def g_batch_size(self) -> int:
        """Fakes per G step when the D phase left none to reuse (a growing task lowers it by stage)."""
        return self.cfg.train.batch_size

    def _noise(self, ctx: PhaseContext, n: int) -> torch.Tensor:
        return torch.randn(n, self.z_dim, device=ctx.device)

    def _inputs(self, x: torch.Tensor, clock: Clock) -> torch.Tensor:
        for t in self.tricks:
            x = t.transform_input(x, clock)
        return x

    def _terms(self, terms: Terms, sctx: StepContext, ctx: PhaseContext, side: str, only: list[int] | None = None) -> Terms:
        for i, t in enumerate(self.tricks):
            if (only is None and i in self.lazy) or (only is not None and i not in only):
                continue
            term = t.d_term(sctx) if side == "d" else t.g_term(sctx)
            if term is not None:
                terms[self.names[i]] = term
        ctx.stats |= {f"{side}_{k}": v for k, v in sctx.logs.items() if k not in terms}
        return terms

    # -- where a conditional task differs: labels, how G and D are called, class terms

    def _labels(self, batch: Batch) -> torch.Tensor | None:
        """The labels G is asked for and D judges with (None: unconditional)."""
        return None

    def _generate(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return G(z)

    def _score(self, D: nn.Module, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        """D's scores (float) and anything else the same forward gave (class logits)."""
        return D(x).float(), None

    def _bound(self, D: nn.Module, c: torch.Tensor | None) -> nn.Module:
        """D as the tricks see it, a function of the samples alone (penalties, unrolling)."""
        return D

    def _class_terms(self, terms: Terms, ctx: PhaseContext, side: str, aux: Any, c: torch.Tensor | None) -> None:
        """Class-loss terms (ACGAN); nothing for an unconditional GAN."""

    def _d_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        G, D = ctx.nets["G"], ctx.nets["D"]
        c = self._labels(batch)
        z = self._noise(ctx, len(batch))
        if self.reuse_fakes:
            ctx.scratch["fake"] = self._generate(G, z, c)
            fake = ctx.scratch["fake"].detach()
        else:
            with torch.no_grad(), ctx.autocast():
                fake = self._generate(ctx.raw["G"], z, c)
        real, fake = self._inputs(batch.x, ctx.clock), self._inputs(fake, ctx.clock)
        ctx.scratch["real"] = real
        (real_s, real_aux), (fake_s, fake_aux) = self._score(D, real, c), self._score(D, fake, c)
        D = self._bound(D, c)
        targets = None
        if any(t.needs_targets for t in self.tricks):
            targets = Targets(torch.ones_like(real_s), torch.zeros_like(fake_s))
            for t in self.tricks:
                targets = t.targets(targets, ctx.clock)
        terms: Terms = {"loss": self.loss.d_loss(real_s, fake_s, targets)}
        pen = self.loss.penalty(D, real, fake)
        if pen is not None:
            terms["penalty"] = pen
        sctx = StepContext(ctx.clock, D, G, real, fake, real_s, fake_s, self.loss)
        self._terms(terms, sctx, ctx, "d")
        self._class_terms(terms, ctx, "d", (real_aux, fake_aux), c)
        if ctx.want_stats:
            rs, fs = real_s.detach(), fake_s.detach()
            acc_r, acc_f = self.loss.accuracy(rs, fs)
            ctx.stats |= {"d_real": self.loss.prob(rs).mean(), "d_fake": self.loss.prob(fs).mean(), "acc_real": acc_r,
                          "acc_fake": acc_f, "_real_scores": rs, "_fake_scores": fs}  # fmt: skip
        return terms

    def _d_reg_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        fake, c = None, self._labels(batch)
        if any(getattr(self.tricks[i], "uses_fakes", False) for i in self.lazy):  # R2; R1 needs real data only
            with torch.no_grad(), ctx.autocast():
                fake = self._inputs(self._generate(ctx.raw["G"], self._noise(ctx, len(batch)), c), ctx.clock)
        real = self._inputs(batch.x, ctx.clock)
        sctx = StepContext(ctx.clock, self._bound(ctx.nets["D"], c), ctx.nets["G"], real, fake, loss=self.loss)
        return self._terms({}, sctx, ctx, "d", only=self.lazy)

    def _g_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        D = ctx.raw["D"]  # frozen and unwrapped: no DDP sync for a network not updated here
        c = self._labels(batch)
        fake = ctx.scratch.pop("fake", None)
        if fake is None:
            fake = self._generate(ctx.nets["G"], self._noise(ctx, self.g_batch_size()), c)
        fake = self._inputs(fake, ctx.clock)
        sctx = StepContext(ctx.clock, self._bound(D, c), ctx.nets["G"], real=ctx.scratch.get("real"), fake=fake, loss=self.loss)
        with ctx.autocast():
            scores = next((s for t in self.tricks if (s := t.g_scores(sctx, fake)) is not None), None)
            aux = None
            if scores is None:
                scores, aux = self._score(D, fake, c)
            sctx.fake_scores = scores = scores.float()
            terms: Terms = {"loss": self.loss.g_loss(scores)}
            self._class_terms(terms, ctx, "g", aux, c)
            return self._terms(terms, sctx, ctx, "g")

    def _after_d(self, ctx: PhaseContext) -> None:
        self.loss.after_d_step(ctx.raw["D"])
        for t in self.tricks:
            t.after_step("D", ctx.clock)

    def _after_g(self, ctx: PhaseContext) -> None:
        for t in self.tricks:
            t.after_step("G", ctx.clock)

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        return {"tricks": [{"state": t.state_dict(), "weights": t.extra_weights()} for t in self.tricks]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for t, s in zip(self.tricks, state.get("tricks", [])):
            t.load_state_dict(s.get("state", {}))
            if s.get("weights"):
                t.load_extra_weights(s["weights"])
