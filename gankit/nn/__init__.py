"""Building blocks for GAN networks: pure ``torch.nn`` modules, importable without any registry.

* :mod:`gankit.nn.conditional` -- label inputs, conditional batch norm, the projection term.
* :mod:`gankit.nn.attention` -- SAGAN self-attention.
* :mod:`gankit.nn.blocks` -- SNGAN/BigGAN residual blocks (up for G, down for D).

The model families in :mod:`gankit.models` assemble these; recipes never name them directly.
"""

from gankit.nn.attention import SelfAttention2d
from gankit.nn.blocks import DBlock, GBlock, OptimizedDBlock
from gankit.nn.conditional import ConditionalBatchNorm2d, LabelEmbedding, ProjectionHead, one_hot_maps

__all__ = [
    "ConditionalBatchNorm2d",
    "DBlock",
    "GBlock",
    "LabelEmbedding",
    "OptimizedDBlock",
    "ProjectionHead",
    "SelfAttention2d",
    "one_hot_maps",
]
