import pytest
import torch

from gankit.config import validate
from gankit.errors import ConfigError
from gankit.regularizers import REGULARIZERS
from gankit.regularizers.diffaugment import color, cutout, translation
from gankit.train.build import build_gan


def test_shape_kept_and_differentiable():
    torch.manual_seed(0)
    reg = REGULARIZERS.build("diffaugment", {})
    x = torch.randn(6, 3, 16, 16, requires_grad=True)
    y = reg.transform_d_input(x, 0, 10)
    assert y.shape == x.shape and not torch.equal(y, x)
    y.pow(2).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    z = reg.transform_d_input(x.detach(), 0, 10)
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


def test_vector_data_is_refused():
    cfg = validate({"data": {"name": "ring8"}, "model": {"generator": {"name": "mlp"}, "discriminator": {"name": "mlp"}},
                    "regularizers": [{"name": "diffaugment"}]})  # fmt: skip
    with pytest.raises(ConfigError, match="diffaugment.*images"):
        build_gan(cfg, (2,))
    with pytest.raises(ConfigError, match="policy"):
        REGULARIZERS.build("diffaugment", {"policy": ["rotate"]}, "regularizers[0]")
