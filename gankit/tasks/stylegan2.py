"""StyleGAN2's training (Karras et al. 2020) as phases of a task, on the ``stylegan2`` G and D.

Phases per step: ``D`` (non-saturating logistic loss), ``D_reg`` (lazy R1 from the recipe's
``regularizers: [{name: r1, gamma: ..., every: 16}]``), ``G`` (non-saturating loss, style mixing)
and ``G_reg``: path-length regularisation every ``pl_every`` steps on a batch shrunk by
``pl_batch_shrink``, lazily (terms x ``pl_every``, G's Adam at lr x c and betas ** c with
c = pl_every / (pl_every + 1)). Path length: for images g(w) and y ~ N(0, I) / sqrt(H W),
a = |J_w^T y| averaged over the layers' ws; the penalty is pl_weight * (a - mean a)^2 with the
mean an exponential average (decay ``pl_decay``), kept in the task state so resume is exact.

Style mixing: with probability ``style_mixing`` a sample takes its layers from ``cutoff`` on from
a second z (cutoff uniform over 1 .. num_ws - 1). Labels always flow: ``conditional: true``
feeds the class to the mapping network and D's projection (StyleGAN2-ADA's conditional mode);
``false`` (default) trains with c_dim = 0, labels or not.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from gankit.core.batch import Batch
from gankit.core.errors import ConfigError
from gankit.core.phase import Phase, PhaseContext, Terms, lazy_ratio
from gankit.core.task import OptimizerSpec, Signature
from gankit.tasks import TASKS
from gankit.tasks.cgan import ConditionalGAN
from gankit.tasks.gan import GAN
from gankit.utils.autograd import inner_grad


@TASKS.register("stylegan2")
class StyleGAN2(ConditionalGAN):
    OPTIONS = {"conditional": False, "style_mixing": 0.9, "pl_weight": 2.0, "pl_every": 4, "pl_decay": 0.01,
               "pl_batch_shrink": 2, "aux_weight": 1.0}  # fmt: skip

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], class_names: list[str] | None = None, **known: Any) -> None:
        for part, m in (("generator", cfg.model.generator), ("discriminator", cfg.model.discriminator)):
            if m.name != "stylegan2":
                raise ConfigError(f"model.{part}.name: task stylegan2 trains the stylegan2 networks, got {m.name!r}.")
        conditional = bool(cfg.task.params.get("conditional", False))
        if conditional:
            super().__init__(cfg, sample_shape, class_names=class_names, **known)
        else:  # c_dim = 0: the unconditional GAN's set-up, whatever the data's labels
            self.class_names, self.num_classes, self.tac, self.aux = [], 0, False, False
            GAN.__init__(self, cfg, sample_shape, **known)
            self.aux_weight = 0.0
        o = self.options
        self.conditional = conditional
        self.mixing, self.pl_weight, self.pl_every = float(o["style_mixing"]), float(o["pl_weight"]), int(o["pl_every"])
        self.pl_decay, self.pl_shrink = float(o["pl_decay"]), int(o["pl_batch_shrink"])
        if not 0.0 <= self.mixing <= 1.0:
            raise ConfigError(f"task.style_mixing: a probability in [0, 1] (0.9 in the paper), got {self.mixing}.")
        if self.pl_every < 1 or self.pl_shrink < 1 or self.pl_weight < 0 or not 0 < self.pl_decay <= 1:
            raise ConfigError("task: pl_every and pl_batch_shrink >= 1, pl_weight >= 0, pl_decay in (0, 1] (paper: 4, 2, 2, 0.01).")
        self.reuse_fakes = False  # G's own forward mixes styles with its own draws
        self.pl_mean = torch.zeros(())

    def signature(self) -> Signature:
        sig = GAN.signature(self) if not self.conditional else super().signature()
        return Signature(**{**sig, "task": "stylegan2"})

    def metrics(self) -> tuple[str, ...]:
        return super().metrics() if self.conditional else GAN.metrics(self)

    def optimizers(self) -> dict[str, OptimizerSpec]:
        specs = super().optimizers()
        if self.pl_weight > 0:
            specs["g"] = OptimizerSpec(("G",), lazy_ratio(self.pl_every))
        return specs

    def phases(self, clock: Any) -> list[Phase]:
        if self._phases is None:
            ps = list(super().phases(clock))
            if self.pl_weight > 0:
                ps.append(Phase("G_reg", ("G",), "g", self._pl_loss, freezes=("D",), every=self.pl_every, lazy=True,
                                draws=False, log_as="g", after=self._after_g))  # fmt: skip
            self._phases = ps
        return self._phases

    # -- labels and generation

    def _labels(self, batch: Batch) -> torch.Tensor | None:
        return super()._labels(batch) if self.conditional else None

    def _score(self, D: nn.Module, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        return (super()._score(D, x, c) if self.conditional else (D(x).float(), None))

    def _bound(self, D: nn.Module, c: torch.Tensor | None) -> nn.Module:
        return super()._bound(D, c) if self.conditional else D

    def _mixing(self, n: int, device: torch.device) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        num_ws = self._num_ws()
        if self.mixing <= 0 or num_ws < 2:
            return None, None
        cutoff = torch.randint(1, num_ws, (), device=device).expand(n)
        keep = torch.rand(n, device=device) >= self.mixing
        return torch.randn(n, self.z_dim, device=device), torch.where(keep, torch.full_like(cutoff, num_ws), cutoff)

    def _num_ws(self) -> int:
        from gankit.models.common import image_layout

        _, n = image_layout(self.sample_shape[-1], "model.generator", "StyleGAN2")
        return 2 * (n + 1)

    def _generate(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        if not torch.is_grad_enabled() and not G.training:
            return G(z, c)
        mix_z, cutoff = self._mixing(z.shape[0], z.device)
        return G(z, c, mix_z=mix_z, mix_cutoff=cutoff, update_w_avg=True)

    # -- path-length regularisation

    def _pl_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        G = ctx.nets["G"]
        n = max(1, len(batch) // self.pl_shrink)
        c = self._labels(batch)
        c = c[:n] if c is not None else None
        z = self._noise(ctx, n)
        mix_z, cutoff = self._mixing(n, z.device)
        img, ws = G(z, c, mix_z=mix_z, mix_cutoff=cutoff, return_ws=True)
        penalty, lengths = path_length_penalty(img, ws, self.pl_mean.to(img.device), self.pl_decay)
        self.pl_mean = penalty.pl_mean_new.detach()  # stays on the device: no host sync per step (state_dict moves it)
        if ctx.want_stats:
            ctx.stats["g_pl_length"] = lengths.detach().mean()
        return {"pl": self.pl_weight * penalty.value}

    # -- state: the path-length mean continues exactly on resume

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "pl_mean": self.pl_mean.detach().cpu().clone()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        if "pl_mean" in state:
            self.pl_mean = torch.as_tensor(state["pl_mean"]).clone()


class _Penalty:
    def __init__(self, value: torch.Tensor, pl_mean_new: torch.Tensor) -> None:
        self.value, self.pl_mean_new = value, pl_mean_new


def path_length_penalty(img: torch.Tensor, ws: torch.Tensor, pl_mean: torch.Tensor, decay: float) -> tuple[_Penalty, torch.Tensor]:
    """(mean (a - mu')^2 with mu' = mu + decay (mean a - mu), the lengths a). ``ws`` must be in ``img``'s graph."""
    y = torch.randn_like(img) / math.sqrt(img.shape[2] * img.shape[3])
    (grad,) = inner_grad((img * y).sum(), ws, create_graph=True)
    lengths = grad.square().sum(dim=2).mean(dim=1).sqrt()
    new_mean = pl_mean.lerp(lengths.detach().mean(), decay)
    return _Penalty((lengths - new_mean).square().mean(), new_mean), lengths
