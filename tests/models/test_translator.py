"""The CycleGAN ResNet generator: shapes for 6 and 9 blocks at 28 (-> 14 -> 7 and back) and 64."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import build_translator
from gankit.models.translator import ResidualBlock


@pytest.mark.parametrize("size", [28, 64])
@pytest.mark.parametrize("blocks", [6, 9])
def test_shapes(size, blocks):
    G = build_translator("resnet_translator", {"base_channels": 2, "n_blocks": blocks}, (1, size, size), (3, size, size))
    assert sum(isinstance(m, ResidualBlock) for m in G.modules()) == blocks
    inner = []
    last_block = [m for m in G.net if isinstance(m, ResidualBlock)][-1]
    last_block.register_forward_hook(lambda m, i, o: inner.append(o.shape[-1]))
    y = G(torch.rand(2, 1, size, size) * 2 - 1)
    assert y.shape == (2, 3, size, size) and y.abs().max() <= 1 and inner == [size // 4]
    y.mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in G.parameters())


def test_defaults_follow_the_paper_and_resize_upsampling():
    assert build_translator("resnet_translator", {"base_channels": 1}, (3, 128, 128), (3, 128, 128)).n_blocks == 6
    assert build_translator("resnet_translator", {"base_channels": 1}, (3, 256, 256), (3, 256, 256)).n_blocks == 9
    G = build_translator("resnet_translator", {"base_channels": 2, "n_blocks": 1, "upsample": "resize"}, (3, 28, 28), (1, 28, 28))
    assert not any(isinstance(m, torch.nn.ConvTranspose2d) for m in G.modules())
    assert G(torch.randn(1, 3, 28, 28)).shape == (1, 1, 28, 28)


def test_size_and_option_errors():
    with pytest.raises(ConfigError, match="multiples of 4"):
        build_translator("resnet_translator", {}, (1, 30, 30), (1, 30, 30))
    with pytest.raises(ConfigError, match="Did you mean 'n_blocks'"):
        build_translator("resnet_translator", {"blocks": 6}, (1, 28, 28), (1, 28, 28))
    with pytest.raises(ConfigError, match="'transposed' or 'resize'"):
        build_translator("resnet_translator", {"upsample": "bilinear"}, (1, 28, 28), (1, 28, 28))
