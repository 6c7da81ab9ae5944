"""StarGAN networks: the one-hot domain planes G reads, label checks, and D's two heads at 28 and 128."""

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import build_discriminator, count_params
from gankit.models.stargan import StarGenerator


class Passthrough(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def test_generator_concatenates_tiled_one_hot_domains():
    x, c = torch.randn(3, 2, 5, 7), torch.tensor([0, 3, 1])
    y = StarGenerator(Passthrough(), num_classes=4)(x, c)
    assert y.shape == (3, 2 + 4, 5, 7) and torch.equal(y[:, :2], x)
    for i, k in enumerate(c.tolist()):
        for j in range(4):
            assert torch.equal(y[i, 2 + j], torch.full((5, 7), float(j == k)))


def test_built_generator_translates_per_domain():
    G = StarGenerator.build("resnet_translator", {"base_channels": 4, "n_blocks": 1, "first_padding": "zero"}, (1, 28, 28), 10).eval()
    assert G.num_classes == 10 and G.core.in_shape == (11, 28, 28) and G.core.out_shape == (1, 28, 28)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        a, b = G(x, torch.tensor([0, 0])), G(x, torch.tensor([0, 5]))
    assert a.shape == (2, 1, 28, 28) and torch.equal(a[0], b[0])
    assert float((a[1] - b[1]).abs().max()) > 1e-3  # the domain really changes the output, not float noise


def test_a_core_that_erases_the_domain_is_refused():
    """Reflection padding keeps the one-hot planes constant after the first convolution, and instance
    norm subtracts a per-channel constant exactly: every domain would give the same image."""
    from gankit.models import build_translator

    core = build_translator("resnet_translator", {"base_channels": 4, "n_blocks": 1}, (11, 28, 28), (1, 28, 28)).eval()
    x = torch.randn(1, 1, 28, 28).requires_grad_(False)
    cond = StarGenerator(Passthrough(), num_classes=10).condition
    with torch.no_grad():
        same = core(cond(x, torch.tensor([0]))) - core(cond(x, torch.tensor([7])))
    assert float(same.abs().max()) < 1e-5  # the failure the check exists for
    with pytest.raises(ConfigError, match="erases the target domain.*first_padding: zero"):
        StarGenerator(core, 10)
    StarGenerator.build("resnet_translator", {"base_channels": 4, "n_blocks": 1, "norm": "batch"}, (1, 28, 28), 10)


def test_generator_label_errors():
    G = StarGenerator(Passthrough(), num_classes=3)
    x = torch.randn(2, 1, 4, 4)
    with pytest.raises(ConfigError, match="needs target domains"):
        G(x, None)
    with pytest.raises(ConfigError, match="integers of shape \\(2,\\)"):
        G(x, torch.zeros(2, 3))
    with pytest.raises(ConfigError, match="in 0..2; got 0..3"):
        G(x, torch.tensor([0, 3]))
    with pytest.raises(ConfigError, match="at least 2"):
        StarGenerator.build("unet", {}, (1, 28, 28), 1)


@pytest.mark.parametrize("side,layers,final", [(28, 3, 3), (32, 4, 2), (64, 5, 2), (128, 6, 2)])
def test_discriminator_heads(side, layers, final):
    D = build_discriminator("stargan_d", {"base_channels": 2}, (3, side, side), num_classes=10)
    assert D.n_layers == layers and D.feature_shape == (2 * 2 ** (layers - 1), final, final)
    assert D.cls.kernel_size == (final, final)  # the class head reads the whole final map
    src, cls = D(torch.randn(4, 3, side, side))
    assert src.shape == (4, 1, final, final) and cls.shape == (4, 10)
    assert torch.equal(D.score(torch.ones(1, 3, side, side)), D(torch.ones(1, 3, side, side))[0])
    (src.mean() + cls.mean()).backward()
    assert all(p.grad is not None for p in D.parameters())


def test_discriminator_is_the_papers_at_128():
    """6 layers 64 ... 2048, LeakyReLU 0.01, no norm; parameters counted by hand (CelebA's 5 attributes)."""
    D = build_discriminator("stargan_d", {}, (3, 128, 128), num_classes=5)
    convs = [m for m in D.main if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1024, 2048]
    assert all(c.kernel_size == (4, 4) and c.stride == (2, 2) for c in convs)
    assert all(m.negative_slope == 0.01 for m in D.modules() if isinstance(m, nn.LeakyReLU))
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.InstanceNorm2d)) for m in D.modules())
    widths = [3, 64, 128, 256, 512, 1024, 2048]
    trunk = sum(ci * co * 16 + co for ci, co in zip(widths, widths[1:]))
    assert count_params(D) == trunk + 2048 * 9 + 2048 * 5 * 2 * 2 == 44_762_048


def test_discriminator_layers_option_and_errors():
    D = build_discriminator("stargan_d", {"base_channels": 2, "n_layers": 2}, (1, 28, 28), num_classes=10)
    src, cls = D(torch.randn(2, 1, 28, 28))
    assert src.shape == (2, 1, 7, 7) and cls.shape == (2, 10) and D.cls.kernel_size == (7, 7)
    with pytest.raises(ConfigError, match="n_layers: 1 to 3"):
        build_discriminator("stargan_d", {"n_layers": 4}, (1, 28, 28), num_classes=10)
    with pytest.raises(ConfigError, match="K >= 2 domains"):
        build_discriminator("stargan_d", {}, (1, 28, 28))
