"""``POST /v1/translate`` on tiny runs of each image-to-image family: the outputs are the CLI's
(`Inference.translate` / `upscale` / `inpaint`), sizes and channels are checked against the
signature, and every refusal says what was expected."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image

import gankit
from gankit.serve.app import create_app
from gankit.serve.limits import Settings


def _png(arr: np.ndarray, mode: str | None = None, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr, mode=mode).save(buf, format=fmt)
    return buf.getvalue()


def _img(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w), dtype=np.uint8)


def _npy(body: bytes) -> np.ndarray:
    return np.load(io.BytesIO(body), allow_pickle=False)


def _post(client: TestClient, image: bytes, mask: bytes | None = None, **fields: str):
    files = {"image": ("in.png", image, "image/png")}
    if mask is not None:
        files["mask"] = ("mask.png", mask, "image/png")
    return client.post("/v1/translate", files=files, data=fields)


def test_pix2pix_translates_at_its_training_size_only(pix2pix_run, gan_run, backends):
    x = _img(28, 28)
    with TestClient(create_app(backends(pix2pix_run))) as client:
        r = _post(client, _png(x), format="npy")
        assert r.status_code == 200 and r.headers["x-output-size"] == "28x28"
        want = gankit.load(pix2pix_run).translate(torch.from_numpy(x)[None, None]).numpy()
        assert np.array_equal(_npy(r.content), want)
        png = _post(client, _png(x))
        assert png.headers["content-type"] == "image/png" and np.array_equal(np.asarray(Image.open(io.BytesIO(png.content))), want[0, 0])
        bad = _post(client, _png(_img(30, 20)))
        assert bad.status_code == 422 and "expected 28 x 28 pixels" in bad.json()["detail"] and "got 20 x 30" in bad.json()["detail"]
        r = _post(client, _png(x), target_class="1")
        assert r.status_code == 400 and "no domains" in r.json()["detail"]
        r = _post(client, _png(x), mask=_png(x))
        assert r.status_code == 400 and "does not inpaint" in r.json()["detail"]
    with TestClient(create_app(backends(gan_run))) as client:
        r = _post(client, _png(x))
        assert r.status_code == 400 and "/v1/generate" in r.json()["detail"]


def test_channels_are_converted_as_the_cli_reads_files(pix2pix_run, backends):
    grey = _img(28, 28, seed=3)
    rgba = np.dstack([grey, grey, grey, np.full_like(grey, 255)])  # what a browser canvas uploads
    with TestClient(create_app(backends(pix2pix_run))) as client:
        a = _post(client, _png(grey), format="npy")
        b = _post(client, _png(rgba, "RGBA"), format="npy")
        assert b.status_code == 200 and b.headers["x-input-mode"] == "RGBA" and np.array_equal(_npy(a.content), _npy(b.content))
        jpeg = _post(client, _png(grey, fmt="JPEG"), format="npy")
        assert jpeg.status_code == 200 and _npy(jpeg.content).shape == (1, 1, 28, 28)


def test_super_resolution_takes_other_sizes(sr_run, backends):
    up = gankit.load(sr_run)
    with TestClient(create_app(backends(sr_run), Settings(max_side=64))) as client:
        info = client.get("/v1/model").json()["input"]
        assert info == {"channels": 1, "height": 14, "width": 14, "any_size": True, "size_multiple": 1, "max_side": 64,
                        "mask": False, "target_class": False}  # fmt: skip
        for h, w in ((14, 14), (9, 23)):
            x = _img(h, w, seed=h)
            r = _post(client, _png(x), format="npy")
            assert r.status_code == 200 and r.headers["x-output-size"] == f"{2 * w}x{2 * h}"
            assert np.array_equal(_npy(r.content), up.upscale(torch.from_numpy(x)[None, None]).numpy())
        big = _post(client, _png(_img(65, 10)))
        assert big.status_code == 422 and "at most 64 pixels" in big.json()["detail"]


def test_inpainting_needs_a_mask_and_keeps_known_pixels(inpaint_run, backends):
    g = gankit.load(inpaint_run)
    x = _img(28, 28, seed=5)
    m = np.zeros((28, 28), np.uint8)
    m[6:14, 8:20] = 255
    with TestClient(create_app(backends(inpaint_run))) as client:
        r = _post(client, _png(x), mask=_png(m), format="npy")
        assert r.status_code == 200
        out = _npy(r.content)
        want = g.inpaint(torch.from_numpy(x)[None, None], torch.from_numpy((m > 0).astype(np.uint8))[None, None]).numpy()
        assert np.array_equal(out, want)
        assert np.array_equal(out[0, 0][m == 0], x[m == 0])  # outside the hole: the upload, bit for bit
        canvas = np.zeros((28, 28, 4), np.uint8)  # a drawn mask: white strokes on a transparent canvas
        canvas[6:14, 8:20] = 255
        r2 = _post(client, _png(x), mask=_png(canvas, "RGBA"), format="npy")
        assert np.array_equal(_npy(r2.content), out)
        assert client.get("/v1/model").json()["input"]["size_multiple"] == 4
        other = _post(client, _png(_img(32, 40)), mask=_png(np.full((32, 40), 255, np.uint8)), format="npy")
        assert other.status_code == 200 and _npy(other.content).shape == (1, 1, 32, 40)
        r = _post(client, _png(x))
        assert r.status_code == 422 and "needs the hole's mask" in r.json()["detail"]
        r = _post(client, _png(x), mask=_png(np.zeros((20, 28), np.uint8)))
        assert r.status_code == 422 and "expected the image's size, 28 x 28" in r.json()["detail"]
        r = _post(client, _png(_img(30, 30)), mask=_png(np.zeros((30, 30), np.uint8)))
        assert r.status_code == 422 and "multiples of 4" in r.json()["detail"]


def test_stargan_needs_a_target_class(stargan_run, backends):
    g = gankit.load(stargan_run)
    x = _img(28, 28, seed=9)
    with TestClient(create_app(backends(stargan_run))) as client:
        caps = client.get("/v1/model").json()["capabilities"]
        assert caps == ["translate", "target-class"]
        r = _post(client, _png(x), target_class="4", format="npy")
        assert r.status_code == 200
        assert np.array_equal(_npy(r.content), g.translate(torch.from_numpy(x)[None, None], target_class=4).numpy())
        assert not np.array_equal(_npy(r.content), _npy(_post(client, _png(x), target_class="7", format="npy").content))
        r = _post(client, _png(x))
        assert r.status_code == 422 and "target_class 0..9" in r.json()["detail"]
        r = _post(client, _png(x), target_class="10")
        assert r.status_code == 422 and "domains 0..9" in r.json()["detail"]
        r = _post(client, _png(x), target_class="-1")
        assert r.status_code == 422 and r.json()["detail"].startswith("target_class:")


@pytest.mark.parametrize("payload, status, words", [
    (b"not an image at all", 415, "not a readable image"),
    (b"", 422, "empty"),
    ("gif", 415, "expected PNG or JPEG, got GIF"),
    ("truncated", 415, "corrupt or truncated"),
])  # fmt: skip
def test_bad_uploads_are_refused_with_a_reason(pix2pix_run, backends, payload, status, words):
    if payload == "gif":
        payload = _png(_img(28, 28), fmt="GIF")
    elif payload == "truncated":
        payload = _png(_img(28, 28))[:60]
    with TestClient(create_app(backends(pix2pix_run))) as client:
        r = _post(client, payload)
        assert r.status_code == status and words in r.json()["detail"]
