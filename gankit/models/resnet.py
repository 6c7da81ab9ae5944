"""ResNet G and D of SNGAN and BigGAN (Miyato et al. 2018, appendix B.4; Brock et al. 2019, appendix B;
blocks after Gulrajani et al. 2017, appendix F).

Deeper than DCGAN at the same cost, and the standard backbone for spectral norm and hinge loss:
SNGAN's CIFAR-10 ResNet (``base_channels`` 256 in G, 128 in D, the defaults) reaches FIDs DCGAN does
not. G: linear z -> s0 x s0 x ch (s0 = 4, or 7 for 28x28), one up-block per doubling, then
BN-ReLU-conv3x3-tanh. D: an optimized block, down-blocks until the side is at most 8, two more
blocks without pooling, ReLU, global *sum* pooling, linear. Widths are constant (as in the CIFAR
networks); sizes 4*2^n and 7*2^n (28, 32, 64, ...). D has no normalisation: add spectral norm with
the ``spectral_norm`` trick, which wraps every convolution and linear layer, attention included.

Options: ``attention_at: R`` inserts a SAGAN self-attention block (Zhang et al. 2019) after the
first block whose output is R x R. Conditioning: G ``cond: cbn`` (class-conditional batch norm in
every block, de Vries et al. 2017; the final norm stays plain, as in SNGAN/BigGAN) or ``cond:
biggan`` (one shared class embedding + hierarchical z, Brock et al. 2019, section 4 and appendix B);
D ``cond: projection`` (Miyato & Koyama 2018) and the ACGAN/TAC heads.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from gankit.errors import ConfigError
from gankit.models import DISCRIMINATORS, GENERATORS
from gankit.models.common import image_layout, square_image
from gankit.models.conditioning import D_PATH, G_PATH, ConditionalDiscriminator, check_cond, require_labels
from gankit.nn import DBlock, GBlock, OptimizedDBlock, SelfAttention2d


def _check_attention(path: str, at: int | None, resolutions: list[int]) -> None:
    if at is not None and at not in resolutions:
        valid = ", ".join(str(r) for r in sorted(set(resolutions)))
        raise ConfigError(f"{path}.attention_at: a resolution a block outputs ({valid}), or null; got {at}.")


def _check_width(path: str, channels: int) -> None:
    if channels < 1:
        raise ConfigError(f"{path}.base_channels: a positive number of channels is needed, got {channels}.")


@GENERATORS.register("resnet")
class ResNetGenerator(nn.Module):
    """``forward(z, c=None)``: z (N, z_dim) [and labels c (N,)] -> images (N, C, H, W) in [-1, 1].

    ``cond: biggan`` splits z into n_blocks + 1 chunks (the first takes any remainder of z_dim):
    chunk 0 feeds the linear layer, chunk k+1 joins the shared class embedding (``shared_dim``) as
    block k's conditioning vector, which each of its conditional norms maps to gamma/beta through
    its own linear layers. Latent information thus reaches every resolution (skip-z), and one
    embedding serves all blocks instead of one per norm.
    """

    def __init__(
        self,
        z_dim: int,
        out_shape: tuple[int, ...],
        base_channels: int = 256,
        attention_at: int | None = None,
        cond: Literal["none", "cbn", "biggan"] = "none",
        shared_dim: int = 128,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        c_out, size = square_image(out_shape, G_PATH, "ResNet", "makes")
        s0, n = image_layout(size, G_PATH, "ResNet")
        _check_width(G_PATH, base_channels)
        check_cond(G_PATH, cond, num_classes)
        _check_attention(G_PATH, attention_at, [s0 * 2 ** (i + 1) for i in range(n)])
        self.z_dim, self.out_shape, self.cond, self.s0, self.ch = z_dim, tuple(out_shape), cond, s0, base_channels
        ch = base_channels
        self.z_split: list[int] = [z_dim]
        self.shared: nn.Embedding | None = None
        cond_dim = 0
        if cond == "biggan":
            if z_dim < n + 1:
                raise ConfigError(
                    f"model.z_dim: cond: biggan splits z into {n + 1} chunks (the linear layer + {n} blocks), "
                    f"so z_dim >= {n + 1} is needed, got {z_dim}."
                )
            if shared_dim < 1:
                raise ConfigError(f"{G_PATH}.shared_dim: a positive embedding width is needed, got {shared_dim}.")
            chunk = z_dim // (n + 1)
            self.z_split = [z_dim - n * chunk] + [chunk] * n
            self.shared = nn.Embedding(num_classes, shared_dim)
            cond_dim = shared_dim + chunk
        self.linear = nn.Linear(self.z_split[0], s0 * s0 * ch)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.blocks = nn.ModuleList()
        for i in range(n):
            self.blocks.append(GBlock(ch, ch, num_classes if cond == "cbn" else 0, cond_dim))
            if s0 * 2 ** (i + 1) == attention_at:
                self.blocks.append(SelfAttention2d(ch))
        self.out_bn = nn.BatchNorm2d(ch)
        self.out_conv = nn.Conv2d(ch, c_out, 3, 1, 1)
        nn.init.xavier_uniform_(self.out_conv.weight)
        nn.init.zeros_(self.out_conv.bias)

    def block_conditions(self, z: torch.Tensor, c: torch.Tensor | None) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """(input of the linear layer, what each GBlock's norms are conditioned on)."""
        n_blocks = sum(isinstance(b, GBlock) for b in self.blocks)
        if self.cond == "none":
            return z, [None] * n_blocks
        c = require_labels(c, f"{G_PATH}.cond", repr(self.cond))
        if self.shared is None:  # cbn: every norm looks up its own class gamma/beta
            return z, [c] * n_blocks
        zs = torch.split(z, self.z_split, dim=1)
        e = self.shared(c.long()).to(z.dtype)
        return zs[0], [torch.cat([e, zk], dim=1) for zk in zs[1:]]

    def forward(self, z: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        z = z.reshape(z.shape[0], self.z_dim)
        z0, conds = self.block_conditions(z, c)
        h = self.linear(z0).view(z.shape[0], self.ch, self.s0, self.s0)
        k = 0
        for b in self.blocks:
            if isinstance(b, GBlock):
                h, k = b(h, conds[k]), k + 1
            else:
                h = b(h)
        return torch.tanh(self.out_conv(F.relu(self.out_bn(h))))


@DISCRIMINATORS.register("resnet")
class ResNetDiscriminator(ConditionalDiscriminator):
    """``forward(x, c=None, with_logits=False)``; ``features(x)`` = ReLU then global sum pooling of
    the last block (N, ch), ``head`` the final linear layer. Sum pooling (not mean) as in SNGAN:
    the score scales with the area, which the papers' hyperparameters assume.
    """

    def __init__(
        self,
        in_shape: tuple[int, ...],
        base_channels: int = 128,
        attention_at: int | None = None,
        cond: Literal["none", "projection"] = "none",
        aux_classifier: bool = False,
        tac: bool = False,
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        c_in, size = square_image(in_shape, D_PATH, "ResNet", "takes")
        image_layout(size, D_PATH, "ResNet")
        _check_width(D_PATH, base_channels)
        check_cond(D_PATH, cond, num_classes)
        ch, res = base_channels, size // 2
        layers: list[nn.Module] = [OptimizedDBlock(c_in, ch)]
        resolutions = [res]
        while res > 8:
            layers.append(DBlock(ch, ch, downsample=True))
            res //= 2
            resolutions.append(res)
        layers += [DBlock(ch, ch, downsample=False), DBlock(ch, ch, downsample=False)]
        resolutions += [res, res]
        _check_attention(D_PATH, attention_at, resolutions)
        if attention_at is not None:
            layers.insert(resolutions.index(attention_at) + 1, SelfAttention2d(ch))
        self.blocks = nn.Sequential(*layers)
        self.linear = nn.Linear(ch, 1)
        nn.init.xavier_uniform_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self._init_cond(cond, num_classes, ch, aux_classifier, tac)

    def features(self, x: torch.Tensor, c: torch.Tensor | None = None) -> torch.Tensor:
        return F.relu(self.blocks(x)).sum(dim=(2, 3))

    def head(self, f: torch.Tensor) -> torch.Tensor:
        return self.linear(f).view(-1)


__all__ = ["ResNetGenerator", "ResNetDiscriminator"]
