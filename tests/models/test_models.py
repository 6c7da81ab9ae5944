import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import build_discriminator, build_generator


@pytest.mark.parametrize("size", [28, 32, 64])
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_shapes(size, channels):
    shape = (channels, size, size)
    G = build_generator("dcgan", {"base_channels": 8}, 16, shape)
    D = build_discriminator("dcgan", {"base_channels": 8}, shape)
    x = G(torch.randn(3, 16))
    assert x.shape == (3, *shape)
    assert x.min() >= -1 and x.max() <= 1  # tanh output
    assert D(x).shape == (3,)


def test_dcgan_64_follows_the_paper_layout():
    G = build_generator("dcgan", {"base_channels": 128}, 100, (3, 64, 64))
    first = G.net[0]
    assert (first.in_channels, first.out_channels, first.kernel_size) == (100, 1024, (4, 4))
    widths = [m.out_channels for m in G.net if isinstance(m, torch.nn.ConvTranspose2d)]
    assert widths == [1024, 512, 256, 128, 3]


def test_dcgan_norm_placement():
    G = build_generator("dcgan", {}, 100, (1, 28, 28))
    D = build_discriminator("dcgan", {}, (1, 28, 28))
    # no BatchNorm after G's output layer, none after D's input layer
    assert isinstance(G.net[-1], torch.nn.Tanh) and isinstance(G.net[-2], torch.nn.ConvTranspose2d)
    assert isinstance(D.net[0], torch.nn.Conv2d) and isinstance(D.net[1], torch.nn.LeakyReLU)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in D.net)
    assert not any(isinstance(m, (torch.nn.MaxPool2d, torch.nn.AvgPool2d)) for m in list(G.modules()) + list(D.modules()))


def test_dcgan_init_is_normal_002():
    G = build_generator("dcgan", {"base_channels": 64}, 100, (1, 32, 32))
    w = G.net[3].weight
    assert abs(w.std().item() - 0.02) < 0.002


def test_layer_norm_critic_has_no_batch_norm():
    D = build_discriminator("dcgan", {"norm": "layer"}, (1, 28, 28))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules())


@pytest.mark.parametrize("shape", [(2,), (1, 28, 28), (3, 32, 32)])
def test_mlp_shapes(shape):
    G = build_generator("mlp", {"hidden": 16}, 8, shape)
    D = build_discriminator("mlp", {"hidden": 16}, shape)
    x = G(torch.randn(5, 8))
    assert x.shape == (5, *shape) and D(x).shape == (5,)
    if len(shape) == 1:  # 2D points are not squashed into [-1, 1]
        assert isinstance(G.net[-1], torch.nn.Linear)


def test_bad_size_and_option_errors():
    with pytest.raises(ConfigError, match="28, 32, 64"):
        build_generator("dcgan", {}, 100, (1, 30, 30))
    with pytest.raises(ConfigError, match="base_channels"):
        build_discriminator("dcgan", {"base_chanels": 3}, (1, 28, 28))
    with pytest.raises(ConfigError, match="dcgan"):
        build_generator("dcgn", {}, 100, (1, 28, 28))
