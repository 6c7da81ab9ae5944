"""Inpainting networks: the Inpainter's input and composite (bitwise), where gradients flow, the
completion network's shapes and dilations, and the global + local D's crop against a naive one."""

import math

import pytest
import torch
from torch import nn

from gankit.errors import ConfigError
from gankit.models import build_discriminator, build_translator
from gankit.models.inpainting import Inpainter, composite, hole_box_origin, local_crop


def box_masks(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    m = torch.zeros(n, 1, h, w)
    for i in range(n):
        bh, bw = (int(v) for v in torch.randint(1, h // 2 + 1, (2,), generator=g))
        y, x = int(torch.randint(0, h - bh + 1, (1,), generator=g)), int(torch.randint(0, w - bw + 1, (1,), generator=g))
        m[i, 0, y : y + bh, x : x + bw] = 1
    return m


class Blowup(nn.Module):
    """A core whose output is inf/NaN everywhere: composite must still return the known pixels of x."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.full_like(x[:, :-1], float("inf"))
        out[..., ::2] = float("nan")
        return out


def test_composite_keeps_known_pixels_bitwise():
    x = torch.randn(4, 3, 28, 28)
    x[0, 0, 0, 0] = -0.0  # x*(1-m) + out*m would give +0.0 here
    m = box_masks(4, 28, 28)
    y = Inpainter(Blowup())(x, m)
    known = (m == 0).expand_as(x)
    assert torch.equal(y.view(torch.int32)[known], x.view(torch.int32)[known])
    assert not y[~known].isfinite().any()  # the hole is the core's
    net = Inpainter.build("completion_net", {"base_channels": 4}, (3, 28, 28)).eval()
    y = net(x, m.to(torch.uint8))  # uint8 masks as the data gives them
    assert torch.equal(y.view(torch.int32)[known], x.view(torch.int32)[known])


def test_core_sees_filled_hole_and_mask_and_hole_content_is_ignored():
    net = Inpainter.build("unet", {"base_channels": 2}, (1, 28, 28), fill=0.25).eval()
    assert net.core.in_shape == (2, 28, 28) and net.core.out_shape == (1, 28, 28)
    seen = []
    net.core.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    x, m = torch.randn(2, 1, 28, 28), box_masks(2, 28, 28, seed=1)
    y = net(x, m)
    expected = torch.cat([x * (1 - m) + 0.25 * m, m], 1)
    assert torch.equal(seen[0], expected)
    x2 = torch.where(m > 0, torch.randn_like(x), x)  # other content in the hole
    assert torch.equal(net(x2, m), y)


def test_gradients_flow_only_through_the_hole():
    net = Inpainter.build("completion_net", {"base_channels": 4}, (1, 28, 28))
    x = torch.randn(2, 1, 28, 28, requires_grad=True)
    m = box_masks(2, 28, 28, seed=2)
    raw = net.raw(x, m)
    raw.retain_grad()
    composite(x, raw, m).sum().backward()
    assert torch.equal(raw.grad, m)  # d sum / d raw = 1 in the hole, exactly 0 outside
    assert torch.equal(x.grad[m > 0], torch.zeros(int(m.sum())))  # the hole's content never reaches the output
    assert (x.grad[m == 0] != 0).all()  # known pixels: passed through (and read by the core)


def test_mask_errors():
    net = Inpainter.build("completion_net", {"base_channels": 4}, (1, 28, 28))
    with pytest.raises(ConfigError, match=r"\(N, 1, H, W\).*got \(2, 2, 28, 28\)"):
        net(torch.randn(2, 1, 28, 28), torch.zeros(2, 2, 28, 28))
    with pytest.raises(ConfigError, match="needs the hole mask"):
        net(torch.randn(2, 1, 28, 28), None)


@pytest.mark.parametrize("side,dilations", [(28, [2, 4, 6, 6]), (64, [2, 4, 8, 15]), (256, [2, 4, 8, 16])])
def test_completion_net_dilations_are_capped_by_the_feature_side(side, dilations):
    G = build_translator("completion_net", {"base_channels": 2}, (2, side, side), (1, side, side))
    assert G.dilations == dilations
    convs = [m for m in G.modules() if isinstance(m, nn.Conv2d) and m.dilation[0] > 1]
    assert [c.dilation[0] for c in convs] == dilations and all(c.padding[0] == c.dilation[0] for c in convs)
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in G.modules()) == 2


@pytest.mark.parametrize("shape", [(2, 28, 28), (4, 32, 48)])
def test_completion_net_shapes(shape):
    G = build_translator("completion_net", {"base_channels": 4}, shape, (shape[0] - 1, *shape[1:]))
    y = G(torch.randn(2, *shape))
    assert y.shape == (2, shape[0] - 1, *shape[1:]) and y.abs().max() <= 1
    y.mean().backward()
    assert all(p.grad is not None for p in G.parameters())
    with pytest.raises(ConfigError, match="multiples of 4"):
        build_translator("completion_net", {}, (2, 30, 30), (1, 30, 30))


def naive_crop(x: torch.Tensor, m: torch.Tensor, size: int) -> torch.Tensor:
    """Per sample: the bounding box's continuous centre minus half the window, floored, clamped."""
    out = []
    for xi, mi in zip(x, m):
        ys, xs = torch.nonzero(mi[0] > 0.5, as_tuple=True)
        h, w = mi.shape[-2:]
        if len(ys):
            top = math.floor((ys.min().item() + ys.max().item() + 1) / 2 - size / 2)
            left = math.floor((xs.min().item() + xs.max().item() + 1) / 2 - size / 2)
        else:
            top, left = (h - size) // 2, (w - size) // 2
        top, left = min(max(top, 0), h - size), min(max(left, 0), w - size)
        out.append(xi[:, top : top + size, left : left + size])
    return torch.stack(out)


@pytest.mark.parametrize("size", [7, 14, 15])
def test_local_crop_matches_a_naive_per_sample_crop(size):
    x = torch.randn(12, 3, 28, 28)
    m = box_masks(12, 28, 28, seed=size)
    m[0] = 0  # no hole: the centre
    m[1, 0, 0:3, 25:28] = 1  # two boxes, one at a corner: the box around both, clamped
    m[2] = 0
    m[2, 0, 27, 0] = 1  # a single corner pixel
    crop = local_crop(x, m, size)
    assert torch.equal(crop, naive_crop(x, m, size))
    top, left = hole_box_origin(m.bool(), size)
    assert (top[0], left[0]) == ((28 - size) // 2,) * 2 and (top[2], left[2]) == (28 - size, 0)


def test_local_crop_contains_holes_that_fit():
    m = box_masks(20, 28, 28, seed=7)  # boxes of at most 14 x 14
    top, left = hole_box_origin(m, 14)
    for i in range(20):
        ys, xs = torch.nonzero(m[i, 0], as_tuple=True)
        assert top[i] <= ys.min() and ys.max() < top[i] + 14 and left[i] <= xs.min() and xs.max() < left[i] + 14


def test_global_local_d():
    D = build_discriminator("global_local", {"base_channels": 2}, (1, 28, 28))
    assert D.local_size == 14 and D.reads_mask
    assert sum(isinstance(m, nn.Conv2d) for m in D.global_trunk) == 3  # 28 -> 14 -> 7 -> 4
    assert sum(isinstance(m, nn.Conv2d) for m in D.local_trunk) == 2  # 14 -> 7 -> 4
    x, m = torch.randn(3, 1, 28, 28), box_masks(3, 28, 28, seed=3)
    seen = []
    D.local_trunk.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    s = D(x, m)
    assert s.shape == (3,) and torch.equal(seen[0], naive_crop(x, m, 14))
    s.sum().backward()
    assert all(p.grad is not None for p in D.parameters())
    with pytest.raises(ConfigError, match="needs the hole mask"):
        D(x)


def test_global_local_d_at_the_papers_sizes_and_errors():
    D = build_discriminator("global_local", {"base_channels": 1, "local_size": 128}, (3, 256, 256))
    g = [c.out_channels for c in D.global_trunk if isinstance(c, nn.Conv2d)]
    loc = [c.out_channels for c in D.local_trunk if isinstance(c, nn.Conv2d)]
    assert g == [1, 2, 4, 8, 8, 8] and loc == [1, 2, 4, 8, 8]  # x64: 64 ... 512, six and five layers
    assert D.global_fc[0].in_features == 8 * 4 * 4 and D.head.in_features == 2048
    with pytest.raises(ConfigError, match="local_size: .* 7 to 28"):
        build_discriminator("global_local", {"local_size": 30}, (1, 28, 28))
    with pytest.raises(ConfigError, match="not class-conditional"):
        build_discriminator("global_local", {}, (1, 28, 28), num_classes=10)
