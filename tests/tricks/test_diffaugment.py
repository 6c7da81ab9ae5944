import pytest
import torch

from gankit.config import validate
from gankit.errors import ConfigError
from gankit.tricks import TRICKS
from gankit.tricks.inputs.diffaugment import color, cutout, translation
from gankit.core.clock import Clock
from gankit.tasks import build_task


def test_shape_kept_and_differentiable():
    torch.manual_seed(0)
    reg = TRICKS.build("diffaugment", {})
    x = torch.randn(6, 3, 16, 16, requires_grad=True)
    y = reg.transform_input(x, Clock(0, 0.0, 10))
    assert y.shape == x.shape and not torch.equal(y, x)
    y.pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    z = reg.transform_input(x.detach(), Clock(0, 0.0, 10))
    assert not torch.equal(z, y.detach())  # fresh random parameters per call


def test_translation_shifts_content_with_zero_fill():
    x = torch.zeros(1, 1, 8, 8)
    x[0, 0, 3, 4] = 1.0
    y = translation(x, shifts=torch.tensor([[2, -1]]))
    assert y[0, 0, 5, 3] == 1.0 and y.sum() == 1.0
    ones = torch.ones(1, 1, 8, 8)
    y = translation(ones, shifts=torch.tensor([[-3, 2]]))
    assert y[0, 0, 5:, :].sum() == 0 and y[0, 0, :, :2].sum() == 0 and y[0, 0, :5, 2:].sum() == 5 * 6
    # random shifts stay within the ratio and each image moves rigidly
    torch.manual_seed(0)
    imgs = torch.rand(32, 1, 16, 16) + 1.0  # no zeros in the content
    out = translation(imgs, 0.125)
    moved = 0
    for i in range(32):
        ok = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
              if torch.equal(out[i:i + 1], translation(imgs[i:i + 1], shifts=torch.tensor([[dy, dx]])))]  # fmt: skip
        assert ok, i
        moved += ok[0] != (0, 0)
    assert moved > 16


def test_cutout_zeroes_one_square():
    x = torch.ones(1, 2, 16, 16)
    y = cutout(x, 0.5, centers=torch.tensor([[8, 5]]))
    zero = y[0, 0] == 0
    assert zero.sum() == 64 and torch.equal(zero, y[0, 1] == 0)
    rows, cols = zero.any(1).nonzero().flatten(), zero.any(0).nonzero().flatten()
    assert rows.tolist() == list(range(4, 12)) and cols.tolist() == list(range(1, 9))
    y = cutout(x, 0.5, centers=torch.tensor([[0, 15]]))  # clipped at the corner
    assert (y[0, 0] == 0).sum() == 4 * 5
    torch.manual_seed(0)
    y = cutout(torch.ones(64, 1, 16, 16), 0.25)
    n_zero = (y == 0).flatten(1).sum(1)
    assert (n_zero <= 16).all() and (n_zero > 0).all() and (n_zero == 16).float().mean() > 0.3


def test_color_changes_values_but_is_per_sample():
    torch.manual_seed(0)
    x = torch.rand(4, 3, 8, 8)
    y = color(x)
    assert y.shape == x.shape and not torch.allclose(x, y)


def _color_by_hand(x, b, s, c):
    """The colour policy with one scalar factor per image: brightness b, saturation s, contrast c."""
    x = x + b
    m = x.mean(dim=0, keepdim=True)
    x = (x - m) * s + m
    return (x - x.mean()) * c + x.mean()


def test_color_factors_are_drawn_per_sample():
    """A batch of one image repeated: each output is that image under its own (b, s, c), one scalar each."""
    torch.manual_seed(0)
    img = torch.rand(3, 8, 8, dtype=torch.float64)
    n = 16
    y = color(img.expand(n, 3, 8, 8).clone())
    outs = y.flatten(1)
    assert len({tuple(o.tolist()) for o in outs}) == n  # every sample differs

    mu0 = img.mean()
    dev0 = img - img.mean(0, keepdim=True)  # the part saturation scales (colour around the channel mean)
    lum0 = img.mean(0) - mu0  # the part contrast alone scales (per-pixel channel mean around the image mean)
    factors = []
    for i in range(n):
        out = y[i]
        # Brightness shifts everything, saturation scales the colour deviation, contrast scales both
        # deviations around the image mean, which brightness and saturation move by b only:
        #   out = mu0 + b + c * (lum0 + s * dev0)
        mu = out.mean()
        lum = out.mean(0) - mu
        c = (lum * lum0).sum() / (lum0 * lum0).sum()
        b = mu - mu0
        s = ((out - out.mean(0, keepdim=True)) * dev0).sum() / (c * (dev0 * dev0).sum())
        # the whole image (all 3 * 64 values) is consistent with that single triple
        assert torch.allclose(out, _color_by_hand(img, b, s, c), atol=1e-10, rtol=0), i
        assert -0.5 <= b < 0.5 and 0.0 <= s < 2.0 and 0.5 <= c < 1.5, (i, b, s, c)
        factors.append((b.item(), s.item(), c.item()))
    for k in range(3):  # each factor is its own draw per sample, not one value for the batch
        assert len({round(f[k], 9) for f in factors}) == n, k

    # the same factors, drawn in color()'s order from the same RNG state, reproduce the batch exactly
    torch.manual_seed(0)
    torch.rand(3, 8, 8, dtype=torch.float64)
    b = torch.rand(n, 1, 1, 1, dtype=torch.float64) - 0.5
    s = torch.rand(n, 1, 1, 1, dtype=torch.float64) * 2
    c = torch.rand(n, 1, 1, 1, dtype=torch.float64) + 0.5
    want = torch.stack([_color_by_hand(img, b[i], s[i], c[i]) for i in range(n)])
    assert torch.allclose(y, want, atol=1e-12, rtol=0)
    assert torch.allclose(torch.tensor(factors, dtype=torch.float64), torch.cat([b, s, c], 1).view(n, 3), atol=1e-9, rtol=0)


def test_color_on_grayscale_ignores_saturation():
    """One channel: the channel mean is the pixel itself, so only brightness and contrast act."""
    torch.manual_seed(1)
    img = torch.rand(1, 6, 6, dtype=torch.float64)
    y = color(img.expand(8, 1, 6, 6).clone())
    for i in range(8):
        out = y[i]
        c = ((out - out.mean()) * (img - img.mean())).sum() / (img - img.mean()).pow(2).sum()
        b = out.mean() - img.mean()
        assert torch.allclose(out, img.mean() + b + c * (img - img.mean()), atol=1e-12, rtol=0), i
    assert len({tuple(o.flatten().tolist()) for o in y}) == 8


def test_vector_data_is_refused():
    cfg = validate({"data": {"name": "ring8"}, "model": {"generator": {"name": "mlp"}, "discriminator": {"name": "mlp"}},
                    "regularizers": [{"name": "diffaugment"}]})  # fmt: skip
    with pytest.raises(ConfigError, match="diffaugment.*images"):
        build_task(cfg, (2,)).build()
    with pytest.raises(ConfigError, match="policy"):
        TRICKS.build("diffaugment", {"policy": ["rotate"]}, "regularizers[0]")
