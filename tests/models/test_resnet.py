"""The SNGAN/BigGAN ResNet family: shapes, sizes, gradients, attention, cbn/biggan G, projection D."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import build_discriminator, build_generator, count_params
from gankit.nn import ConditionalBatchNorm2d, GBlock, SelfAttention2d
from gankit.tricks.wrappers.spectral_norm import apply_spectral_norm


@pytest.mark.parametrize("size", [28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes_and_gradients(size, channels):
    shape = (channels, size, size)
    G = build_generator("resnet", {"base_channels": 8}, 12, shape)
    D = build_discriminator("resnet", {"base_channels": 8}, shape)
    x = G(torch.randn(3, 12))
    assert x.shape == (3, *shape) and x.min() >= -1 and x.max() <= 1
    s = D(x)
    assert s.shape == (3,)
    s.mean().backward()
    for net in (G, D):
        for name, p in net.named_parameters():
            assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert not any(isinstance(m, (torch.nn.BatchNorm2d, ConditionalBatchNorm2d)) for m in D.modules())  # SN goes with no BN
    assert D.head(D.features(x)).shape == (3,)


def test_layouts_28_32_64():
    """G doubles from 7x7 (28) or 4x4 (32, 64); D pools until the side is <= 8, then two unpooled blocks."""
    for size, n_up, n_down in ((28, 2, 2), (32, 3, 2), (64, 4, 3)):
        G = build_generator("resnet", {"base_channels": 4}, 8, (3, size, size))
        D = build_discriminator("resnet", {"base_channels": 4}, (3, size, size))
        assert len(G.blocks) == n_up and G.s0 == (7 if size == 28 else 4)
        assert len(D.blocks) == n_down + 2 and [getattr(b, "downsample", True) for b in D.blocks][-3:] == [True, False, False]
        assert D(G(torch.randn(2, 8))).shape == (2,)


def test_param_counts_match_the_block_formula():
    """Per block: G up-block 2 BN (2c each) + two 3x3 convs (9c^2 + c) + 1x1 shortcut (c^2 + c) = 19c^2 + 7c;
    D down-block 19c^2 + 3c, unpooled block (identity shortcut) 18c^2 + 2c, optimized block on C inputs
    (9Cc + c) + (9c^2 + c) + (Cc + c). G adds linear z -> s0^2 c, final BN and 3x3 conv to C; D a linear c -> 1.
    At SNGAN's CIFAR widths (G 256, D 128, z 128) this gives its 4.3M / 1.05M parameters."""

    def g_count(z, c, s0, n, C):
        return z * s0 * s0 * c + s0 * s0 * c + n * (19 * c * c + 7 * c) + 2 * c + 9 * c * C + C

    def d_count(c, n_down, C):
        return (9 * C * c + c) + (9 * c * c + c) + (C * c + c) + n_down * (19 * c * c + 3 * c) + 2 * (18 * c * c + 2 * c) + c + 1

    assert count_params(build_generator("resnet", {"base_channels": 8}, 10, (1, 28, 28))) == g_count(10, 8, 7, 2, 1)
    assert count_params(build_discriminator("resnet", {"base_channels": 8}, (1, 28, 28))) == d_count(8, 1, 1)
    assert count_params(build_generator("resnet", {}, 128, (3, 32, 32))) == g_count(128, 256, 4, 3, 3) == 4_276_739
    assert count_params(build_discriminator("resnet", {}, (3, 32, 32))) == d_count(128, 1, 3) == 1_053_825


def test_attention_placement_and_errors():
    G = build_generator("resnet", {"base_channels": 16, "attention_at": 16}, 8, (3, 32, 32))
    kinds = [type(b).__name__ for b in G.blocks]
    assert kinds == ["GBlock", "GBlock", "SelfAttention2d", "GBlock"]  # after the 8 -> 16 block
    D = build_discriminator("resnet", {"base_channels": 16, "attention_at": 16}, (3, 32, 32))
    assert isinstance(D.blocks[1], SelfAttention2d)  # after the optimized 32 -> 16 block
    base = count_params(build_discriminator("resnet", {"base_channels": 16}, (3, 32, 32)))
    assert count_params(D) == base + 16 * 2 * 2 + 16 * 8 + 8 * 16 + 1  # q, k (C/8), v (C/2), out, gamma
    x = G(torch.randn(2, 8))
    assert D(x).shape == (2,)
    with pytest.raises(ConfigError, match=r"model\.generator\.attention_at.*\(8, 16, 32\).*got 12"):
        build_generator("resnet", {"attention_at": 12}, 8, (3, 32, 32))
    with pytest.raises(ConfigError, match=r"model\.discriminator\.attention_at.*\(7, 14\)"):
        build_discriminator("resnet", {"attention_at": 28}, (1, 28, 28))


def test_cbn_generator():
    G = build_generator("resnet", {"base_channels": 8, "cond": "cbn"}, 8, (1, 28, 28), 5)
    cbns = [m for m in G.modules() if isinstance(m, ConditionalBatchNorm2d)]
    assert len(cbns) == 4 and all(m.num_classes == 5 for m in cbns)
    assert type(G.out_bn) is torch.nn.BatchNorm2d  # the final norm stays unconditional, as in SNGAN/BigGAN
    with torch.no_grad():
        for m in cbns:
            m.gamma.weight.normal_(1.0, 0.5)
    z = torch.randn(1, 8).expand(3, 8)
    out = G(z, torch.tensor([0, 1, 0]))
    assert not torch.allclose(out[0], out[1]) and torch.allclose(out[0], out[2], atol=1e-6)


def _cbn_inputs(G, z, c):
    """What each GBlock's two conditional norms received (x, cond), in block order."""
    seen = []
    hooks = [m.register_forward_pre_hook(lambda m, args: seen.append((m, args[1]))) for m in G.modules()
             if isinstance(m, ConditionalBatchNorm2d)]  # fmt: skip
    G(z, c)
    for h in hooks:
        h.remove()
    return seen


def test_biggan_skip_z_and_shared_embedding():
    torch.manual_seed(0)
    G = build_generator("resnet", {"base_channels": 8, "cond": "biggan", "shared_dim": 6}, 16, (3, 32, 32), 10)
    assert G.z_split == [4, 4, 4, 4] and G.linear.in_features == 4
    embeddings = [m for m in G.modules() if isinstance(m, torch.nn.Embedding)]
    assert embeddings == [G.shared] and G.shared.weight.shape == (10, 6)  # one embedding for all blocks
    blocks = [b for b in G.blocks if isinstance(b, GBlock)]
    assert all(b.bn1.cond_dim == b.bn2.cond_dim == 6 + 4 for b in blocks)
    z, c = torch.randn(2, 16), torch.tensor([3, 7])
    seen = _cbn_inputs(G, z, c)
    assert [m for m, _ in seen] == [m for b in blocks for m in (b.bn1, b.bn2)]
    for k, b in enumerate(blocks):  # block k gets [shared(c), z[:, 4 + 4k : 8 + 4k]]
        for m, v in seen[2 * k : 2 * k + 2]:
            assert torch.equal(v[:, :6], G.shared.weight[c]) and torch.equal(v[:, 6:], z[:, 4 + 4 * k : 8 + 4 * k])
    base = [m.scale_shift(v) for m, v in seen]
    for chunk in range(4):
        z2 = z.clone()
        z2[:, 4 * chunk : 4 * chunk + 4] += 1.0
        moved = [m.scale_shift(v) for m, v in _cbn_inputs(G, z2, c)]
        for i, ((g0, b0), (g1, b1)) in enumerate(zip(base, moved)):
            same = torch.equal(g0, g1) and torch.equal(b0, b1)
            assert same == (i // 2 != chunk - 1), (chunk, i)  # chunk 0 feeds only the linear layer
    G.zero_grad()
    G(z, c).square().mean().backward()
    assert G.shared.weight.grad[c].abs().sum() > 0 and G.shared.weight.grad[[0, 1]].abs().sum() == 0


def test_biggan_uneven_split_and_errors():
    G = build_generator("resnet", {"base_channels": 4, "cond": "biggan"}, 100, (1, 28, 28), 10)
    assert G.z_split == [34, 33, 33]  # 3 chunks for 2 blocks; the remainder goes to the linear layer
    assert G(torch.randn(2, 100), torch.tensor([0, 9])).shape == (2, 1, 28, 28)
    with pytest.raises(ConfigError, match=r"model\.z_dim.*4 chunks.*got 3"):
        build_generator("resnet", {"cond": "biggan"}, 3, (3, 32, 32), 10)
    with pytest.raises(ConfigError, match=r"model\.generator\.cond.*'none', 'cbn' or 'biggan'"):
        build_generator("resnet", {"cond": "concat"}, 8, (3, 32, 32), 10)
    with pytest.raises(ConfigError, match=r"model\.generator\.cond: 'biggan'.*num_classes = 0"):
        build_generator("resnet", {"cond": "biggan"}, 8, (3, 32, 32))
    with pytest.raises(ConfigError, match=r"model\.generator\.cond: 'biggan'.*c=None"):
        G(torch.randn(2, 100))
    with pytest.raises(ConfigError, match=r"model\.generator: ResNet supports image sizes"):
        build_generator("resnet", {}, 8, (3, 30, 30))


def test_projection_discriminator_and_heads():
    K = 3
    D = build_discriminator("resnet", {"base_channels": 8, "cond": "projection", "aux_classifier": True, "tac": True},
                            (1, 28, 28), K).double()  # fmt: skip
    plain = build_discriminator("resnet", {"base_channels": 8}, (1, 28, 28))
    assert count_params(D) == count_params(plain) + K * 8 + 2 * (8 * K + K)
    x = torch.randn(4, 1, 28, 28, dtype=torch.float64)
    c = torch.tensor([0, 1, 2, 1])
    phi = D.features(x)
    # phi by hand: ReLU then the sum over all 7x7 positions of the last block's output
    torch.testing.assert_close(phi, torch.relu(D.blocks(x)).flatten(2).sum(-1), rtol=0, atol=1e-12)
    psi = phi @ D.linear.weight[0] + D.linear.bias[0]
    torch.testing.assert_close(D(x, c), psi + (D.proj.embed.weight[c] * phi).sum(1), rtol=0, atol=1e-10)
    s, logits, twin = D(x, c, with_logits=True)
    torch.testing.assert_close(s, D(x, c), rtol=0, atol=0)
    assert logits.shape == twin.shape == (4, K)
    torch.testing.assert_close(logits, phi @ D.aux.weight.T + D.aux.bias, rtol=0, atol=1e-12)
    with pytest.raises(ConfigError, match=r"model\.discriminator\.cond: 'projection'.*num_classes = 0"):
        build_discriminator("resnet", {"cond": "projection"}, (1, 28, 28))
    with pytest.raises(ConfigError, match=r"model\.discriminator\.cond: 'projection'.*c=None"):
        D(x)


def test_spectral_norm_wraps_every_layer_of_the_conditional_nets():
    """SN comes from the trick; biggan's CBN projections and attention convolutions must survive it."""
    G = apply_spectral_norm(build_generator("resnet", {"base_channels": 8, "cond": "biggan", "attention_at": 16}, 16, (3, 32, 32), 4))
    D = apply_spectral_norm(build_discriminator("resnet", {"base_channels": 8, "cond": "projection", "attention_at": 8}, (3, 32, 32), 4))
    c = torch.tensor([0, 3])
    s = D(G(torch.randn(2, 16), c), c)
    assert s.shape == (2,) and torch.isfinite(s).all()
