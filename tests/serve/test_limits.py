"""Per-request limits and authentication: every refusal is a 4xx whose ``detail`` says what was expected."""

from __future__ import annotations

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from gankit.errors import ConfigError
from gankit.serve.app import create_app, readable
from gankit.serve.auth import binding_warning, check_bearer, is_loopback, key_from_env
from gankit.serve.limits import Settings

KEY = "s3cret-key-for-tests"


def _png(h: int, w: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.zeros((h, w), np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.mark.parametrize("body, words", [
    ({"n": 65}, "n: input should be less than or equal to 64 (got 65)"),
    ({"n": 0}, "n: input should be greater than or equal to 1"),
    ({"seed": -1}, "seed: input should be greater than or equal to 0"),
    ({"truncation": 1.5}, "truncation: input should be less than or equal to 1"),
    ({"format": "jpg"}, "format: input should be 'png' or 'npy'"),
    ({"trunction": 0.5}, "trunction: unknown field (expected: n, seed, class, truncation, format)"),
    ({"n": "many"}, "n: input should be a valid integer"),
])  # fmt: skip
def test_json_limits_answer_422_with_what_was_expected(fake_backend, body, words):
    with TestClient(create_app(fake_backend)) as client:
        r = client.post("/v1/generate", json=body)
        assert r.status_code == 422 and words in r.json()["detail"], r.json()


def test_max_n_follows_the_setting_and_the_schema_shows_it(fake_backend):
    with TestClient(create_app(fake_backend, Settings(max_n=8))) as client:
        assert client.post("/v1/generate", json={"n": 8}).status_code == 200
        assert "less than or equal to 8" in client.post("/v1/generate", json={"n": 9}).json()["detail"]
        schema = client.get("/openapi.json").json()["components"]["schemas"]["GenerateRequest"]
        assert schema["properties"]["n"]["maximum"] == 8


def test_malformed_bodies(fake_backend):
    with TestClient(create_app(fake_backend)) as client:
        r = client.post("/v1/generate", content=b"{nope", headers={"content-type": "application/json"})
        assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
        r = client.post("/v1/generate", content=b'{"n": 1}')  # no content type
        assert r.status_code == 422 and "Content-Type: application/json" in r.json()["detail"]
        r = client.post("/v1/generate", json=[1, 2])
        assert r.status_code == 422 and "JSON object" in r.json()["detail"]
        r = client.post("/v1/generate", content=b"x" * 70_000, headers={"content-type": "application/json"})
        assert r.status_code == 413 and "at most" in r.json()["detail"]
        r = client.post("/v1/generate", content=b"{}", headers={"content-type": "application/json", "content-length": "abc"})
        assert r.status_code == 400 and "Content-Length" in r.json()["detail"]


def test_uploads_are_bounded_by_content_length_and_by_reading(pix2pix_run, backends):
    with TestClient(create_app(backends(pix2pix_run), Settings(max_upload_bytes=100_000))) as client:
        huge = b"\0" * 300_000  # over 2 x 100 kB + overhead: refused from its Content-Length, unread
        r = client.post("/v1/translate", files={"image": ("x.png", huge, "image/png")})
        assert r.status_code == 413 and "at most" in r.json()["detail"]
        one_file = b"\0" * 150_000  # the body fits, the file does not: the bounded read refuses it
        r = client.post("/v1/translate", files={"image": ("x.png", one_file, "image/png")})
        assert r.status_code == 413 and "image: the file may be at most" in r.json()["detail"]

        def chunks():  # no Content-Length: the cap counts bytes as they arrive
            yield b"--b\r\nContent-Disposition: form-data; name=\"image\"; filename=\"x.png\"\r\n\r\n"
            for _ in range(40):
                yield b"\0" * 10_000

        r = client.post("/v1/translate", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"})
        assert r.status_code == 413 and "request body too large" in r.json()["detail"]
        ok = client.post("/v1/translate", files={"image": ("x.png", _png(28, 28), "image/png")})
        assert ok.status_code == 200


def test_api_key_guards_v1_only(fake_backend):
    with TestClient(create_app(fake_backend, Settings(api_key=KEY))) as client:
        r = client.post("/v1/generate", json={})
        assert r.status_code == 401 and "Authorization: Bearer" in r.json()["detail"] and r.headers["www-authenticate"].startswith("Bearer")
        r = client.post("/v1/generate", json={}, headers={"Authorization": "Bearer wrong-key-123"})
        assert r.status_code == 401 and "wrong" in r.json()["detail"]
        r = client.post("/v1/generate", json={}, headers={"Authorization": f"Basic {KEY}"})
        assert r.status_code == 401 and "Bearer <key>" in r.json()["detail"]
        r = client.post("/v1/generate", json={"n": 2}, headers={"Authorization": f"Bearer {KEY}"})
        assert r.status_code == 200
        assert client.get("/v1/model").status_code == 401
        assert client.get("/v1/model", headers={"Authorization": f"bearer {KEY}"}).status_code == 200
        for open_path in ("/healthz", "/readyz", "/metrics", "/docs", "/openapi.json", "/"):
            assert client.get(open_path).status_code == 200, open_path
        big = client.post("/v1/translate", content=b"\0" * 10_000_000, headers={"content-type": "multipart/form-data; boundary=b"})
        assert big.status_code == 401  # refused before the body is read
        schemes = client.get("/openapi.json").json()["components"]["securitySchemes"]
        assert any(s.get("scheme") == "bearer" for s in schemes.values())


def test_auth_helpers():
    assert check_bearer(f"Bearer {KEY}", KEY) is None
    assert "needs an API key" in check_bearer(None, KEY) and "wrong" in check_bearer("Bearer " + KEY[:-1], KEY)
    assert all(is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.4", "example.com"))
    assert "without an API key" in binding_warning("0.0.0.0", None)
    assert binding_warning("0.0.0.0", KEY) is None and binding_warning("127.0.0.1", None) is None


def test_key_from_env(monkeypatch):
    monkeypatch.setenv("GANKIT_TEST_KEY", KEY)
    assert key_from_env("GANKIT_TEST_KEY") == KEY and key_from_env(None) is None
    monkeypatch.delenv("GANKIT_TEST_KEY")
    with pytest.raises(ConfigError, match="GANKIT_TEST_KEY is unset or empty"):
        key_from_env("GANKIT_TEST_KEY")
    with pytest.raises(ConfigError, match="shorter than 8"):
        Settings(api_key="short")


def test_settings_refuse_a_queue_smaller_than_a_request():
    with pytest.raises(ConfigError, match="--max-queue 10"):
        Settings(max_queue=10)


def test_readable_validation_messages():
    errs = [{"type": "less_than_equal", "loc": ("body", "n"), "msg": "Input should be less than or equal to 64", "input": 100},
            {"type": "missing", "loc": ("body", "seed_from"), "msg": "Field required", "input": {}}]  # fmt: skip
    assert readable(errs) == "n: input should be less than or equal to 64 (got 100); seed_from: required."
