"""The U-Net translator: shapes (28 padded to 32 and cropped back), channels, skips, dropout, options."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import build_generator, build_translator
from gankit.models.unet import EvalDropout


def unet(c_in: int, c_out: int, size: int, **opts) -> torch.nn.Module:
    return build_translator("unet", {"base_channels": 2, **opts}, (c_in, size, size), (c_out, size, size))


@pytest.mark.parametrize("size,depth", [(28, 5), (32, 5), (64, 6)])
def test_shapes_and_default_depth(size, depth):
    G = unet(1, 3, size)  # gray -> RGB
    assert G.num_downs == depth
    x = torch.rand(2, 1, size, size) * 2 - 1
    y = G(x)
    assert y.shape == (2, 3, size, size) and y.abs().max() <= 1
    y.mean().backward()
    assert all(p.grad is not None for p in G.parameters())


def test_256_is_the_papers_unet_256():
    G = build_translator("unet", {"base_channels": 1}, (3, 256, 256), (1, 256, 256))
    assert G.num_downs == 8 and sum(isinstance(m, EvalDropout) for m in G.modules()) == 3
    widths = [down[-1].num_features if isinstance(down[-1], torch.nn.BatchNorm2d) else None for down in G.downs]
    assert widths == [None, 2, 4, 8, 8, 8, 8, None]  # no norm on the first layer nor on the 1x1 bottleneck
    assert G.eval()(torch.randn(1, 3, 256, 256)).shape == (1, 1, 256, 256)


def test_28_pads_to_32_and_crops_back_but_divisible_depths_do_not_pad():
    G = unet(1, 1, 28).eval()
    seen = []
    G.downs[0].register_forward_hook(lambda m, i, o: seen.append(i[0].shape[-1]))
    assert G(torch.randn(1, 1, 28, 28)).shape == (1, 1, 28, 28) and seen == [32]
    G2 = unet(1, 1, 28, num_downs=2).eval()  # 28 -> 14 -> 7: divides, no padding
    seen.clear()
    G2.downs[0].register_forward_hook(lambda m, i, o: seen.append(i[0].shape[-1]))
    assert G2(torch.randn(1, 1, 28, 28)).shape == (1, 1, 28, 28) and seen == [28]


def test_skip_connections_carry_the_input_past_a_dead_bottleneck():
    """With the bottleneck convolution zeroed, the first decoder layer sees a constant, so any change of
    the output with the input must come through the skips (without skips, both outputs would be equal)."""
    G = unet(1, 1, 32, norm="none").eval()
    bottleneck = G.downs[-1][-1]
    with torch.no_grad():
        bottleneck.weight.zero_()
        bottleneck.bias.zero_()
    inner = []
    G.ups[0].register_forward_hook(lambda m, i, o: inner.append(o.detach()))
    x1, x2 = torch.randn(2, 1, 1, 32, 32)
    y1, y2 = G(x1), G(x2)
    assert torch.equal(inner[0], inner[1])  # the bottleneck path carries nothing of x
    assert (y1 - y2).abs().max() > 1e-4
    x = x1.clone().requires_grad_(True)
    G(x).sum().backward()
    assert x.grad.abs().sum() > 0


def test_dropout_layers_and_test_time_noise():
    x = torch.randn(2, 1, 32, 32)
    G = unet(1, 1, 32, dropout=2)
    assert sum(isinstance(m, EvalDropout) for m in G.modules()) == 2
    G.eval()
    assert torch.equal(G(x), G(x))  # deterministic at eval by default
    G_noisy = unet(1, 1, 32, dropout_at_eval=True).eval()
    assert not torch.equal(G_noisy(x), G_noisy(x))
    assert not any(isinstance(m, EvalDropout) for m in unet(1, 1, 32, dropout=0).modules())


@pytest.mark.parametrize("norm", ["instance", "none"])
def test_norms(norm):
    G = unet(3, 3, 28, norm=norm)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in G.modules())
    assert G(torch.randn(1, 3, 28, 28)).shape == (1, 3, 28, 28)  # instance norm never sees 1x1


def test_option_errors_name_what_is_allowed():
    with pytest.raises(ConfigError, match="num_downs: 2 to 5"):
        unet(1, 1, 28, num_downs=6)
    with pytest.raises(ConfigError, match="dropout: .* 0 to 4"):
        unet(1, 1, 28, dropout=5)
    with pytest.raises(ConfigError, match="Did you mean 'num_downs'"):
        unet(1, 1, 28, num_down=3)
    with pytest.raises(ConfigError, match="keeps the image size"):
        build_translator("unet", {}, (1, 28, 28), (1, 32, 32))
    with pytest.raises(ConfigError, match="image-to-image.*Valid here: .*dcgan"):
        build_generator("unet", {}, 8, (1, 28, 28))
    with pytest.raises(ConfigError, match="noise-to-image.*Valid here: .*unet"):
        build_translator("dcgan", {}, (1, 28, 28), (1, 28, 28))
