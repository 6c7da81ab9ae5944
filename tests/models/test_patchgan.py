"""PatchGAN: the receptive field computed from the layers, chosen by option, and measured by gradients."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import build_discriminator
from gankit.models.patchgan import output_size, receptive_field
from gankit.objectives.translation import condition_pair


def patchgan(in_shape, **opts) -> torch.nn.Module:
    return build_discriminator("patchgan", {"base_channels": 2, **opts}, in_shape)


def test_receptive_field_table():
    assert [receptive_field(n) for n in range(5)] == [1, 16, 34, 70, 142]
    assert [output_size(256, n) for n in range(4)] == [256, 126, 62, 30]  # the paper's 30x30 map of 70x70 patches
    assert [output_size(28, n) for n in range(4)] == [28, 12, 5, 1]


@pytest.mark.parametrize("n_layers,size", [(0, 8), (1, 40), (2, 64), (3, 128)])
@pytest.mark.parametrize("norm", ["none", "batch"])
def test_gradient_of_one_unit_covers_exactly_the_receptive_field(n_layers, size, norm):
    D = patchgan((1, size, size), receptive_field=receptive_field(n_layers), norm=norm).double().eval()
    assert D.n_layers == n_layers and D.receptive_field == receptive_field(n_layers)
    x = torch.randn(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    out = D(x)
    assert out.shape == (1, 1, output_size(size, n_layers), output_size(size, n_layers))
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    support = x.grad[0, 0] != 0
    rows, cols = support.any(1).nonzero().flatten(), support.any(0).nonzero().flatten()
    r0, r1, c0, c1 = rows.min(), rows.max(), cols.min(), cols.max()
    assert (r1 - r0 + 1, c1 - c0 + 1) == (D.receptive_field, D.receptive_field)
    assert r0 > 0 and c0 > 0 and r1 < size - 1 and c1 < size - 1  # not clipped by the border
    assert support[r0 : r1 + 1, c0 : c1 + 1].all() and support.sum() == D.receptive_field**2


def test_layers_widths_and_conditional_input():
    D = build_discriminator("patchgan", {}, (1 + 3, 256, 256))  # pix2pix: cat(a gray, b RGB)
    convs = [m for m in D.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1] and convs[0].in_channels == 4
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1] and D.receptive_field == 70
    assert not isinstance(convs[0], torch.nn.BatchNorm2d) and sum(isinstance(m, torch.nn.BatchNorm2d) for m in D.modules()) == 3
    a, b = torch.randn(2, 1, 28, 28), torch.randn(2, 3, 28, 28)
    assert patchgan((4, 28, 28), n_layers=1, norm="instance")(condition_pair(a, b)).shape == (2, 1, 12, 12)


def test_option_errors_say_what_is_possible():
    with pytest.raises(ConfigError, match=r"one of 1 \(n_layers 0\), 16 \(n_layers 1\), 34 .*70"):
        patchgan((3, 64, 64), receptive_field=50)
    with pytest.raises(ConfigError, match="means n_layers 3"):
        patchgan((3, 64, 64), receptive_field=70, n_layers=2)
    with pytest.raises(ConfigError, match="n_layers 3 .* is the deepest that fits"):
        patchgan((3, 28, 28), n_layers=4)
    with pytest.raises(ConfigError, match="not class-conditional"):
        build_discriminator("patchgan", {}, (3, 64, 64), num_classes=10)
    with pytest.raises(ConfigError, match="Did you mean 'n_layers'"):
        patchgan((3, 64, 64), layers=3)
