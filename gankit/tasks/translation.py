"""What image-to-image tasks (``pix2pix``, ``cyclegan``) share: image -> image generators built from the
two domains' shapes, the inference signature, held-out preview inputs, and the in-loop picture.

The data source gives ``Batch.a`` (input domain) and ``Batch.b`` (target domain) after
``data.direction``; a generator maps ``a`` to ``b``'s shape. The in-loop grid shows, per held-out
test input, input | output | target (paired) or input | output | reconstruction (unpaired),
always on the same inputs, so grids are comparable across steps and resumes.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from gankit.core.errors import ConfigError
from gankit.core.task import Signature, Task
from gankit.models import build_discriminator, build_translator
from gankit.objectives import build_loss
from gankit.tasks import refuse_relativistic, task_options

#: Held-out inputs in the in-loop grid (one row each).
PREVIEW_ROWS = 8


class Translation(Task):
    """Base of the image-to-image tasks; a subclass lists its networks, phases and preview columns."""

    OPTIONS: ClassVar[dict[str, Any]] = {}
    #: ``--direction`` of ``gankit translate`` -> the network doing it.
    DIRECTIONS: ClassVar[dict[str, str]] = {"AtoB": "G"}
    paired: ClassVar[bool] = True
    image_to_image = True
    #: Whether the task passes D's real scores to a relativistic G loss (super-resolution does).
    relativistic_ok: ClassVar[bool] = False

    def __init__(self, cfg: Any, sample_shape: tuple[int, ...], **known: Any) -> None:
        from gankit.data import domain_shapes, is_paired

        super().__init__(cfg, sample_shape)
        name = cfg.task.name
        try:
            shapes, paired = domain_shapes(cfg.data), is_paired(cfg.data)
        except Exception as e:  # a noise dataset under a translation task
            raise ConfigError(f"task {name} translates images: data.name must be a translation source (aligned, unaligned, "
                              f"fmnist-edges2items, fmnist-sandal2sneaker, ...), got {cfg.data.name!r} ({e}).") from None  # fmt: skip
        if paired != self.paired:
            want = "paired (aligned, fmnist-edges2items)" if self.paired else "unpaired (unaligned, fmnist-sandal2sneaker, fmnist-tshirt2shirt)"
            raise ConfigError(f"task {name} trains on {want} data; data.name {cfg.data.name!r} is {'paired' if paired else 'unpaired'}.")
        if cfg.regularizers:
            raise ConfigError(f"regularizers: task {name} takes none yet (its recipe's losses are task options); "
                              f"remove {', '.join(r.name for r in cfg.regularizers)}.")  # fmt: skip
        self.shape_a, self.shape_b = tuple(shapes["a"]), tuple(shapes["b"])
        self.options = task_options(cfg, self.OPTIONS)
        self.loss = build_loss(cfg.loss.name, cfg.loss.params)
        if not self.relativistic_ok:
            refuse_relativistic(self.loss, name)
        self._preview: tuple[torch.Tensor, torch.Tensor | None] | None = None

    # ------------------------------------------------------------------ networks

    def _translator(self, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> nn.Module:
        m = self.cfg.model.generator
        return build_translator(m.name, m.params, in_shape=in_shape, out_shape=out_shape)

    def _critic(self, shape: tuple[int, ...]) -> nn.Module:
        m = self.cfg.model.discriminator
        return build_discriminator(m.name, m.params, tuple(shape))

    def generator_shapes(self, network: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(input, output) shapes of a generator by name."""
        return (self.shape_b, self.shape_a) if network.endswith("_BA") else (self.shape_a, self.shape_b)

    def build_inference(self, network: str | None = None) -> nn.Module:
        torch.manual_seed(self.cfg.seed)
        return self._translator(*self.generator_shapes(network or self.inference_net))

    def direction_network(self, direction: str) -> str:
        if direction not in self.DIRECTIONS:
            raise ConfigError(f"--direction {direction}: this {self.cfg.task.name} run translates {', '.join(self.DIRECTIONS)} only"
                              + (" (Pix2Pix learns one direction; train a BtoA run with data.direction: BtoA)." if self.paired else "."))  # fmt: skip
        return self.DIRECTIONS[direction]

    def signature(self) -> Signature:
        return Signature(task=self.cfg.task.name, z_dim=0, num_classes=0, input_shape=list(self.shape_a),
                         output_shape=list(self.shape_b), value_range=[-1.0, 1.0], output="image")  # fmt: skip

    def d_stats(self, ctx: Any, real_s: torch.Tensor, fake_s: torch.Tensor) -> None:
        """D(x) of real and fake and D's accuracies, logged on the steps that want them."""
        if not ctx.want_stats:
            return
        rs, fs = real_s.detach(), fake_s.detach()
        acc_r, acc_f = self.loss.accuracy(rs, fs)
        # a relativistic D's probabilities are of "real is more real than the average fake" (and back)
        pr, pf = self.loss.relative_probs(rs, fs) if getattr(self.loss, "relativistic", False) else (self.loss.prob(rs), self.loss.prob(fs))
        ctx.stats |= {"d_real": pr.mean(), "d_fake": pf.mean(), "acc_real": acc_r, "acc_fake": acc_f}

    # ------------------------------------------------------------------ the in-loop picture

    def preview_inputs(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Fixed held-out (a, b) as float in [-1, 1]: the test split's first rows (b None when unpaired)."""
        if self._preview is None:
            from gankit.data import load_translation_pairs

            a, b = load_translation_pairs(self.cfg.data, "test", limit=PREVIEW_ROWS)
            to_f = lambda x: None if x is None else x.float() / 127.5 - 1  # noqa: E731
            self._preview = (to_f(a), to_f(b) if self.paired and b is not None else None)
        return self._preview

    def preview_columns(self, nets: dict[str, nn.Module], a: torch.Tensor, b: torch.Tensor | None) -> list[torch.Tensor]:
        """The grid's columns after the input, as float images (the subclass says which)."""
        raise NotImplementedError

    @torch.no_grad()
    def preview(self, nets: dict[str, nn.Module], device: torch.device) -> torch.Tensor:
        """uint8 rows of input | output | (target or reconstruction), flattened row-major for a grid."""
        from gankit.utils.images import to_uint8

        a, b = self.preview_inputs()
        a = a.to(device)
        b = None if b is None else b.to(device)
        modes = {n: m.training for n, m in nets.items()}
        for m in nets.values():
            m.eval()
        try:
            cols = [self.preview_input_column(a), *self.preview_columns(nets, a, b)]
        finally:
            for n, m in nets.items():
                m.train(modes[n])
        c_max = max(c.shape[1] for c in cols)
        cols = [c.expand(-1, c_max, -1, -1) if c.shape[1] != c_max else c for c in cols]  # gray beside RGB
        return to_uint8(torch.stack(cols, 1).flatten(0, 1).cpu())

    def preview_width(self) -> int:
        """Images per grid row."""
        return 3

    def preview_input_column(self, a: torch.Tensor) -> torch.Tensor:
        """The input as the grid shows it (a super-resolution task enlarges it to the output's size)."""
        return a
