"""StarGAN (Choi et al. 2018): one generator translates an image into any of K domains.

Networks: ``G`` -- a :class:`~gankit.models.stargan.StarGenerator`: the recipe's core translator
(``resnet_translator``) reading the image and the target domain's one-hot label tiled over the
image; ``D`` -- ``stargan_d``: one trunk, an adversarial head (patch scores) and a domain
classification head (K logits). Data: labelled images (``Batch.x``, ``Batch.c``), e.g. the built-in
``fmnist-domains`` (the ten Fashion-MNIST classes as domains). Each step draws every image's target
domain uniformly (global RNG: a resume continues the same stream).

Phases (paper, eq. 1-4 and section 4.1):

* ``D`` -- ``n_critic`` times (WGAN-GP's 5 in the paper): the adversarial loss on real x against
  G(x, c') (detached), its gradient penalty on the adversarial head, and ``cls_weight`` x the
  cross-entropy of D's classification of *real* images as their own domain c.
* ``G`` -- D frozen: the adversarial loss on G(x, c'), ``cls_weight`` x the cross-entropy of D's
  classification of G(x, c') as c', and ``rec_weight`` x the L1 of G(G(x, c'), c) against x (the
  cycle back to the source domain). Paper: lambda_cls 1, lambda_rec 10, lambda_gp 10.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.core.batch import Batch
from gankit.core.clock import Clock
from gankit.core.errors import ConfigError
from gankit.core.phase import Phase, PhaseContext, Terms
from gankit.core.task import OptimizerSpec, Signature, Task
from gankit.data import data_spec
from gankit.data.base import require_labels
from gankit.models import build_discriminator, build_translator
from gankit.objectives import build_loss
from gankit.objectives.restoration import domain_classification_loss, reconstruction_l1
from gankit.tasks import TASKS, refuse_relativistic, task_options

PREVIEW_ROWS = 8


class _Source(nn.Module):
    """The adversarial head alone, as a function of the image (what the gradient penalty differentiates).

    One score per image, the sum of its patch scores, as the reference code differentiates
    ``out_src`` with ones: the penalty then asks for norm 1 per image."""

    def __init__(self, D: nn.Module) -> None:
        super().__init__()
        self.D = D

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.D(x)[0].flatten(1).sum(1)


@TASKS.register("stargan")
class StarGAN(Task):
    needs = ("x", "c")
    OPTIONS = {"cls_weight": 1.0, "rec_weight": 10.0}
    image_to_image = True

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], class_names: list[str] | None = None, **known: Any) -> None:
        super().__init__(cfg, sample_shape)
        if class_names:
            self.class_names = list(class_names)
        else:
            require_labels(cfg, "task: stargan")
            self.class_names = data_spec(cfg.data.name).class_names(cfg.data) or []
        self.num_classes = len(self.class_names)
        if self.num_classes < 2:
            raise ConfigError(f"task stargan translates between domains: the data needs >= 2 classes, got {self.num_classes}.")
        if len(self.sample_shape) != 3:
            raise ConfigError(f"task stargan translates images; data {cfg.data.name!r} gives items of shape {self.sample_shape}.")
        if cfg.regularizers:
            raise ConfigError(f"regularizers: task stargan takes none (its gradient penalty is the loss's, wgan_gp); "
                              f"remove {', '.join(r.name for r in cfg.regularizers)}.")  # fmt: skip
        self.options = task_options(cfg, self.OPTIONS)
        self.cls_weight, self.rec_weight = float(self.options["cls_weight"]), float(self.options["rec_weight"])
        if self.cls_weight < 0 or self.rec_weight < 0:
            raise ConfigError("task: cls_weight and rec_weight must be >= 0 (paper: 1 and 10).")
        self.loss = build_loss(cfg.loss.name, cfg.loss.params)
        refuse_relativistic(self.loss, "stargan")
        self.n_critic = cfg.train.n_critic or self.loss.n_critic
        self._phases: list[Phase] | None = None
        self._preview: torch.Tensor | None = None

    # ------------------------------------------------------------------ networks

    def _generator(self) -> nn.Module:
        from gankit.models.stargan import StarGenerator

        c, h, w = self.sample_shape
        m = self.cfg.model.generator
        return StarGenerator(build_translator(m.name, m.params, (c + self.num_classes, h, w), (c, h, w)), self.num_classes)

    def build(self) -> dict[str, nn.Module]:
        torch.manual_seed(self.cfg.seed)
        m = self.cfg.model.discriminator
        return {"G": self._generator(), "D": build_discriminator(m.name, m.params, self.sample_shape, num_classes=self.num_classes)}

    def build_inference(self) -> nn.Module:
        torch.manual_seed(self.cfg.seed)
        return self._generator()

    def optimizers(self) -> dict[str, OptimizerSpec]:
        return {"g": OptimizerSpec(("G",)), "d": OptimizerSpec(("D",))}

    def signature(self) -> Signature:
        return Signature(task="stargan", z_dim=0, num_classes=self.num_classes, input_shape=list(self.sample_shape),
                         output_shape=list(self.sample_shape), value_range=[-1.0, 1.0], output="image")  # fmt: skip

    def metrics(self) -> tuple[str, ...]:
        return ("target_class", "fid", "rec_l1")

    # ------------------------------------------------------------------ phases

    def phases(self, clock: Clock) -> list[Phase]:
        if self._phases is None:
            self._phases = [Phase("D", ("D",), "d", self._d_loss, repeat=self.n_critic, log_as="d", after=self._after_d),
                            Phase("G", ("G",), "g", self._g_loss, freezes=("D",), draws=False, log_as="g")]  # fmt: skip
        return self._phases

    def _targets(self, c: torch.Tensor) -> torch.Tensor:
        return torch.randint(0, self.num_classes, c.shape, device=c.device)

    def _d_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("x", "c", task="stargan")
        D, x, c = ctx.nets["D"], batch.x, batch.c
        with torch.no_grad(), ctx.autocast():
            fake = ctx.raw["G"](x, self._targets(c))
        real_src, real_cls = D(x)
        fake_src, _ = D(fake)
        real_s, fake_s = real_src.float().flatten(1), fake_src.float().flatten(1)
        terms: Terms = {"loss": self.loss.d_loss(real_s, fake_s), "cls": self.cls_weight * domain_classification_loss(real_cls.float(), c)}
        pen = self.loss.penalty(_Source(D), x, fake)
        if pen is not None:
            terms["penalty"] = pen
        if ctx.want_stats:
            rs, fs = real_s.detach(), fake_s.detach()
            acc_r, acc_f = self.loss.accuracy(rs, fs)
            ctx.stats |= {"d_real": self.loss.prob(rs).mean(), "d_fake": self.loss.prob(fs).mean(), "acc_real": acc_r, "acc_fake": acc_f,
                          "d_cls_acc": (real_cls.detach().argmax(1) == c).float().mean()}  # fmt: skip
        return terms

    def _g_loss(self, ctx: PhaseContext, batch: Batch) -> Terms:
        batch.require("x", "c", task="stargan")
        G, D, x, c = ctx.nets["G"], ctx.raw["D"], batch.x, batch.c
        trg = self._targets(c)
        fake = G(x, trg)
        src, cls = D(fake)
        terms: Terms = {"loss": self.loss.g_loss(src.float().flatten(1)),
                        "cls": self.cls_weight * domain_classification_loss(cls.float(), trg)}  # fmt: skip
        if self.rec_weight > 0:
            terms["rec"] = self.rec_weight * reconstruction_l1(x, G(fake, c))
        if ctx.want_stats:
            ctx.stats["g_target_acc"] = (cls.detach().argmax(1) == trg).float().mean()  # by D's own classifier
        return terms

    def _after_d(self, ctx: PhaseContext) -> None:
        self.loss.after_d_step(ctx.raw["D"])

    # ------------------------------------------------------------------ the in-loop picture

    def preview_inputs(self) -> torch.Tensor:
        """Fixed held-out images: the test split's first image of each of the first 8 domains."""
        if self._preview is None:
            from gankit.data import load_real_labeled

            x, y = load_real_labeled(self.cfg.data, "test", limit=2000)
            picks = [int((y == k).nonzero()[0]) for k in range(self.num_classes) if (y == k).any()][:PREVIEW_ROWS]
            self._preview = x[picks].float() / 127.5 - 1
        return self._preview

    @torch.no_grad()
    def preview(self, nets: dict[str, nn.Module], device: torch.device) -> torch.Tensor:
        """One row per input: the input, then its translation into every domain in turn."""
        from gankit.utils.images import to_uint8

        x = self.preview_inputs().to(device)
        G = nets["G"]
        mode = G.training
        G.eval()
        try:
            cols = [x] + [G(x, torch.full((len(x),), k, device=device, dtype=torch.long)) for k in range(self.num_classes)]
        finally:
            G.train(mode)
        return to_uint8(torch.stack(cols, 1).flatten(0, 1).cpu())

    def preview_width(self) -> int:
        return self.num_classes + 1
