"""The HTTP API on tiny trained runs: the same seed gives `gankit sample`'s images (png and npy), the
seed is echoed, classes and truncation, interpolation, style mixing, the model card, /v1/model,
health, readiness, Prometheus metrics and the page."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

import gankit
from gankit.serve.app import create_app
from gankit.serve.limits import Settings


def _client(backend, **settings) -> TestClient:  # noqa: ANN001
    return TestClient(create_app(backend, Settings(**settings)))


def _npy(body: bytes) -> np.ndarray:
    return np.load(io.BytesIO(body), allow_pickle=False)


def test_generate_npy_is_gankit_samples_of_the_seed(gan_run, backends):
    with _client(backends(gan_run)) as client:
        r = client.post("/v1/generate", json={"n": 5, "seed": 7, "format": "npy"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream" and r.headers["x-seed"] == "7"
        arr = _npy(r.content)
        assert arr.dtype == np.uint8 and arr.shape == (5, 1, 28, 28)
        assert np.array_equal(arr, gankit.load(gan_run).sample(5, seed=7).numpy())  # exactly `gankit sample --seed 7`
        again = _npy(client.post("/v1/generate", json={"n": 5, "seed": 7, "format": "npy"}).content)
        assert np.array_equal(arr, again)
        other = _npy(client.post("/v1/generate", json={"n": 5, "seed": 8, "format": "npy"}).content)
        assert not np.array_equal(arr, other)
        first = _npy(client.post("/v1/generate", json={"n": 1, "seed": 7, "format": "npy"}).content)
        assert np.abs(first[0].astype(int) - arr[0]).max() <= 1  # seed s, n = 1: the first image of n = 5 (float noise of batch size)


def test_generate_png_grid_and_random_seed(gan_run, backends):
    with _client(backends(gan_run)) as client:
        r = client.post("/v1/generate", json={"n": 4, "seed": 3})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        grid = np.asarray(Image.open(io.BytesIO(r.content)))
        assert grid.shape == (2 + 2 * 30, 2 + 2 * 30)  # 2 x 2 cells of 28 px, 2 px padding (save_grid's layout)
        imgs = gankit.load(gan_run).sample(4, seed=3).numpy()
        assert np.array_equal(grid[2:30, 2:30], imgs[0, 0]) and np.array_equal(grid[32:60, 32:60], imgs[3, 0])
        assert client.post("/v1/generate", json={"n": 4, "seed": 3}).content == r.content  # same seed, same bytes
        r1 = client.post("/v1/generate", json={})
        seed = int(r1.headers["x-seed"])
        assert 0 <= seed <= 2**32 - 1
        r2 = client.post("/v1/generate", json={"seed": seed})
        assert r2.content == r1.content  # the returned seed reproduces the image


def test_classes_and_truncation(cgan_run, style_run, backends):
    g = gankit.load(cgan_run)
    with _client(backends(cgan_run)) as client:
        r = client.post("/v1/generate", json={"n": 3, "seed": 1, "class": 6, "format": "npy"})
        assert np.array_equal(_npy(r.content), g.sample(3, seed=1, classes=[6]).numpy())
        every = _npy(client.post("/v1/generate", json={"n": 12, "seed": 1, "format": "npy"}).content)
        assert np.array_equal(every, g.sample(12, seed=1).numpy())  # every class in turn, as `gankit sample`
        assert client.post("/v1/generate", json={"class": 10}).status_code == 422
        r = client.post("/v1/generate", json={"n": 2, "seed": 1, "truncation": 0.5, "format": "npy"})
        assert np.array_equal(_npy(r.content), g.sample(2, seed=1, psi=0.5).numpy())
    s = gankit.load(style_run)
    with _client(backends(style_run)) as client:
        r = client.post("/v1/generate", json={"n": 3, "seed": 2, "truncation": 0.0, "format": "npy"})
        arr = _npy(r.content)
        assert np.array_equal(arr, s.sample(3, seed=2, psi=0.0).numpy())
        assert np.abs(arr[0].astype(int) - arr[2].astype(int)).max() <= 1  # psi 0: every sample the average image
    with _client(backends(style_run)) as client:
        assert client.post("/v1/generate", json={"class": 1}).json()["detail"].startswith("class: this stylegan2 model is unconditional")


def test_interpolate_png_gif_npy(gan_run, backends):
    from gankit.latent.tools import interpolate

    want = interpolate(gankit.load(gan_run), 3, 9, steps=6).numpy()
    with _client(backends(gan_run)) as client:
        r = client.post("/v1/interpolate", json={"seed_from": 3, "seed_to": 9, "steps": 6, "format": "npy"})
        assert r.status_code == 200 and r.headers["x-seed-from"] == "3" and r.headers["x-seed-to"] == "9"
        frames = _npy(r.content)
        assert np.array_equal(frames, want)
        assert np.array_equal(frames[0], gankit.load(gan_run).sample(1, seed=3).numpy()[0])  # the ends are the seeds' images
        gif = Image.open(io.BytesIO(client.post("/v1/interpolate", json={"seed_from": 3, "seed_to": 9, "steps": 6, "format": "gif"}).content))
        assert gif.format == "GIF" and gif.n_frames == 6
        strip = Image.open(io.BytesIO(client.post("/v1/interpolate", json={"seed_from": 3, "seed_to": 9, "steps": 6}).content))
        assert strip.size == (2 + 6 * 30, 32)  # one row of 6 frames
        assert client.post("/v1/interpolate", json={"seed_from": 0, "seed_to": 1, "steps": 65}).status_code == 422


def test_style_mix_only_for_style_based_torch_runs(style_run, gan_run, backends):
    from gankit.latent.tools import style_mix

    want = style_mix(gankit.load(style_run), [0, 1], [5, 6, 7], "fine").numpy()
    with _client(backends(style_run)) as client:
        r = client.post("/v1/style-mix", json={"row_seeds": [0, 1], "col_seeds": [5, 6, 7], "layers": "fine"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        grid = np.asarray(Image.open(io.BytesIO(r.content)))
        assert grid.shape == (2 + 3 * 30, 2 + 4 * 30)  # (1 + rows) x (1 + cols) cells
        assert np.array_equal(grid[32:60, 32:60], want[5, 0]) and np.array_equal(grid[62:90, 92:120], want[11, 0])  # rows take the columns' fine styles
        bad = client.post("/v1/style-mix", json={"layers": "topmost"})
        assert bad.status_code == 400 and "coarse, middle, fine" in bad.json()["detail"]
        assert client.post("/v1/style-mix", json={"row_seeds": list(range(9))}).status_code == 422
    with _client(backends(gan_run)) as client:
        r = client.post("/v1/style-mix", json={})
        assert r.status_code == 400 and "style-based" in r.json()["detail"]


def test_model_info_card_and_capabilities(cgan_run, style_run, sr_run, backends):
    with _client(backends(cgan_run), max_n=32) as client:
        info = client.get("/v1/model").json()
        assert info["signature"]["task"] == "cgan" and info["signature"]["num_classes"] == 10
        assert info["recipe"]["name"] and info["step"] == 2 and info["weights"] in ("G", "G_ema") and info["backend"] == "torch"
        assert info["capabilities"] == ["generate", "interpolate"] and info["metrics"] is None and info["input"] is None
        assert info["limits"]["max_n"] == 32 and info["limits"]["max_upload_bytes"] == 4 * 2**20
        card = client.get("/v1/model/card.png")
        assert card.status_code == 200 and Image.open(io.BytesIO(card.content)).size == (2 + 4 * 30,) * 2
        r = client.post("/v1/generate", json={"n": 16, "seed": 0})
        assert r.content == card.content  # seed 0, 16 images, every class in turn
    with _client(backends(style_run)) as client:
        assert "style-mix" in client.get("/v1/model").json()["capabilities"]
    with _client(backends(sr_run)) as client:
        info = client.get("/v1/model").json()
        assert info["capabilities"] == ["translate", "upscale"] and info["input"]["any_size"]
        r = client.get("/v1/model/card.png")
        assert r.status_code == 404 and "/v1/translate" in r.json()["detail"]
        r = client.post("/v1/generate", json={})
        assert r.status_code == 400 and "/v1/translate" in r.json()["detail"]


def test_health_ready_metrics_docs_and_page(gan_run, backends):
    with _client(backends(gan_run)) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").status_code == 200
        for n in (1, 3):
            client.post("/v1/generate", json={"n": n, "seed": 0})
        client.post("/v1/generate", json={"n": 1000})
        text = client.get("/metrics").text
        assert 'gankit_requests_total{endpoint="/v1/generate",status="200"} 2.0' in text
        assert 'gankit_requests_total{endpoint="/v1/generate",status="422"} 1.0' in text
        assert 'gankit_request_duration_seconds_count{endpoint="/v1/generate"} 3.0' in text
        assert "gankit_batch_size_count 2.0" in text and "gankit_batch_size_sum 4.0" in text
        assert "gankit_queue_depth 0.0" in text and "gankit_images_total 4.0" in text
        client.get("/no/such/path")
        assert 'endpoint="other",status="404"' in client.get("/metrics").text
        docs = client.get("/docs")
        assert docs.status_code == 200 and "/openapi.json" in docs.text
        import re

        assert not re.findall(r"https?://", docs.text), "the API page must load nothing from other origins (works offline)"
        for asset in re.findall(r"['\"](/docs-static/[^'\"]+)['\"]", docs.text):
            assert client.get(asset).status_code == 200, asset
        assert len(re.findall(r"/docs-static/", docs.text)) == 2  # Swagger UI's script and style, from this server
        paths = client.get("/openapi.json").json()["paths"]
        assert {"/v1/generate", "/v1/interpolate", "/v1/style-mix", "/v1/translate", "/v1/model", "/v1/model/card.png",
                "/healthz", "/readyz", "/metrics"} <= set(paths)  # fmt: skip
        page = client.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        r = client.get("/nope")
        assert r.status_code == 404 and "/docs" in r.json()["detail"]
        r = client.get("/v1/generate")
        assert r.status_code == 405 and "GET is not allowed on /v1/generate" in r.json()["detail"]


def test_page_fallback_when_not_installed(gan_run, backends, monkeypatch, tmp_path):
    import gankit.serve.app as app_mod

    monkeypatch.setattr(app_mod, "WEB_DIR", tmp_path / "missing")
    with _client(backends(gan_run)) as client:
        r = client.get("/")
        assert r.status_code == 200 and "not installed" in r.text
        assert client.get("/static/app.js").status_code == 404


def test_two_apps_keep_separate_metrics(fake_backend, fake_cls):
    with _client(fake_backend) as a, _client(fake_cls()) as b:
        a.post("/v1/generate", json={"seed": 1})
        assert 'status="200"} 1.0' in a.get("/metrics").text
        assert 'endpoint="/v1/generate"' not in b.get("/metrics").text


@pytest.mark.parametrize("fmt", ["png", "npy"])
def test_each_response_carries_its_seed(fake_backend, fmt):
    with _client(fake_backend) as client:
        for seed in (0, 5, 2**32 - 1):
            r = client.post("/v1/generate", json={"seed": seed, "format": fmt})
            assert r.status_code == 200 and r.headers["x-seed"] == str(seed)
        assert client.post("/v1/generate", json={"seed": 2**32}).status_code == 422
