"""The PatchGAN discriminator of Pix2Pix and CycleGAN (Isola et al. 2017, section 3.2.2 and appendix 6.1.2).

D classifies each N x N patch as real or fake and returns the map of patch logits, (B, 1, h, w),
not one score per image: it models only high-frequency structure (L1 handles the low
frequencies), has few parameters and runs on any image size. The adversarial losses average over
the map, as the reference code does. 70x70 = C64-C128-C256-C512: 4x4 convolutions (stride 2,
stride 2, stride 2, stride 1, padding 1), LeakyReLU 0.2, no norm on C64, then a 4x4 stride-1
convolution to one channel. ``n_layers`` sets how many C blocks there are (3 -> 70x70); 0 is the
PixelGAN (1x1 convolutions, C64-C128, 1x1 patches).

The receptive field follows from the layer kernels and strides (:func:`receptive_field`); the
option ``receptive_field`` picks ``n_layers`` by it:

============  ================  ===========  ===========  ============
``n_layers``  receptive field   map at 28    map at 32    map at 256
============  ================  ===========  ===========  ============
0 (PixelGAN)  1                 28x28        32x32        256x256
1             16                12x12        14x14        126x126
2             34                5x5          6x6          62x62
3 (paper)     70                1x1          2x2          30x30
4             142               --           --           14x14
============  ================  ===========  ===========  ============

The paper's 70 px patch is 27% of a 256 px side. At 28/32 px the nearest equivalent is
``n_layers: 1`` (16 px: 57% of a 28-px side, 50% of 32), a 12x12 (14x14) map of local
patches; ``n_layers: 2`` (34 px) already sees the whole image at every unit, and ``n_layers: 3``
at 28 px is a whole-image D with one output.

**Conditional D (Pix2Pix).** D reads ``in_shape[0]`` channels: a Pix2Pix task builds it with
``in_shape = (C_a + C_b, H, W)`` and calls it on ``torch.cat([a, b], 1)`` (see
:func:`gankit.objectives.translation.condition_pair`); CycleGAN's D reads one domain, ``(C, H, W)``.
"""

from __future__ import annotations

from torch import Tensor, nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, init_normal
from gankit.models.common import TranslationNorm, image_shape, translation_norm
from gankit.models.conditioning import D_PATH

#: The deepest PatchGAN the option checks accept (286x286 patches).
MAX_LAYERS = 5


def layer_specs(n_layers: int) -> list[tuple[int, int, int]]:
    """(kernel, stride, padding) of every convolution, input to output, the logit layer included."""
    if n_layers == 0:
        return [(1, 1, 0)] * 3
    return [(4, 2, 1)] * n_layers + [(4, 1, 1), (4, 1, 1)]


def receptive_field_of(specs: list[tuple[int, int, int]]) -> int:
    """Side of the input window one output unit sees: r <- (r - 1) * stride + kernel, output to input."""
    r = 1
    for k, s, _ in reversed(specs):
        r = (r - 1) * s + k
    return r


def receptive_field(n_layers: int) -> int:
    """Receptive field of a PatchGAN with ``n_layers`` C blocks: 1, 16, 34, 70, 142, 286 for 0..5."""
    return receptive_field_of(layer_specs(n_layers))


def output_size(side: int, n_layers: int) -> int:
    """Side of the logit map for an input side (<= 0: the image is too small for this D)."""
    for k, s, p in layer_specs(n_layers):
        side = (side + 2 * p - k) // s + 1
    return side


def resolve_layers(n_layers: int | None, field: int | None, path: str = D_PATH) -> int:
    """``n_layers`` from the options: given, implied by ``receptive_field``, or 3 (70x70)."""
    table = {receptive_field(n): n for n in range(MAX_LAYERS + 1)}
    if field is not None:
        if field not in table:
            valid = ", ".join(f"{r} (n_layers {n})" for r, n in table.items())
            raise ConfigError(f"{path}.receptive_field: a PatchGAN receptive field is one of {valid}; got {field}.")
        if n_layers is not None and n_layers != table[field]:
            raise ConfigError(
                f"{path}: receptive_field {field} means n_layers {table[field]}, but n_layers is {n_layers}; set one of them."
            )
        return table[field]
    n = 3 if n_layers is None else n_layers
    if not 0 <= n <= MAX_LAYERS:
        raise ConfigError(f"{path}.n_layers: 0 (PixelGAN) to {MAX_LAYERS}, 3 for the paper's 70x70 patches; got {n_layers}.")
    return n


@DISCRIMINATORS.register("patchgan")
class PatchGANDiscriminator(nn.Module):
    """``forward(x)``: images (B, C, H, W) -> patch logits (B, 1, h, w); see the module's table for h."""

    def __init__(
        self,
        in_shape: tuple[int, ...],
        base_channels: int = 64,
        n_layers: int | None = None,
        receptive_field: int | None = None,
        norm: TranslationNorm = "batch",
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        if num_classes:
            raise ConfigError(
                f"{D_PATH}: patchgan is not class-conditional (this task gives {num_classes} classes); "
                "a Pix2Pix D is conditioned on the input image through its channels instead."
            )
        c_in, h, w = image_shape(in_shape, D_PATH, "PatchGAN", "takes")
        if base_channels < 1:
            raise ConfigError(f"{D_PATH}.base_channels: a positive number of channels, got {base_channels}.")
        n = resolve_layers(n_layers, receptive_field)
        if min(output_size(h, n), output_size(w, n)) < 1:
            fits = [k for k in range(MAX_LAYERS + 1) if min(output_size(h, k), output_size(w, k)) >= 1]
            raise ConfigError(
                f"{D_PATH}: a PatchGAN with n_layers {n} needs larger images than {h}x{w}; "
                f"n_layers {max(fits)} (receptive field {_rf(max(fits))}) is the deepest that fits."
            )
        self.n_layers, self.receptive_field, self.in_channels = n, _rf(n), c_in
        specs = layer_specs(n)
        widths = [base_channels * min(2**i, 8) for i in range(max(n, 1) + 1)]  # C64, C128, ... (+ the stride-1 C)
        bias = norm == "none"
        layers: list[nn.Module] = []
        ch = c_in
        for i, (k, s, p) in enumerate(specs[:-1]):
            out = widths[i]
            layers.append(nn.Conv2d(ch, out, k, s, p, bias=bias or i == 0))
            if i > 0:
                layers.append(translation_norm(norm, out))
            layers.append(nn.LeakyReLU(0.2))
            ch = out
        k, s, p = specs[-1]
        layers.append(nn.Conv2d(ch, 1, k, s, p))
        self.net = nn.Sequential(*layers)
        init_normal(self)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _rf(n: int) -> int:
    return receptive_field(n)


__all__ = ["PatchGANDiscriminator", "layer_specs", "output_size", "receptive_field", "receptive_field_of", "resolve_layers"]
