"""The onnxruntime backend: a run exported on the fly (parity-checked) or an export directory serves the
same images as the torch backend for the same seed, batches the same way, and keeps a fixed-batch
export's N; psi rules follow the export's signature."""

from __future__ import annotations

import asyncio
import io

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from gankit.errors import ConfigError
from gankit.serve.app import build_backend, create_app
from gankit.serve.backend import OnnxBackend
from gankit.serve.limits import Settings


def _npy(body: bytes) -> np.ndarray:
    return np.load(io.BytesIO(body), allow_pickle=False)


@pytest.fixture(scope="session")
def onnx_cgan(cgan_run) -> OnnxBackend:
    """``--backend onnxruntime`` on a run: exported to a temporary folder, parity-checked, loaded."""
    backend = build_backend(cgan_run, "onnxruntime")
    assert isinstance(backend, OnnxBackend)
    return backend


def test_same_seed_same_images_as_torch(onnx_cgan, cgan_run, backends):
    with TestClient(create_app(onnx_cgan)) as onnx, TestClient(create_app(backends(cgan_run))) as eager:
        for body in ({"n": 6, "seed": 7}, {"n": 3, "seed": 1, "class": 4}, {"n": 2, "seed": 2, "truncation": 0.5}):
            a = onnx.post("/v1/generate", json={**body, "format": "npy"})
            b = eager.post("/v1/generate", json={**body, "format": "npy"})
            assert a.status_code == 200 and a.headers["x-seed"] == str(body["seed"])
            assert np.abs(_npy(a.content).astype(int) - _npy(b.content)).max() <= 1  # parity 1e-4 in floats: within 1 level
        info = onnx.get("/v1/model").json()
        assert info["backend"] == "onnxruntime" and info["signature"]["format"] == "onnx" and info["step"] == 2
        assert info["capabilities"] == ["generate", "interpolate"] and info["signature"]["parity"]["max_abs_diff"] <= 1e-4
        assert onnx.post("/v1/style-mix", json={}).status_code == 400


def test_an_export_directory_is_served_by_onnxruntime(onnx_cgan):
    folder = onnx_cgan.path
    backend = build_backend(folder)  # picked by the path
    assert isinstance(backend, OnnxBackend) and backend.signature["task"] == "cgan"
    with pytest.raises(ConfigError, match="--backend onnxruntime"):
        build_backend(folder, "torch")


def test_onnx_requests_batch_together(onnx_cgan):
    app = create_app(onnx_cgan, Settings(max_batch=8, max_delay_ms=5000))

    async def go() -> list[httpx.Response]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", timeout=60) as c:
            return list(await asyncio.gather(*(c.post("/v1/generate", json={"seed": s, "class": s % 10}) for s in range(8))))

    before = len(onnx_cgan.batch_sizes)
    out = asyncio.run(go())
    assert [r.status_code for r in out] == [200] * 8 and [r.headers["x-seed"] for r in out] == [str(s) for s in range(8)]
    assert list(onnx_cgan.batch_sizes)[before:] == [8]


class _FixedBatch:
    """An ExportedModel stand-in exported with ``--batch 4``."""

    max_batch = 4

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.signature = {"task": "gan", "z_dim": 3, "num_classes": 0, "input_shape": None, "output_shape": [1, 2, 2],
                          "value_range": [-1, 1], "output": "image", "style_based": False, "psi_mode": "scale_z",
                          "truncation_psi": None, "batch": 4}  # fmt: skip

    def generate(self, z, c=None, psi=None):  # noqa: ANN001, ANN201
        assert len(z) <= 4, "the batcher must not send more than the export's N"
        self.calls.append(len(z))
        z = z * (psi or 1.0)
        return np.tanh(np.broadcast_to(z[:, :1, None, None], (len(z), 1, 2, 2))).astype(np.float32)


def test_a_fixed_batch_export_caps_the_batch(onnx_cgan):
    stub = _FixedBatch()
    app = create_app(OnnxBackend(stub), Settings(max_batch=64))
    assert app.state.gankit.batcher.max_batch == 4
    with TestClient(app) as client:
        r = client.post("/v1/generate", json={"n": 10, "seed": 0, "format": "npy", "truncation": 0.5})
        assert r.status_code == 200 and _npy(r.content).shape == (10, 1, 2, 2)
    assert stub.calls == [4, 4, 2]


def test_psi_rules_follow_the_signature():
    stub = _FixedBatch()
    backend = OnnxBackend(stub)
    assert backend.check_psi(None) == 1.0 and backend.check_psi(0.5) == 0.5  # z x psi
    stub.signature.update(style_based=True, psi_mode="baked", truncation_psi=0.7)
    baked = OnnxBackend(stub)
    assert baked.check_psi(None) == 0.7 and baked.check_psi(0.7) == 0.7
    with pytest.raises(ConfigError, match="psi 0.7 baked in"):
        baked.check_psi(1.0)
    stub.signature.update(style_based=False, psi_mode="none", truncation_psi=None)
    with pytest.raises(ConfigError, match="pixel-normalises"):
        OnnxBackend(stub).check_psi(0.5)
