"""StyleGAN2 G and D: shapes per resolution, W space (w_avg, truncation, mixing), conditioning."""

from __future__ import annotations

import math

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import build_discriminator, build_generator
from gankit.models.stylegan2 import mix_styles


def small(z_dim=16, shape=(1, 28, 28), k=0, **kw):
    p = {"w_dim": 16, "mapping_layers": 2, "max_channels": 16, "min_channels": 8, **kw}
    return build_generator("stylegan2", p, z_dim, shape, k)


@pytest.mark.parametrize(("shape", "resolutions"), [((1, 28, 28), [7, 14, 28]), ((3, 32, 32), [4, 8, 16, 32]),
                                                    ((3, 64, 64), [4, 8, 16, 32, 64])])  # fmt: skip
def test_sizes_grow_from_the_seed(shape, resolutions) -> None:
    g = small(shape=shape)
    assert g.synthesis.resolutions == resolutions
    assert g.num_ws == 2 * len(resolutions)  # 1 + 2 per doubling + the last toRGB
    assert g(torch.randn(3, 16)).shape == (3, *shape)
    d = build_discriminator("stylegan2", {"max_channels": 16, "min_channels": 8}, shape)
    assert d(g(torch.randn(4, 16))).shape == (4,)


def test_bad_size_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="4\\*2\\^n or 7\\*2\\^n"):
        small(shape=(1, 30, 30))


def test_w_avg_tracks_w_with_its_beta() -> None:
    g = small()
    z = torch.randn(64, 16)
    w = g.mapping(z)
    g.mapping(z, update_w_avg=True)
    assert torch.allclose(g.mapping.w_avg, (1 - 0.995) * w.mean(0), atol=1e-6)  # from zeros: lerp by 1 - beta
    before = g.mapping.w_avg.clone()
    g.mapping(z, update_w_avg=True)
    assert torch.allclose(g.mapping.w_avg, before + (1 - 0.995) * (w.mean(0) - before), atol=1e-6)


def test_truncation_psi_zero_is_w_avg_and_one_is_identity() -> None:
    g = small()
    g.mapping.w_avg.copy_(torch.randn(16))
    z = torch.randn(5, 16)
    assert torch.allclose(g.ws(z, truncation_psi=0.0), g.mapping.w_avg.expand(5, g.num_ws, 16))
    assert torch.allclose(g.ws(z, truncation_psi=1.0)[:, 0], g.mapping(z))
    half = g.ws(z, truncation_psi=0.5)[:, 0]
    assert torch.allclose(half, 0.5 * (g.mapping(z) + g.mapping.w_avg), atol=1e-6)


def test_style_mixing_switches_w_at_the_cutoff() -> None:
    a, b = torch.zeros(2, 6, 3), torch.ones(2, 6, 3)
    m = mix_styles(a, b, 2)
    assert torch.equal(m[:, :2], a[:, :2]) and torch.equal(m[:, 2:], b[:, 2:])


def test_layer_groups_cover_every_w_once() -> None:
    for shape, coarse_res in (((1, 28, 28), {7}), ((3, 32, 32), {4, 8}), ((3, 256, 256), {4, 8})):
        g = small(shape=shape)
        groups = g.layer_groups()
        assert sorted(sum(groups.values(), [])) == list(range(g.num_ws))
        res = g.w_resolutions()
        assert {res[i] for i in groups["coarse"]} == coarse_res and groups["fine"] and groups["middle"]


def test_conditional_mapping_and_projection_need_labels() -> None:
    g = small(k=3)
    with pytest.raises(ConfigError, match="labels"):
        g(torch.randn(2, 16))
    x = g(torch.randn(2, 16), torch.tensor([0, 2]))
    assert x.shape == (2, 1, 28, 28)
    assert not torch.allclose(g.mapping(torch.zeros(1, 16) + 1, torch.tensor([0])), g.mapping(torch.zeros(1, 16) + 1, torch.tensor([1])))
    d = build_discriminator("stylegan2", {"max_channels": 16, "min_channels": 8, "cmap_dim": 8}, (1, 28, 28), 3)
    c = torch.tensor([1, 2])
    out = d.out(d.features(x))
    cmap = d.embed(torch.nn.functional.one_hot(c, 3).float())
    assert torch.allclose(d(x, c), (out * cmap).sum(1) / math.sqrt(8), atol=1e-6)
