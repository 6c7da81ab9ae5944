import pytest
import torch

from gankit.errors import GankitError
from gankit.metrics.extractors.preprocess import FMNIST_INPUT, INCEPTION_INPUT, prepare_images, resize_method


def test_gray_is_replicated_for_inception():
    x = torch.randint(0, 256, (2, 1, 20, 20), dtype=torch.uint8)
    y = prepare_images(x, INCEPTION_INPUT)
    assert y.shape == (2, 3, 20, 20) and y.dtype == torch.uint8  # Inception resizes to 299 itself
    assert torch.equal(y[:, 0], x[:, 0]) and torch.equal(y[:, 2], x[:, 0])


def test_rgb_is_averaged_for_fmnist():
    x = torch.zeros(1, 3, 28, 28, dtype=torch.uint8)
    x[:, 0], x[:, 1], x[:, 2] = 30, 60, 91
    y = prepare_images(x, FMNIST_INPUT)
    assert y.shape == (1, 1, 28, 28) and int(y[0, 0, 0, 0]) == 60  # round(181 / 3)


def test_resize_to_28_and_identity_at_28():
    x = torch.full((3, 1, 64, 64), 200, dtype=torch.uint8)
    y = prepare_images(x, FMNIST_INPUT)
    assert y.shape == (3, 1, 28, 28) and (y == 200).all()
    z = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    assert torch.equal(prepare_images(z, FMNIST_INPUT), z)


def test_resize_method_strings():
    assert resize_method((1, 28, 28), FMNIST_INPUT) == "none"
    assert resize_method((3, 64, 64), FMNIST_INPUT) == "rgb->gray-mean+bilinear-antialias-64x64->28x28"
    assert resize_method((1, 28, 28), INCEPTION_INPUT) == "gray->rgb-replicate+tf1-bilinear-299"
    assert resize_method((3, 32, 32), INCEPTION_INPUT) == "tf1-bilinear-299"


def test_bad_inputs():
    with pytest.raises(GankitError, match="uint8"):
        prepare_images(torch.zeros(1, 1, 28, 28), FMNIST_INPUT)
    with pytest.raises(GankitError, match="channels"):
        prepare_images(torch.zeros(1, 28, 28, 3, dtype=torch.uint8), FMNIST_INPUT)
