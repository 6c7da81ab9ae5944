import math

import pytest
import torch

from gankit.errors import ConfigError
from gankit.models import build_discriminator, count_params
from gankit.models.layers import MinibatchDiscrimination, MinibatchStdDev


@pytest.mark.parametrize("shape", [(8, 3, 5, 5), (8, 6)])
def test_minibatch_std_adds_one_feature(shape):
    x = torch.randn(*shape)
    y = MinibatchStdDev(4)(x)
    assert y.shape == (shape[0], shape[1] + 1, *shape[2:])
    assert torch.equal(y[:, : shape[1]], x)
    extra = y[:, shape[1]]
    # group m holds samples m and m + N/G: with N=8, G=4 the groups are {0,2,4,6} and {1,3,5,7}
    g0 = x[0::2].std(dim=0, unbiased=False).mean()
    assert torch.allclose(extra[0], torch.full_like(extra[0], g0.item()), atol=1e-5)
    assert torch.equal(extra[0], extra[2]) and torch.equal(extra[1], extra[7])


def test_minibatch_std_of_identical_samples_is_zero():
    x = torch.randn(1, 2, 4, 4).expand(8, 2, 4, 4)
    assert MinibatchStdDev(4)(x)[:, 2].abs().max() < 1e-3  # sqrt(eps) = 1e-4
    assert MinibatchStdDev(4)(torch.randn(1, 5).expand(6, 5))[:, 5].abs().max() < 1e-3  # 6 % 4 != 0: groups of 3


def test_minibatch_discrimination_shapes_and_identical_batch():
    mbd = MinibatchDiscrimination(10, 7, 3)
    x = torch.randn(5, 10)
    y = mbd(x)
    assert y.shape == (5, 17) and torch.equal(y[:, :10], x)
    assert (y[:, 10:] >= 1).all()  # includes exp(0) = 1 for the sample itself
    same = mbd(torch.randn(1, 10).expand(5, 10))
    assert torch.allclose(same[:, 10:], torch.full((5, 7), 5.0))
    assert mbd(torch.randn(4, 2, 5)).shape == (4, 17)  # flattens


def test_minibatch_discrimination_matches_hand_computation():
    """T = identity (4 inputs, B = 2 kernels of C = 2): kernel b of sample i is x_i[2b : 2b + 2].

    x0 = (0,0 | 0,0), x1 = (1,0 | 0,2), x2 = (0,1 | 3,0). L1 distances:
    kernel 0: d01 = 1, d02 = 1, d12 = 2;  kernel 1: d01 = 2, d02 = 3, d12 = 5.
    o_ib = sum_j exp(-d_ij), j over the whole batch, itself included (exp(0) = 1).
    """
    mbd = MinibatchDiscrimination(4, 2, 2).double()
    with torch.no_grad():
        mbd.T.copy_(torch.eye(4, dtype=torch.float64))
    x = torch.tensor([[0, 0, 0, 0], [1, 0, 0, 2], [0, 1, 3, 0]], dtype=torch.float64)
    e = math.exp
    expected = torch.tensor(
        [
            [1 + e(-1) + e(-1), 1 + e(-2) + e(-3)],
            [e(-1) + 1 + e(-2), e(-2) + 1 + e(-5)],
            [e(-1) + e(-2) + 1, e(-3) + e(-5) + 1],
        ],
        dtype=torch.float64,
    )
    y = mbd(x)
    assert torch.equal(y[:, :4], x)
    torch.testing.assert_close(y[:, 4:], expected, rtol=0, atol=1e-12)


def test_minibatch_discrimination_matches_loops_for_a_general_T():
    """M_i = x_i T with T (A, B*C), kernel b = columns b*C .. b*C + C - 1; loops over i, j, b, c, a."""
    torch.manual_seed(0)
    n, a_dim, b_dim, c_dim = 4, 3, 2, 3
    mbd = MinibatchDiscrimination(a_dim, b_dim, c_dim).double()
    with torch.no_grad():
        mbd.T.copy_(torch.randn(a_dim, b_dim * c_dim, dtype=torch.float64))
    x = torch.randn(n, a_dim, dtype=torch.float64)
    xs, t = x.tolist(), mbd.T.tolist()

    def m(i, b, c):
        return sum(xs[i][a] * t[a][b * c_dim + c] for a in range(a_dim))

    expected = [
        [sum(math.exp(-sum(abs(m(i, b, c) - m(j, b, c)) for c in range(c_dim))) for j in range(n)) for b in range(b_dim)]
        for i in range(n)
    ]
    out = mbd(x)[:, a_dim:]
    torch.testing.assert_close(out, torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-12)
    assert (out > 1).all()  # the self term alone gives 1; any other sample adds a positive amount
    # Images are flattened first: (N, 1, 1, 3) gives the same features.
    torch.testing.assert_close(mbd(x.view(n, 1, 1, a_dim))[:, a_dim:], out, rtol=0, atol=0)


def test_dcgan_options():
    shape = (1, 28, 28)
    base = build_discriminator("dcgan", {"base_channels": 4}, shape)
    std = build_discriminator("dcgan", {"base_channels": 4, "minibatch_std": True}, shape)
    assert count_params(std) == count_params(base) + 7 * 7  # the last conv sees one more channel
    assert any(isinstance(m, MinibatchStdDev) for m in std.modules())
    mbd = build_discriminator("dcgan", {"base_channels": 4, "minibatch_discrimination": 6, "minibatch_kernel_dim": 2}, shape)
    flat = 8 * 7 * 7
    assert mbd.net[-1].in_features == flat + 6 and mbd.net[-2].T.shape == (flat, 12)
    drop = build_discriminator("dcgan", {"base_channels": 4, "dropout": 0.3}, shape)
    assert sum(isinstance(m, torch.nn.Dropout) for m in drop.modules()) == 2 and count_params(drop) == count_params(base)
    x = torch.randn(8, *shape)
    for D in (std, mbd, drop):
        assert D(x).shape == (8,)
    with pytest.raises(ConfigError, match="dropout"):
        build_discriminator("dcgan", {"dropout": 1.5}, shape)


def test_mlp_options():
    base = build_discriminator("mlp", {"hidden": 8}, (2,))
    both = build_discriminator("mlp", {"hidden": 8, "minibatch_std": True, "minibatch_discrimination": 3}, (2,))
    assert both.net[-1].in_features == 8 + 1 + 3
    assert count_params(both) == count_params(base) + 4 + 9 * 3 * 5
    assert both(torch.randn(8, 2)).shape == (8,)


def test_defaults_are_unchanged():
    """Off by default: the DCGAN/MLP discriminators keep their parameter counts and layer layout."""
    D = build_discriminator("dcgan", {}, (1, 28, 28))
    assert count_params(D) == 138689 and [type(m).__name__ for m in D.net][-2:] == ["LeakyReLU", "Conv2d"]
    assert count_params(build_discriminator("mlp", {}, (2,))) == 17025
