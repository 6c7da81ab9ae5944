"""Class conditioning of the mlp/dcgan families, the projection D and the ACGAN/TAC heads."""

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import build_discriminator, build_generator, count_params
from gankit.nn import ConditionalBatchNorm2d

F64 = torch.float64

# Parameter names and shapes of the unconditional networks as they were before conditioning existed
# (checkpoints depend on them): dcgan base_channels 4 on (1, 28, 28) with z_dim 8, mlp hidden 4 on (2,) with z_dim 3.
OLD_LAYOUT = {
    ("G", "dcgan"): [("net.0.weight", (8, 8, 7, 7)), ("net.1.weight", (8,)), ("net.1.bias", (8,)), ("net.3.weight", (8, 4, 4, 4)),
                     ("net.4.weight", (4,)), ("net.4.bias", (4,)), ("net.6.weight", (4, 1, 4, 4)), ("net.6.bias", (1,))],
    ("G", "mlp"): [("net.0.weight", (4, 3)), ("net.0.bias", (4,)), ("net.2.weight", (4, 4)), ("net.2.bias", (4,)),
                   ("net.4.weight", (2, 4)), ("net.4.bias", (2,))],
    ("D", "dcgan"): [("net.0.weight", (4, 1, 4, 4)), ("net.0.bias", (4,)), ("net.2.weight", (8, 4, 4, 4)), ("net.3.weight", (8,)),
                     ("net.3.bias", (8,)), ("net.5.weight", (1, 8, 7, 7)), ("net.5.bias", (1,))],
    ("D", "mlp"): [("net.1.weight", (4, 2)), ("net.1.bias", (4,)), ("net.3.weight", (4, 4)), ("net.3.bias", (4,)),
                   ("net.5.weight", (1, 4)), ("net.5.bias", (1,))],
}  # fmt: skip


def _build(kind: str, name: str, num_classes: int, **params):
    base = {"dcgan": {"base_channels": 4}, "mlp": {"hidden": 4}}[name]
    shape = (1, 28, 28) if name == "dcgan" else (2,)
    if kind == "G":
        return build_generator(name, {**base, **params}, 8 if name == "dcgan" else 3, shape, num_classes)
    return build_discriminator(name, {**base, **params}, shape, num_classes)


@pytest.mark.parametrize("kind,name", list(OLD_LAYOUT))
def test_unconditional_layout_is_unchanged(kind, name):
    for k in (0, 10):  # num_classes is ignored with cond: none
        torch.manual_seed(0)
        net = _build(kind, name, k)
        assert [(n, tuple(p.shape)) for n, p in net.named_parameters()] == OLD_LAYOUT[(kind, name)]
    torch.manual_seed(0)
    plain = _build(kind, name, 0)
    torch.manual_seed(0)
    ignored = _build(kind, name, 10)
    for (_, a), (_, b) in zip(plain.state_dict().items(), ignored.state_dict().items()):
        assert torch.equal(a, b)  # same seed, same weights: old checkpoints load and sample the same
    ignored.load_state_dict(plain.state_dict(), strict=True)


def test_concat_generators_take_the_label_at_the_input():
    G = _build("G", "dcgan", 10, cond="concat")
    assert G.net[0].in_channels == 8 + 10  # z + one-hot (the default, embed_dim 0)
    learned = _build("G", "dcgan", 10, cond="concat", embed_dim=6)
    assert learned.net[0].in_channels == 8 + 6 and learned.embed.embed.weight.shape == (10, 6)
    mlp = _build("G", "mlp", 5, cond="concat")
    assert mlp.net[0].in_features == 3 + 5
    torch.manual_seed(0)
    for net, z_dim in ((G, 8), (learned, 8), (mlp, 3)):
        net.eval()
        z = torch.randn(1, z_dim).expand(4, z_dim)
        out = net(z, torch.tensor([0, 1, 2, 3]))
        assert not any(torch.allclose(out[i], out[j]) for i in range(4) for j in range(i))


def test_mlp_concat_generator_first_layer_sees_one_hot_columns():
    """Layer 1 computes W [z, onehot(c)] + b, so switching class a -> b adds W[:, z_dim + b] - W[:, z_dim + a]."""
    G = _build("G", "mlp", 4, cond="concat").double()
    seen = []
    G.net[0].register_forward_hook(lambda m, i, o: seen.append(o))
    z = torch.randn(1, 3, dtype=F64).expand(2, 3)
    G(z, torch.tensor([1, 3]))
    w = G.net[0].weight
    torch.testing.assert_close(seen[0][1] - seen[0][0], w[:, 3 + 3] - w[:, 3 + 1], rtol=0, atol=1e-12)


def test_cbn_generator_starts_class_blind_then_follows_gamma():
    G = _build("G", "dcgan", 3, cond="cbn")
    cbns = [m for m in G.net if isinstance(m, ConditionalBatchNorm2d)]
    assert len(cbns) == 2 and not any(isinstance(m, torch.nn.BatchNorm2d) for m in G.net)
    assert count_params(G) == count_params(_build("G", "dcgan", 0)) + 2 * 3 * (8 + 4) - 2 * (8 + 4)
    z = torch.randn(1, 8).expand(4, 8)
    c = torch.tensor([0, 1, 2, 0])
    out = G(z, c)
    assert torch.allclose(out[0], out[1], atol=1e-6)  # gamma = 1, beta = 0 for every class at the start
    with torch.no_grad():
        cbns[0].beta.weight[1] += 1.0
    out = G(z, c)
    assert not torch.allclose(out[0], out[1], atol=1e-4) and torch.allclose(out[0], out[3], atol=1e-6)


def test_concat_discriminators_see_the_one_hot_label():
    D = _build("D", "dcgan", 10, cond="concat")
    assert D.net[0].in_channels == 1 + 10
    x = torch.randn(2, 1, 28, 28)
    assert not torch.allclose(D(x, torch.tensor([0, 0])), D(x, torch.tensor([3, 7])))
    # mlp with no hidden layer: D(x, c) = w . [x, onehot(c)] + b, so changing c changes the score by w[2 + c'] - w[2 + c]
    lin = build_discriminator("mlp", {"layers": 0, "cond": "concat"}, (2,), 3).double()
    x = torch.tensor([[0.5, -1.0], [0.5, -1.0]], dtype=F64)
    w, b = lin.net[-1].weight[0], lin.net[-1].bias[0]
    expected = torch.stack([0.5 * w[0] - w[1] + w[2 + 0] + b, 0.5 * w[0] - w[1] + w[2 + 2] + b])
    torch.testing.assert_close(lin(x, torch.tensor([0, 2])), expected, rtol=0, atol=1e-12)


def test_projection_score_matches_hand_computation():
    """mlp D with one hidden layer of 2 LeakyReLU(0.2) units: phi = lrelu(W1 x + b1), score = w.phi + b + E[y].phi."""
    D = build_discriminator("mlp", {"layers": 1, "hidden": 2, "cond": "projection"}, (3,), 2).double()
    with torch.no_grad():
        D.net[1].weight.copy_(torch.tensor([[1.0, 0.0, 2.0], [0.0, -1.0, 1.0]], dtype=F64))
        D.net[1].bias.copy_(torch.tensor([0.5, -1.0], dtype=F64))
        D.net[-1].weight.copy_(torch.tensor([[2.0, -3.0]], dtype=F64))
        D.net[-1].bias.fill_(0.25)
        D.proj.embed.weight.copy_(torch.tensor([[1.0, 1.0], [-2.0, 4.0]], dtype=F64))
    x = torch.tensor([[1.0, 2.0, 0.5], [1.0, 2.0, 0.5], [0.0, 1.0, -1.0]], dtype=F64)
    y = torch.tensor([0, 1, 1])
    # x0: pre = (1 + 1 + 0.5, -2 + 0.5 - 1) = (2.5, -2.5) -> phi = (2.5, -0.5); psi = 5 + 1.5 + 0.25 = 6.75
    #     class 0: + 2.5 - 0.5 = 2 -> 8.75;  class 1: + (-5 - 2) = -7 -> -0.25
    # x2: pre = (0 - 2 + 0.5, -1 - 1 - 1) = (-1.5, -3) -> phi = (-0.3, -0.6); psi = -0.6 + 1.8 + 0.25 = 1.45
    #     class 1: + (0.6 - 2.4) = -1.8 -> -0.35
    torch.testing.assert_close(D(x, y), torch.tensor([8.75, -0.25, -0.35], dtype=F64), rtol=0, atol=1e-12)
    torch.testing.assert_close(D.head(D.features(x)), torch.tensor([6.75, 6.75, 1.45], dtype=F64), rtol=0, atol=1e-12)


def test_dcgan_projection_uses_the_features_of_the_last_layer():
    D = _build("D", "dcgan", 5, cond="projection").double()
    assert D.proj.embed.weight.shape == (5, 8 * 7 * 7)
    x = torch.randn(3, 1, 28, 28, dtype=F64)
    c = torch.tensor([0, 4, 2])
    f = D.features(x)
    torch.testing.assert_close(D(x, c), D.net(x).view(-1) + (D.proj.embed.weight[c] * f).sum(1), rtol=0, atol=1e-10)


@pytest.mark.parametrize("name", ["mlp", "dcgan"])
def test_acgan_and_tac_heads_share_the_features(name):
    K = 4
    D = _build("D", name, K, aux_classifier=True).double()
    T = _build("D", name, K, cond="projection", tac=True).double()  # tac alone builds both class heads
    feat = D.aux.in_features
    assert count_params(D) == count_params(_build("D", name, 0)) + feat * K + K
    x = torch.randn(6, *((1, 28, 28) if name == "dcgan" else (2,)), dtype=F64)
    c = torch.tensor([0, 1, 2, 3, 0, 1])
    s, logits = D(x, c, with_logits=True)
    assert s.shape == (6,) and logits.shape == (6, K)
    D.eval()  # (batch norm in dcgan's D: compare in one mode)
    s, logits = D(x, with_logits=True)  # cond: none needs no labels for the class head either
    f = D.features(x)
    torch.testing.assert_close(s, D(x), rtol=0, atol=1e-12)
    torch.testing.assert_close(logits, f @ D.aux.weight.T + D.aux.bias, rtol=0, atol=1e-12)
    T.eval()
    s, logits, twin = T(x, c, with_logits=True)
    assert logits.shape == twin.shape == (6, K) and not torch.allclose(logits, twin)
    f = T.features(x)
    torch.testing.assert_close(twin, f @ T.twin.weight.T + T.twin.bias, rtol=0, atol=1e-12)
    torch.testing.assert_close(s, T(x, c), rtol=0, atol=1e-12)
    # the classifiers train the shared trunk: the class loss alone reaches D's first layer
    T.zero_grad()
    torch.nn.functional.cross_entropy(logits, c).backward()
    assert T.net[1 if name == "mlp" else 0].weight.grad.abs().sum() > 0


def test_conditioning_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"model\.generator\.cond: 'concat'.*num_classes = 0.*cond: none"):
        _build("G", "dcgan", 0, cond="concat")
    with pytest.raises(ConfigError, match=r"model\.generator\.cond.*'none', 'concat' or 'cbn'"):
        _build("G", "dcgan", 3, cond="biggan")
    with pytest.raises(ConfigError, match=r"model\.generator\.cond.*'none' or 'concat'"):
        _build("G", "mlp", 3, cond="cbn")
    with pytest.raises(ConfigError, match=r"model\.generator\.cond: 'cbn'.*norm: batch"):
        _build("G", "dcgan", 3, cond="cbn", norm="layer")
    with pytest.raises(ConfigError, match=r"model\.discriminator\.cond.*'none', 'concat' or 'projection'"):
        _build("D", "mlp", 3, cond="cbn")
    with pytest.raises(ConfigError, match=r"model\.discriminator\.aux_classifier.*num_classes = 0"):
        _build("D", "dcgan", 0, aux_classifier=True)
    with pytest.raises(ConfigError, match=r"model\.discriminator\.tac.*num_classes = 0"):
        _build("D", "mlp", 0, tac=True)
    with pytest.raises(ConfigError, match=r"model\.discriminator\.aux_classifier: this discriminator has no class head"):
        _build("D", "mlp", 3)(torch.randn(2, 2), with_logits=True)


@pytest.mark.parametrize("kind,name,cond", [("G", "dcgan", "concat"), ("G", "dcgan", "cbn"), ("G", "mlp", "concat"),
                                            ("D", "dcgan", "concat"), ("D", "dcgan", "projection"), ("D", "mlp", "concat")])  # fmt: skip
def test_missing_labels_are_a_clear_error(kind, name, cond):
    net = _build(kind, name, 3, cond=cond)
    inp = torch.randn(2, 8 if name == "dcgan" else 3) if kind == "G" else torch.randn(2, *((1, 28, 28) if name == "dcgan" else (2,)))
    with pytest.raises(ConfigError, match=rf"{'generator' if kind == 'G' else 'discriminator'}\.cond: '{cond}'.*c=None"):
        net(inp)
    assert net(inp, torch.tensor([0, 2])).shape[0] == 2
