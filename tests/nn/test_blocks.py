import torch

from gankit.nn import ConditionalBatchNorm2d, DBlock, GBlock, OptimizedDBlock


def _zero(conv: torch.nn.Conv2d) -> None:
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()


def test_gblock_is_residual_over_an_upsampled_1x1_shortcut():
    """With conv2 zeroed only the shortcut remains: out[o, 2i+a, 2j+b] = sum_c W[o, c] x[c, i, j] + bias[o]."""
    torch.manual_seed(0)
    blk = GBlock(3, 2).double()
    x = torch.randn(2, 3, 2, 2, dtype=torch.float64)
    assert blk(x).shape == (2, 2, 4, 4)
    _zero(blk.conv2)
    w, b = blk.shortcut.weight[:, :, 0, 0], blk.shortcut.bias
    expected = torch.empty(2, 2, 4, 4, dtype=torch.float64)
    for n in range(2):
        for o in range(2):
            for r in range(4):
                for s in range(4):
                    expected[n, o, r, s] = sum(w[o, c] * x[n, c, r // 2, s // 2] for c in range(3)) + b[o]
    torch.testing.assert_close(blk(x), expected, rtol=0, atol=1e-12)


def test_gblock_conditional_norms():
    blk = GBlock(4, 4, num_classes=3)
    assert isinstance(blk.bn1, ConditionalBatchNorm2d) and isinstance(blk.bn2, ConditionalBatchNorm2d)
    assert blk.bn1.num_classes == 3 and blk(torch.randn(2, 4, 3, 3), torch.tensor([0, 2])).shape == (2, 4, 6, 6)
    vec = GBlock(4, 2, cond_dim=5)
    assert vec.bn1.cond_dim == 5 and vec(torch.randn(2, 4, 3, 3), torch.randn(2, 5)).shape == (2, 2, 6, 6)


def test_dblock_shortcuts():
    torch.manual_seed(0)
    x = torch.randn(2, 4, 4, 4, dtype=torch.float64)
    same = DBlock(4, 4, downsample=False).double()
    assert same.shortcut is None
    _zero(same.conv2)
    assert torch.equal(same(x), x)  # identity shortcut, residual path silenced
    down = DBlock(4, 3).double()
    _zero(down.conv2)
    w, b = down.shortcut.weight[:, :, 0, 0], down.shortcut.bias
    y = torch.einsum("oc,nchw->nohw", w, x) + b[None, :, None, None]
    expected = (y[:, :, 0::2, 0::2] + y[:, :, 1::2, 0::2] + y[:, :, 0::2, 1::2] + y[:, :, 1::2, 1::2]) / 4
    torch.testing.assert_close(down(x), expected, rtol=0, atol=1e-12)


def test_optimized_block_has_no_leading_relu():
    """A negative image must reach conv1 as it is: compare with conv-ReLU-conv-pool written out."""
    torch.manual_seed(0)
    blk = OptimizedDBlock(1, 2).double()
    x = -torch.rand(1, 1, 4, 4, dtype=torch.float64)
    h = torch.nn.functional.avg_pool2d(blk.conv2(torch.relu(blk.conv1(x))), 2)
    s = blk.shortcut(torch.nn.functional.avg_pool2d(x, 2))
    torch.testing.assert_close(blk(x), h + s, rtol=0, atol=1e-12)
    relu_first = torch.nn.functional.avg_pool2d(blk.conv2(torch.relu(blk.conv1(torch.relu(x)))), 2) + s
    assert not torch.allclose(blk(x), relu_first)
