"""Class-conditional GAN: labels flow through G, D, the losses and the metrics.

The same phases as ``tasks/gan.py``; what differs is that G is asked for a class and D judges a
(sample, class) pair. The fakes of a batch are generated for that batch's own labels, so each fake
is paired with a real sample of the same class -- the labels follow the data's class frequencies
(uniform for Fashion-MNIST, re-weighted with ``data.balance``), and every penalty that mixes real
and fake (WGAN-GP) sees one consistent label per pair. How G and D use the class is the networks'
business (``cond:`` on each: label concatenation, conditional BN, BigGAN's shared embedding,
projection); this task adds the auxiliary-classifier terms when D has a class head:

* ACGAN (``aux_classifier: true`` on D): D's class head is trained on real and fake samples,
  G is rewarded for fakes classified as their class; both weighted by ``task.aux_weight``.
* TAC (``tac: true`` on D): the main head is trained on real data only and a twin head on fakes;
  G minimises CE(main) - CE(twin), which removes ACGAN's pull towards easily classified samples.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.core.batch import Batch
from gankit.core.errors import ConfigError
from gankit.core.phase import PhaseContext, Terms
from gankit.core.task import Signature
from gankit.data import data_spec
from gankit.data.base import require_labels
from gankit.models import build_discriminator, build_generator
from gankit.objectives.classification import acgan_d_loss, class_loss, tac_g_loss
from gankit.tasks import TASKS
from gankit.tasks.gan import GAN


class Bound(nn.Module):
    """D with its labels fixed, so tricks that call D(x) (penalties, unrolling) judge the right pairs."""

    def __init__(self, inner: nn.Module, c: torch.Tensor) -> None:
        super().__init__()
        self.inner = inner
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x, self.c)


@TASKS.register("cgan")
class ConditionalGAN(GAN):
    needs = ("x", "c")
    OPTIONS = {"aux_weight": 1.0}

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], class_names: list[str] | None = None, **known: Any) -> None:
        if class_names:  # from the checkpoint: a folder-trained model loads without its data folder
            self.class_names = list(class_names)
        else:
            require_labels(cfg, "task: cgan")
            self.class_names = data_spec(cfg.data.name).class_names(cfg.data) or []
        self.num_classes = len(self.class_names)
        super().__init__(cfg, sample_shape, **known)
        dp = cfg.model.discriminator.params
        self.tac = bool(dp.get("tac", False))
        self.aux = self.tac or bool(dp.get("aux_classifier", False))
        self.aux_weight = float(self.options["aux_weight"])
        if self.aux_weight < 0:
            raise ConfigError(f"task.aux_weight: must be >= 0 (ACGAN uses 1), got {self.aux_weight}.")
        for spec in cfg.regularizers:
            if spec.name in ("pacgan", "feature_matching"):
                raise ConfigError(f"regularizers: {spec.name} judges unlabelled samples; it does not apply to task cgan.")

    def _g(self) -> nn.Module:
        m = self.cfg.model.generator
        return build_generator(m.name, m.params, self.z_dim, self.sample_shape, num_classes=self.num_classes)

    def _d(self, shape: tuple[int, ...]) -> nn.Module:
        m = self.cfg.model.discriminator
        return build_discriminator(m.name, m.params, tuple(shape), num_classes=self.num_classes)

    def signature(self) -> Signature:
        return Signature(**{**super().signature(), "task": "cgan", "num_classes": self.num_classes})

    def metrics(self) -> tuple[str, ...]:
        return ("fid", "kid", "pr", "classes", "class_consistency", "intra_fid", "cas")

    # -- labels into G and D

    def _labels(self, batch: Batch) -> torch.Tensor | None:
        batch.require("c", task="task cgan")
        return batch.c

    def _generate(self, G: nn.Module, z: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return G(z, c)

    def _score(self, D: nn.Module, x: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, Any]:
        if not self.aux:
            return D(x, c).float(), None
        out = D(x, c, with_logits=True)
        return out[0].float(), out[1:]

    def _bound(self, D: nn.Module, c: torch.Tensor | None) -> nn.Module:
        return Bound(D, c)

    def _class_terms(self, terms: Terms, ctx: PhaseContext, side: str, aux: Any, c: torch.Tensor | None) -> None:
        if not self.aux or aux is None or c is None:
            return
        if side == "d":
            (real_logits, *real_twin), (fake_logits, *fake_twin) = aux
            if self.tac:  # main head on real data, twin head on fakes
                terms["cls"] = self.aux_weight * (class_loss(real_logits, c) + class_loss(fake_twin[0], c))
            else:
                terms["cls"] = self.aux_weight * acgan_d_loss(real_logits, fake_logits, c)
            if ctx.want_stats:
                ctx.stats["acc_class_real"] = (real_logits.argmax(1) == c).float().mean()
        else:
            logits, *twin = aux
            terms["cls"] = self.aux_weight * (tac_g_loss(logits, twin[0], c) if self.tac else class_loss(logits, c))
            if ctx.want_stats:
                ctx.stats["acc_class_fake"] = (logits.argmax(1) == c).float().mean()
