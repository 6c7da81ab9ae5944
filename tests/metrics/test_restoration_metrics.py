"""Restoration metrics and baselines: psnr_y / ssim_y against scikit-image and hand computations, the
BT.601 Y conversion by hand, the hole metrics by hand, mean fill by hand, bicubic and Telea through
their libraries (PIL, OpenCV)."""

from __future__ import annotations

import math
from unittest import mock

import numpy as np
import pytest
import torch

from gankit.errors import ConfigError, GankitError
from gankit.metrics import evaluate
from gankit.metrics.baselines import bicubic_baseline, mean_fill, telea
from gankit.metrics.restoration import hole_l1_per_image, hole_psnr_per_image, psnr_per_image, rgb_to_y, ssim_per_image


def _noise(n: int, shape=(1, 28, 28), seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 256, (n, *shape), generator=torch.Generator().manual_seed(seed), dtype=torch.uint8)


def _photos(n: int = 3, size: int = 48) -> tuple[torch.Tensor, torch.Tensor]:
    """(clean, degraded) uint8 RGB crops of a real photograph: structured content, as SR measures it."""
    skd = pytest.importorskip("skimage.data")
    img = skd.astronaut()  # 512 x 512 x 3 uint8
    clean = np.stack([img[100 + 60 * i : 100 + 60 * i + size, 150 : 150 + size] for i in range(n)]).transpose(0, 3, 1, 2)
    rng = np.random.default_rng(0)
    noisy = np.clip(clean.astype(np.int16) + rng.integers(-25, 26, clean.shape), 0, 255).astype(np.uint8)
    return torch.from_numpy(np.ascontiguousarray(noisy)), torch.from_numpy(np.ascontiguousarray(clean))


def _y_by_hand(x: np.ndarray) -> np.ndarray:
    """N x 3 x H x W uint8 -> N x H x W Y / 255, MATLAB rgb2ycbcr's luma row written out."""
    r, g, b = (x[:, i].astype(np.float64) / 255 for i in range(3))
    return (16 + 65.481 * r + 128.553 * g + 24.966 * b) / 255


def test_y_conversion_by_hand_and_against_scikit_image():
    x = _noise(2, (3, 8, 8), 1)
    y = rgb_to_y(x.double() / 255)
    assert y.shape == (2, 1, 8, 8)
    np.testing.assert_allclose(y[:, 0].numpy(), _y_by_hand(x.numpy()), rtol=0, atol=1e-12)
    pure = torch.tensor([[255, 0, 0], [0, 255, 0], [0, 0, 255], [0, 0, 0], [255, 255, 255]], dtype=torch.float64) / 255
    ys = rgb_to_y(pure.T.reshape(1, 3, 1, 5)).flatten() * 255
    np.testing.assert_allclose(ys.numpy(), [81.481, 144.553, 40.966, 16.0, 235.0], atol=1e-9)  # studio swing 16..235
    color = pytest.importorskip("skimage.color")
    ref = color.rgb2ycbcr(x.numpy().transpose(0, 2, 3, 1).astype(np.float64) / 255)[..., 0] / 255
    np.testing.assert_allclose(y[:, 0].numpy(), ref, atol=1e-9)


def test_psnr_y_and_ssim_y_agree_with_scikit_image_on_a_photograph():
    metrics = pytest.importorskip("skimage.metrics")
    out, target = _photos()
    for crop in (0, 4):
        psnr = psnr_per_image(out, target, crop_border=crop)
        ssim = ssim_per_image(out, target, crop_border=crop)
        yo, yt = _y_by_hand(out.numpy()), _y_by_hand(target.numpy())
        if crop:
            yo, yt = yo[:, crop:-crop, crop:-crop], yt[:, crop:-crop, crop:-crop]
        for i in range(len(out)):
            assert psnr[i].item() == pytest.approx(metrics.peak_signal_noise_ratio(yt[i], yo[i], data_range=1.0), abs=1e-5)
            ref = metrics.structural_similarity(yt[i], yo[i], data_range=1.0, gaussian_weights=True, sigma=1.5,
                                                use_sample_covariance=False)  # Wang et al. 2004, as torchmetrics
            assert ssim[i].item() == pytest.approx(ref, abs=1e-6)
        mse = ((yo - yt) ** 2).reshape(len(out), -1).mean(1)
        assert psnr.tolist() == pytest.approx([10 * math.log10(1 / m) for m in mse], abs=1e-5)
        rep = evaluate(out, "psnr_y,ssim_y", targets=target, crop_border=crop, n=len(out))
        assert rep.value("psnr_y") == pytest.approx(psnr.mean().item()) and rep.value("ssim_y") == pytest.approx(ssim.mean().item())
        assert rep.get("psnr_y").details["crop_border"] == crop and "Y channel" in rep.get("psnr_y").details["on"]
    # Y-channel PSNR differs from RGB PSNR: the protocol matters
    assert evaluate(out, "psnr", targets=target, n=3).value("psnr") != pytest.approx(psnr_per_image(out, target).mean().item(), abs=0.1)


def test_gray_is_measured_as_is():
    from torchmetrics.functional.image import structural_similarity_index_measure

    x, t = _noise(5, seed=2), _noise(5, seed=3)
    rep = evaluate(x, "psnr,psnr_y,ssim_y", targets=t, n=5)
    assert rep.value("psnr_y") == pytest.approx(rep.value("psnr"), rel=1e-6)
    assert rep.get("psnr_y").details["on"].startswith("gray")
    # SSIM: torchmetrics' map, averaged where the 11 x 11 window lies inside the image
    _, full = structural_similarity_index_measure(x.double() / 255, t.double() / 255, data_range=1.0, return_full_image=True)
    assert rep.value("ssim_y") == pytest.approx(full[..., 5:-5, 5:-5].mean().item(), rel=1e-9)
    metrics = pytest.importorskip("skimage.metrics")
    ref = [metrics.structural_similarity(b.numpy()[0], a.numpy()[0], data_range=255, gaussian_weights=True, sigma=1.5,
                                         use_sample_covariance=False) for a, b in zip(x, t)]  # fmt: skip
    assert rep.value("ssim_y") == pytest.approx(float(np.mean(ref)), abs=1e-6)
    xc, tc = x[..., 3:-3, 3:-3].double() / 255, t[..., 3:-3, 3:-3].double() / 255
    hand = np.mean([10 * math.log10(1 / m) for m in (xc - tc).pow(2).flatten(1).mean(1).tolist()])
    assert evaluate(x, "psnr_y", targets=t, crop_border=3, n=5).value("psnr_y") == pytest.approx(hand, rel=1e-6)
    same = evaluate(x, "psnr_y,ssim_y", targets=x.clone(), n=5)
    assert same.value("psnr_y") == float("inf") and same.get("psnr_y").details["identical_images"] == 5
    assert same.value("ssim_y") == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(GankitError, match="crop_border must be an integer in 0..13"):
        evaluate(x, "psnr_y", targets=t, crop_border=14, n=5)
    with pytest.raises(ConfigError, match="crop_border"):
        psnr_per_image(x, t, crop_border=-1)
    with pytest.raises(ConfigError, match="11 x 11 window needs images larger than 10 px"):
        ssim_per_image(x, t, crop_border=9)


def _hole_case():
    """Two 1 x 4 x 4 images with a hand-known error inside and outside their holes, and a hole-less third."""
    t = torch.full((3, 1, 4, 4), 100, dtype=torch.uint8)
    x = t.clone()
    x[:] = 0  # outside the hole the error is large: it must not count
    mask = torch.zeros(3, 1, 4, 4, dtype=torch.uint8)
    mask[0, 0, :2, :2] = 1  # 4 hole pixels with errors 10, 20, 30, 40
    x[0, 0, :2, :2] = torch.tensor([[90, 80], [70, 60]], dtype=torch.uint8)
    mask[1, 0, 3, :] = 1  # 4 hole pixels, exact except one off by 51
    x[1, 0, 3, :] = torch.tensor([100, 100, 100, 151], dtype=torch.uint8)
    return x, t, mask


def test_hole_metrics_by_hand():
    x, t, mask = _hole_case()
    l1 = hole_l1_per_image(x, t, mask)
    assert l1[0].item() == pytest.approx((10 + 20 + 30 + 40) / 4 / 255) and l1[1].item() == pytest.approx(51 / 4 / 255)
    assert math.isnan(l1[2].item())  # no hole
    psnr = hole_psnr_per_image(x, t, mask)
    mse0, mse1 = (100 + 400 + 900 + 1600) / 4 / 255**2, 51**2 / 4 / 255**2
    assert psnr[:2].tolist() == pytest.approx([10 * math.log10(1 / mse0), 10 * math.log10(1 / mse1)], rel=1e-12)
    rep = evaluate(x, "hole_l1,hole_psnr", targets=t, masks=mask.bool(), n=3)
    assert rep.value("hole_l1") == pytest.approx((l1[0].item() + l1[1].item()) / 2)
    assert rep.value("hole_psnr") == pytest.approx((psnr[0].item() + psnr[1].item()) / 2)
    assert rep.get("hole_l1").details["images_without_hole"] == 1 and rep.get("hole_psnr").details["exact_holes"] == 0
    # RGB: every channel of a hole pixel counts
    x3, t3 = torch.zeros(1, 3, 2, 2, dtype=torch.uint8), torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    t3[0, :, 0, 0] = torch.tensor([30, 60, 90], dtype=torch.uint8)
    m3 = torch.zeros(1, 1, 2, 2)
    m3[0, 0, 0, :] = 1.0  # float masks work too
    assert hole_l1_per_image(x3, t3, m3).item() == pytest.approx((30 + 60 + 90) / 6 / 255)
    assert evaluate(x3, "hole_l1", targets=t3, masks=np.zeros((1, 1, 2, 2)), n=1).value("hole_l1") is None


def test_hole_metrics_need_valid_masks():
    x, t, mask = _hole_case()
    with pytest.raises(GankitError, match="hole_l1, hole_psnr: measure the hole only; pass masks="):
        evaluate(x, "hole_psnr,hole_l1", targets=t, n=3)
    with pytest.raises(GankitError, match=r"masks must be N x 1 x 4 x 4 with at least 3 rows"):
        evaluate(x, "hole_l1", targets=t, masks=mask[:2], n=3)
    with pytest.raises(GankitError, match="0 \\(known pixel\\) or 1 \\(hole\\)"):
        evaluate(x, "hole_l1", targets=t, masks=mask * 255, n=3)
    with pytest.raises(GankitError, match="pass targets="):
        evaluate(x, "hole_l1", masks=mask, n=3)


def test_mean_fill_by_hand():
    x = torch.tensor([[[[10, 20, 200], [30, 41, 200]]], [[[5, 6, 7], [8, 9, 10]]]], dtype=torch.uint8)  # 2 x 1 x 2 x 3
    mask = torch.zeros(2, 1, 2, 3, dtype=torch.uint8)
    mask[0, 0, :, 2] = 1  # known 10, 20, 30, 41 -> mean 25.25 -> 25
    mask[1] = 1  # all hole -> the fill value
    out = mean_fill(x, mask)
    assert out[0, 0].tolist() == [[10, 20, 25], [30, 41, 25]] and (out[1] == 128).all()
    rgb = torch.zeros(1, 3, 2, 2, dtype=torch.uint8)
    rgb[0, :, 0, 0] = torch.tensor([0, 100, 250], dtype=torch.uint8)
    rgb[0, :, 0, 1] = torch.tensor([3, 50, 250], dtype=torch.uint8)
    m = torch.zeros(1, 1, 2, 2, dtype=torch.uint8)
    m[0, 0, 1, :] = 1
    got = mean_fill(rgb, m)
    assert got[0, :, 1, 0].tolist() == [2, 75, 250] and torch.equal(got[0, :, 0], rgb[0, :, 0])  # 1.5 rounds to even


def test_telea_is_opencv_inpaint():
    import cv2

    x, mask = _noise(2, (1, 20, 20), 4), torch.zeros(2, 1, 20, 20, dtype=torch.uint8)
    mask[:, :, 5:12, 6:14] = 1
    with mock.patch("cv2.inpaint", wraps=cv2.inpaint) as spy:
        out = telea(x, mask, radius=5)
    assert spy.call_count == 2
    for (img, m, radius, flags), im, hole in zip((c.args for c in spy.call_args_list), x, mask):
        assert flags == cv2.INPAINT_TELEA and radius == 5
        assert np.array_equal(img, im[0].numpy()) and np.array_equal(m, hole[0].numpy())
    for i in range(2):
        direct = cv2.inpaint(x[i, 0].numpy(), mask[i, 0].numpy(), 5, cv2.INPAINT_TELEA)
        assert np.array_equal(out[i, 0].numpy(), direct)
    assert torch.equal(out[mask.expand_as(out) == 0], x[mask.expand_as(x) == 0])  # only the hole changes
    rgb, _ = _photos(1, 32) if _has_skimage() else (_noise(1, (3, 32, 32), 5), None)
    m = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)
    m[0, 0, 10:20, 10:20] = 1
    direct = cv2.inpaint(np.ascontiguousarray(rgb[0].numpy().transpose(1, 2, 0)), m[0, 0].numpy(), 3, cv2.INPAINT_TELEA)
    assert np.array_equal(telea(rgb, m)[0].numpy().transpose(1, 2, 0), direct)


def _has_skimage() -> bool:
    try:
        import skimage.data  # noqa: F401
    except ImportError:
        return False
    return True


def test_bicubic_baseline_is_pil_bicubic():
    from PIL import Image

    lr = _noise(2, (1, 7, 9), 6)
    up = bicubic_baseline(lr, 3)
    assert up.shape == (2, 1, 21, 27) and up.dtype == torch.uint8
    for i in range(2):
        assert np.array_equal(up[i, 0].numpy(), np.asarray(Image.fromarray(lr[i, 0].numpy()).resize((27, 21), Image.BICUBIC)))
    rgb = _noise(1, (3, 6, 6), 7)
    want = np.asarray(Image.fromarray(rgb[0].numpy().transpose(1, 2, 0)).resize((12, 12), Image.BICUBIC))
    assert np.array_equal(bicubic_baseline(rgb, 2)[0].numpy().transpose(1, 2, 0), want)
    assert (bicubic_baseline(torch.full((1, 1, 5, 5), 77, dtype=torch.uint8), 4) == 77).all()  # constants stay
    with pytest.raises(GankitError, match="uint8 images N x C x H x W"):
        bicubic_baseline(lr.float(), 2)
