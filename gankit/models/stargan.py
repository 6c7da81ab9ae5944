"""StarGAN's networks (Choi et al. 2018, "StarGAN: Unified Generative Adversarial Networks for
Multi-Domain Image-to-Image Translation", section 3 and appendix 7.2).

* :class:`StarGenerator` -- one generator for all K domains: the target domain enters as K one-hot
  planes tiled over the image and concatenated to its channels, ``G(x, c)``. The core is any
  image-to-image family built for (C + K) -> C channels; the paper's G is the CycleGAN ResNet
  (``resnet_translator``: c7s1-64, two stride-2 downs, six residual blocks, two ups, instance norm).
* ``stargan_d`` -- a PatchGAN-like trunk of 4x4 stride-2 convolutions with LeakyReLU 0.01 and no
  normalisation (the paper trains it with WGAN-GP, whose penalty is per sample and would be
  distorted by batch statistics), widths doubling from ``base_channels`` (capped at 32x). Two heads
  on the same features: ``src``, a 3x3 convolution to one channel -- a map of patch logits (N, 1, h, w)
  -- and ``cls``, a convolution whose kernel is the whole final map, giving domain logits (N, K).

**Sizes.** A 4x4 stride-2 convolution with padding 1 maps a side s to floor(s / 2). ``n_layers``
defaults to as many as keep the side >= 2: six at 128 px (128 -> 2x2 as the paper's), 28 -> 14 ->
7 -> 3 (three), 32 and 64 -> 2x2. Init: torch's defaults, as the authors' code.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, build_translator
from gankit.models.common import image_shape
from gankit.models.conditioning import D_PATH, G_PATH
from gankit.nn import one_hot_maps

#: Widest StarGAN D layer, as a multiple of base_channels (the paper's 6 layers reach 64 * 32 = 2048).
MAX_WIDTH_MULT = 32


def check_domains(c: torch.Tensor | None, n: int, num_classes: int, who: str) -> torch.Tensor:
    """Target domains c: integers of shape (N,) in 0..K-1 (the range is checked on CPU tensors only,
    as checking a GPU tensor would stall the device every call; there F.one_hot asserts instead; an
    exported graph leaves it to its runtime, which checks c's range: gankit.export.runtime)."""
    if c is None:
        raise ConfigError(f"{who} needs target domains c, int64 of shape (N,) in 0..{num_classes - 1}; got c=None.")
    if c.shape != (n,) or c.dtype.is_floating_point or c.dtype == torch.bool:
        raise ConfigError(
            f"{who}: target domains are integers of shape ({n},) in 0..{num_classes - 1}; got {c.dtype} {tuple(c.shape)}."
        )
    exporting = torch.compiler.is_exporting() or torch.jit.is_tracing()  # a graph cannot branch on c's values
    if c.device.type == "cpu" and n and not exporting and (int(c.min()) < 0 or int(c.max()) >= num_classes):
        raise ConfigError(f"{who}: target domains must lie in 0..{num_classes - 1}; got {int(c.min())}..{int(c.max())}.")
    return c


class StarGenerator(nn.Module):
    """``forward(x, c)``: images (N, C, H, W) in [-1, 1], target domains c (N,) -> (N, C, H, W) in [-1, 1]."""

    def __init__(self, core: nn.Module, num_classes: int) -> None:
        super().__init__()
        if num_classes < 2:
            raise ConfigError(f"{G_PATH}: StarGAN translates between domains, so at least 2 are needed; got {num_classes}.")
        self.core, self.num_classes = core, num_classes
        self._check_label_reaches_output()

    @torch.no_grad()
    def _check_label_reaches_output(self) -> None:
        """Refuse a core that cannot see the label: constant one-hot planes behind a reflection-padded
        convolution and instance norm are subtracted exactly, so G(x, c) would be the same for every c."""
        shape = getattr(self.core, "in_shape", None)
        if shape is None:
            return
        mode = self.core.training
        self.core.eval()
        try:
            x = torch.randn(1, shape[0] - self.num_classes, *shape[1:], generator=torch.Generator().manual_seed(0))
            outs = [self.core(self.condition(x, torch.tensor([k]))) for k in (0, 1)]
        finally:
            self.core.train(mode)
        if float((outs[0] - outs[1]).abs().max()) < 1e-6:
            raise ConfigError(f"{G_PATH}: this {type(self.core).__name__} erases the target domain: the one-hot planes are "
                              "constant, and its normalisation subtracts them. Use first_padding: zero (StarGAN's G) "
                              "for resnet_translator, or norm: batch.")  # fmt: skip

    @classmethod
    def build(
        cls, name: str, params: dict[str, Any], shape: tuple[int, ...], num_classes: int, path: str = G_PATH
    ) -> StarGenerator:
        """Build the core translator ``name`` for images of ``shape`` (C, H, W) plus K domain planes."""
        c, h, w = image_shape(tuple(shape), path, "StarGAN's generator", "translates")
        if num_classes < 2:
            raise ConfigError(f"{path}: StarGAN translates between domains, so at least 2 are needed; got {num_classes}.")
        return cls(build_translator(name, params, (c + num_classes, h, w), (c, h, w), path), num_classes)

    def condition(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """cat(x, one-hot(c) tiled over H x W): the core's input (N, C + K, H, W)."""
        c = check_domains(c, x.shape[0], self.num_classes, "StarGenerator")
        return torch.cat([x, one_hot_maps(c, self.num_classes, x)], 1)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return self.core(self.condition(x, c))


def default_layers(side: int) -> int:
    """4x4 stride-2 layers keeping the side >= 2 (floor halving): 6 at 128, 3 at 28."""
    n = 0
    while side // 2 >= 2:
        side //= 2
        n += 1
    return n


@DISCRIMINATORS.register("stargan_d")
class StarGANDiscriminator(nn.Module):
    """``forward(x)``: images (N, C, H, W) -> ``(src, cls)``: patch logits (N, 1, h, w), domain logits (N, K)."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        num_classes: int,
        base_channels: int = 64,
        n_layers: int | None = None,
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise ConfigError(
                f"{D_PATH}: stargan_d classifies K >= 2 domains, but this task gives num_classes = {num_classes}; "
                "use a labelled dataset (fmnist-domains, a class folder)."
            )
        c, h, w = image_shape(in_shape, D_PATH, "stargan_d", "takes")
        if base_channels < 1:
            raise ConfigError(f"{D_PATH}.base_channels: a positive number of channels, got {base_channels}.")
        deepest = default_layers(min(h, w))
        if deepest < 1:
            raise ConfigError(f"{D_PATH}: stargan_d needs images of at least 4x4, got {h}x{w}.")
        n = deepest if n_layers is None else n_layers
        if not 1 <= n <= deepest:
            raise ConfigError(
                f"{D_PATH}.n_layers: 1 to {deepest} stride-2 layers for {h}x{w} images (the final map stays >= 2x2; "
                f"6 at 128 px as in the paper), or null for {deepest}; got {n_layers}."
            )
        self.in_shape, self.num_classes, self.n_layers = (c, h, w), num_classes, n
        layers: list[nn.Module] = []
        ch, fh, fw = c, h, w
        for i in range(n):
            width = base_channels * min(2**i, MAX_WIDTH_MULT)
            layers += [nn.Conv2d(ch, width, 4, 2, 1), nn.LeakyReLU(0.01)]
            ch, fh, fw = width, fh // 2, fw // 2
        self.main = nn.Sequential(*layers)
        self.feature_shape = (ch, fh, fw)
        self.src = nn.Conv2d(ch, 1, 3, 1, 1, bias=False)
        self.cls = nn.Conv2d(ch, num_classes, (fh, fw), bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        f = self.main(x)
        return self.src(f), self.cls(f).flatten(1)

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """The adversarial head alone, for penalties that differentiate one output (WGAN-GP)."""
        return self.src(self.main(x))


__all__ = ["StarGenerator", "StarGANDiscriminator", "check_domains", "default_layers", "MAX_WIDTH_MULT"]
