import math

import torch

from gankit.nn import SelfAttention2d


def test_starts_as_identity():
    torch.manual_seed(0)
    att = SelfAttention2d(16)
    assert att.gamma.item() == 0.0
    x = torch.randn(2, 16, 4, 4)
    assert torch.equal(att(x), x)
    assert (att.query.out_channels, att.key.out_channels, att.value.out_channels, att.out.in_channels) == (2, 2, 8, 8)


def _hand(att: SelfAttention2d, x: torch.Tensor, gamma: float) -> list[list[float]]:
    """softmax(Q^T K) V by loops over channels and positions; x is (1, C, 1, P)."""
    xs = x[0, :, 0].tolist()  # [C][P]
    c, p = len(xs), len(xs[0])

    def proj(conv: torch.nn.Conv2d, inp: list[list[float]]) -> list[list[float]]:
        w = conv.weight[:, :, 0, 0].tolist()
        return [[sum(w[o][ch] * inp[ch][j] for ch in range(len(inp))) for j in range(p)] for o in range(len(w))]

    q, k, v = proj(att.query, xs), proj(att.key, xs), proj(att.value, xs)
    o = [[0.0] * p for _ in range(len(v))]
    for j in range(p):
        scores = [sum(q[d][j] * k[d][i] for d in range(len(q))) for i in range(p)]
        top = max(scores)
        e = [math.exp(s - top) for s in scores]
        a = [ei / sum(e) for ei in e]
        for ch in range(len(v)):
            o[ch][j] = sum(a[i] * v[ch][i] for i in range(p))
    out = proj(att.out, o)
    return [[xs[ch][j] + gamma * out[ch][j] for j in range(p)] for ch in range(c)]


def test_matches_hand_softmax_qk_v():
    torch.manual_seed(1)
    att = SelfAttention2d(8).double()  # query/key 1 channel, value 4 channels
    x = torch.randn(1, 8, 1, 3, dtype=torch.float64)
    with torch.no_grad():
        for conv in (att.query, att.key, att.value, att.out):
            conv.weight.normal_()
        att.gamma.fill_(0.7)
    torch.testing.assert_close(att(x)[0, :, 0], torch.tensor(_hand(att, x, 0.7), dtype=torch.float64), rtol=0, atol=1e-12)


def test_zero_query_attends_uniformly():
    """q = 0 gives equal scores, so every position receives the mean value: y = x + gamma * W_o mean_i(v_i)."""
    att = SelfAttention2d(8).double()
    x = torch.randn(1, 8, 2, 2, dtype=torch.float64)
    with torch.no_grad():
        att.query.weight.zero_()
        att.gamma.fill_(2.0)
    v_mean = att.value(x).mean(dim=(2, 3), keepdim=True)
    expected = x + 2.0 * att.out(v_mean).expand_as(x)
    torch.testing.assert_close(att(x), expected, rtol=0, atol=1e-12)
    torch.testing.assert_close(att.attention(x), torch.full((1, 4, 4), 0.25, dtype=torch.float64))
