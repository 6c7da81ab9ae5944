"""Super-resolution degradations: each kernel is its library's call, they differ, and the choice is deterministic."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from gankit.data.degrade import DEGRADATIONS, KERNELS, bicubic_upscale, downsample, downsample_mixed, kernel_for
from gankit.errors import ConfigError, DataError


def _images(n: int, c: int, side: int, seed: int = 0) -> torch.Tensor:
    """Smooth blobs plus texture: antialiasing matters on the texture, the blobs keep values mid-range."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side] / side
    base = 128 + 100 * np.sin(6 * xx + rng.uniform(0, 6, (n, c, 1, 1))) * np.cos(5 * yy)
    return torch.from_numpy(np.clip(base + rng.normal(0, 25, base.shape), 0, 255).astype(np.uint8))


@pytest.mark.parametrize("c", [1, 3])
@pytest.mark.parametrize("scale", [2, 4])
def test_kernels_are_their_library_calls(c: int, scale: int) -> None:
    x = _images(3, c, 28)
    s = 28 // scale
    for i in range(3):
        hwc = x[i].permute(1, 2, 0).numpy().squeeze()
        pil = np.asarray(Image.fromarray(hwc).resize((s, s), Image.BICUBIC))
        ocv = cv2.resize(hwc, (s, s), interpolation=cv2.INTER_CUBIC)
        assert np.array_equal(downsample(x[i : i + 1], scale, "pil")[0].permute(1, 2, 0).numpy().squeeze(), pil)
        assert np.array_equal(downsample(x[i : i + 1], scale, "opencv")[0].permute(1, 2, 0).numpy().squeeze(), ocv)
    ref = F.interpolate(x.float(), size=(s, s), mode="bicubic", antialias=True, align_corners=False)
    assert torch.equal(downsample(x, scale, "torch"), ref.round().clamp(0, 255).to(torch.uint8))


def test_kernels_differ() -> None:
    x = _images(8, 1, 28)
    out = {k: downsample(x, 2, k).float() for k in KERNELS}
    assert all(v.shape == (8, 1, 14, 14) and v.dtype == torch.float32 for v in out.values())
    gap = lambda p, q: (out[p] - out[q]).abs().mean().item()  # noqa: E731
    assert gap("pil", "opencv") > 2 and gap("torch", "opencv") > 2  # OpenCV does not antialias
    assert 0 < gap("pil", "torch") < 1  # same a = -0.5 kernel, different rounding: close but not equal


def test_kernel_choice() -> None:
    assert DEGRADATIONS == ("mixed", "pil", "opencv", "torch")
    assert [kernel_for(None, i, "mixed") for i in range(6)] == ["pil", "opencv", "torch"] * 2  # eval: index % 3
    assert [kernel_for(s, 0, "mixed") for s in (9, 10, 11)] == ["pil", "opencv", "torch"]  # training: the seed's
    assert all(kernel_for(s, i, "opencv") == "opencv" for s in (None, 4) for i in range(3))
    with pytest.raises(ConfigError, match="data.degradation 'lanczos'"):
        kernel_for(0, 0, "lanczos")
    x = _images(4, 1, 28)
    names = ["torch", "pil", "pil", "opencv"]
    mixed = downsample_mixed(x, 2, names)
    assert all(torch.equal(mixed[i], downsample(x[i : i + 1], 2, k)[0]) for i, k in enumerate(names))


def test_errors_and_upscale() -> None:
    x = _images(2, 3, 30)
    with pytest.raises(DataError, match="do not divide by the scale factor 4"):
        downsample(x, 4, "pil")
    with pytest.raises(ConfigError, match="kernel 'area'"):
        downsample(x, 2, "area")
    with pytest.raises(DataError, match="uint8"):
        downsample(x.float(), 2, "pil")
    lr = downsample(x, 2, "pil")
    up = bicubic_upscale(lr, 2)
    ref = Image.fromarray(lr[1].permute(1, 2, 0).numpy()).resize((30, 30), Image.BICUBIC)
    assert up.shape == (2, 3, 30, 30) and np.array_equal(up[1].permute(1, 2, 0).numpy(), np.asarray(ref))
    assert downsample(x[:0], 2, "torch").shape == (0, 3, 15, 15) and bicubic_upscale(lr[:0], 3).shape == (0, 3, 45, 45)
