"""Super-resolution networks: SRResNet and RRDBNet shapes per scale, the pixel-shuffle layout, scale
errors, output modes, parameter counts against the papers' by hand, and the SRGAN discriminator."""

import pytest
import torch
from torch import nn
from torch.nn.utils.parametrize import is_parametrized

from gankit.errors import ConfigError
from gankit.models import build_discriminator, build_generator, build_translator, count_params
from gankit.models.rrdb import RRDB, NearestUpsample
from gankit.models.srresnet import SRResidualBlock, pixel_shuffle_stage


def sr(name: str, c_in: int, c_out: int, side: int, scale: int, **opts) -> nn.Module:
    return build_translator(name, {"base_channels": 4, "n_blocks": 1, **opts}, (c_in, side, side), (c_out, side * scale, side * scale))


@pytest.mark.parametrize("name,stage", [("srresnet", nn.PixelShuffle), ("rrdb", NearestUpsample)])
@pytest.mark.parametrize("scale", [2, 4])
def test_shapes_at_x2_and_x4(name, stage, scale):
    G = sr(name, 1, 3, 7, scale)
    assert G.scale == scale and sum(isinstance(m, stage) for m in G.modules()) == {2: 1, 4: 2}[scale]
    y = G(torch.rand(2, 1, 7, 7) * 2 - 1)
    assert y.shape == (2, 3, 7 * scale, 7 * scale)
    y.mean().backward()
    assert all(p.grad is not None for p in G.parameters())


def test_non_square_x3_and_x8():
    G = build_translator("srresnet", {"base_channels": 4, "n_blocks": 1}, (1, 5, 7), (1, 15, 21))
    assert [m.upscale_factor for m in G.modules() if isinstance(m, nn.PixelShuffle)] == [3]
    assert G(torch.randn(1, 1, 5, 7)).shape == (1, 1, 15, 21)
    R = sr("rrdb", 3, 3, 4, 8)
    assert [m.factor for m in R.modules() if isinstance(m, NearestUpsample)] == [2, 2, 2]
    assert R(torch.randn(1, 3, 4, 4)).shape == (1, 3, 32, 32)


def test_pixel_shuffle_moves_channel_blocks_to_subpixels():
    """Output pixel (h*r + i, w*r + j) of channel c is conv channel c*r^2 + i*r + j at (h, w) (Shi et al. 2016)."""
    r, ch = 2, 3
    stage = pixel_shuffle_stage(ch, r)
    nn.init.zeros_(stage[2].weight)  # PReLU slope 0: the stage output is relu(shuffle(conv))
    conv_out = []
    stage[0].register_forward_hook(lambda m, i, o: conv_out.append(o.detach()))
    y = stage(torch.randn(2, ch, 5, 6)).detach()
    z = conv_out[0]
    assert y.shape == (2, ch, 10, 12)
    for c in range(ch):
        for i in range(r):
            for j in range(r):
                assert torch.equal(y[:, c, i::r, j::r], z[:, c * r * r + i * r + j].clamp(min=0))


def test_scale_errors():
    with pytest.raises(ConfigError, match="same whole factor.*14x14 and output 28x56"):
        build_translator("srresnet", {}, (1, 14, 14), (1, 28, 56))
    with pytest.raises(ConfigError, match="same whole factor"):
        build_translator("rrdb", {}, (1, 10, 10), (1, 25, 25))
    with pytest.raises(ConfigError, match="x2, x3, x4, x8 .* are x5"):
        build_translator("srresnet", {}, (1, 5, 5), (1, 25, 25))
    with pytest.raises(ConfigError, match="are x1"):
        build_translator("rrdb", {}, (1, 28, 28), (1, 28, 28))
    with pytest.raises(ConfigError, match="image-to-image"):
        build_generator("srresnet", {}, 8, (1, 28, 28))
    with pytest.raises(ConfigError, match="Did you mean 'n_blocks'"):
        build_translator("rrdb", {"blocks": 2}, (1, 14, 14), (1, 28, 28))
    with pytest.raises(ConfigError, match="'batch' or 'none'"):
        build_translator("srresnet", {"norm": "instance"}, (1, 14, 14), (1, 28, 28))


def test_output_modes():
    x = torch.randn(2, 1, 7, 7)
    G = sr("srresnet", 1, 1, 7, 2)
    pre = []
    G.tail.register_forward_hook(lambda m, i, o: pre.append(o.detach()))
    with torch.no_grad():
        G.tail.bias.fill_(5.0)
    assert torch.equal(G(x).detach(), torch.tanh(pre[0])) and pre[0].max() > 1  # tanh of the last conv
    L = sr("srresnet", 1, 1, 7, 2, output="none")
    R = sr("rrdb", 1, 1, 7, 2)  # ESRGAN's default: linear
    for net, last in ((L, L.tail), (R, R.conv_last)):
        with torch.no_grad():
            last.bias.fill_(5.0)
        assert net.train()(x).max() > 1  # training keeps the overshoot (and its gradient)
        assert net.eval()(x).max() == 1.0  # inference returns valid images


def test_norm_none_and_block_counts():
    G = sr("srresnet", 1, 1, 7, 2, norm="none", n_blocks=3)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in G.modules())
    assert sum(isinstance(m, SRResidualBlock) for m in G.modules()) == 3
    R = sr("rrdb", 1, 1, 7, 2, n_blocks=2, growth=5)
    assert sum(isinstance(m, RRDB) for m in R.modules()) == 2 and not any(isinstance(m, nn.BatchNorm2d) for m in R.modules())
    assert R.trunk[0].rdbs[0].convs[4].in_channels == 4 + 4 * 5  # the fifth conv reads x and the four growths


def test_default_sizes_match_the_papers_by_hand():
    """SRResNet (64 ch, 16 blocks, x4, RGB) and ESRGAN's RRDBNet (64 ch, growth 32, 23 RRDBs, x4)."""
    conv = lambda ci, co, k, bias=True: ci * co * k * k + (co if bias else 0)  # noqa: E731
    block = 2 * conv(64, 64, 3, bias=False) + 2 * 2 * 64 + 1  # two convs, two BNs, one PReLU
    srresnet = (conv(3, 64, 9) + 1) + 16 * block + (conv(64, 64, 3, False) + 128) + 2 * (conv(64, 256, 3) + 1) + conv(64, 3, 9)
    assert count_params(build_translator("srresnet", {}, (3, 24, 24), (3, 96, 96))) == srresnet == 1_547_350
    rdb = sum(conv(64 + i * 32, 32 if i < 4 else 64, 3) for i in range(5))
    rrdbnet = conv(3, 64, 3) + 23 * 3 * rdb + conv(64, 64, 3) + 2 * conv(64, 64, 3) + conv(64, 64, 3) + conv(64, 3, 3)
    assert count_params(build_translator("rrdb", {}, (3, 8, 8), (3, 32, 32))) == rrdbnet == 16_697_987


def srgan_d(shape, **opts) -> nn.Module:
    return build_discriminator("srgan_d", opts, shape)


@pytest.mark.parametrize("side,stages,feat", [(28, 3, 4), (96, 4, 6), (32, 3, 4), (64, 4, 4)])
def test_srgan_d_adapts_its_stages(side, stages, feat):
    D = srgan_d((1, side, side), base_channels=2)
    assert D.stages == stages and D.feature_shape == (2 * 2 ** (stages - 1), feat, feat)
    s = D(torch.randn(3, 1, side, side))
    assert s.shape == (3,)
    s.sum().backward()
    assert all(p.grad is not None for p in D.parameters())


def test_srgan_d_at_96_is_the_papers():
    D = srgan_d((3, 96, 96))
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride[0] for c in convs] == [1, 2] * 4 and all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in D.modules()) == 7  # none after the first conv
    linears = [m for m in D.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512 * 6 * 6, 1024), (1024, 1)]
    assert all(m.negative_slope == 0.2 for m in D.modules() if isinstance(m, nn.LeakyReLU))


def test_srgan_d_norms_and_errors():
    D = srgan_d((1, 28, 28), base_channels=2, norm="spectral")
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    assert all(is_parametrized(m, "weight") for m in layers) and not any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert D(torch.randn(2, 1, 28, 28)).shape == (2,)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in srgan_d((1, 28, 28), norm="none").modules())
    assert srgan_d((1, 96, 96), base_channels=2, max_stages=2).feature_shape == (4, 24, 24)
    with pytest.raises(ConfigError, match="at least 7x7"):
        srgan_d((1, 6, 6))
    with pytest.raises(ConfigError, match="not class-conditional"):
        build_discriminator("srgan_d", {}, (1, 28, 28), num_classes=10)
    with pytest.raises(ConfigError, match="'batch', 'none' or 'spectral'"):
        srgan_d((1, 28, 28), norm="instance")
