"""Micro-batching: concurrent requests share model calls (the batch sizes the model saw are asserted),
batched results equal unbatched ones within float noise, each response keeps its own seed, the
bounded queue answers 503 + Retry-After, a slow model 504, and shutdown drains."""

from __future__ import annotations

import asyncio
import io
import threading
import time

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

import gankit
from gankit.serve.app import create_app
from gankit.serve.backend import TorchBackend
from gankit.serve.limits import Settings


def _npy(body: bytes) -> np.ndarray:
    return np.load(io.BytesIO(body), allow_pickle=False)


async def _post_all(app, bodies: list[dict], path: str = "/v1/generate") -> list[httpx.Response]:  # noqa: ANN001
    """The requests at once, on one event loop (as concurrent clients would arrive)."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=60) as client:
        return list(await asyncio.gather(*(client.post(path, json=b) for b in bodies)))


def test_eight_concurrent_requests_run_as_one_batch_of_eight(gan_run):
    backend = TorchBackend(gankit.load(gan_run))
    app = create_app(backend, Settings(max_batch=8, max_delay_ms=5000))
    seeds = [11, 3, 99, 0, 7, 42, 5, 1234]
    t0 = time.monotonic()
    responses = asyncio.run(_post_all(app, [{"seed": s, "format": "npy"} for s in seeds]))
    assert time.monotonic() - t0 < 4  # the batch ran when full, not at the 5 s deadline
    assert [r.status_code for r in responses] == [200] * 8
    assert list(backend.batch_sizes) == [8] and list(app.state.gankit.batcher.batches) == [8]
    assert [r.headers["x-seed"] for r in responses] == [str(s) for s in seeds]  # each response keeps its seed
    batched = np.stack([_npy(r.content)[0] for r in responses])
    # the same seeds one request at a time, no batching (max_batch 1): the same images, within 1 uint8 level
    alone_app = create_app(TorchBackend(gankit.load(gan_run)), Settings(max_batch=1, max_delay_ms=0))
    with TestClient(alone_app) as client:
        alone = np.stack([_npy(client.post("/v1/generate", json={"seed": s, "format": "npy"}).content)[0] for s in seeds])
    assert list(alone_app.state.gankit.batcher.batches) == [1] * 8
    assert np.abs(batched.astype(int) - alone.astype(int)).max() <= 1
    assert (batched == alone).mean() > 0.99


def test_batched_floats_equal_unbatched_within_1e_5(gan_run, cgan_run, style_run):
    from gankit.latent.truncation import truncated_noise

    for run in (gan_run, cgan_run, style_run):
        backend = TorchBackend(gankit.load(run))
        z = np.concatenate([truncated_noise(1, backend.signature["z_dim"], None, s).numpy() for s in range(8)])
        c = (np.arange(8) % 10).astype(np.int64) if backend.num_classes else None
        for psi in (1.0, 0.7):
            together = backend.generate(z, c, psi)
            apart = np.concatenate([backend.generate(z[i : i + 1], None if c is None else c[i : i + 1], psi) for i in range(8)])
            assert np.abs(together - apart).max() <= 1e-5, run.name


def test_requests_group_by_compatibility_and_split_at_max_batch(fake_backend):
    from gankit.latent.truncation import truncated_noise
    from gankit.serve.encode import to_uint8

    app = create_app(fake_backend, Settings(max_batch=8, max_delay_ms=400))
    bodies = [{"seed": i, "format": "npy", "truncation": 1.0 if i % 2 else 0.5} for i in range(8)]
    out = asyncio.run(_post_all(app, bodies))
    assert sorted(fake_backend.batch_sizes) == [4, 4]  # psi 1 and psi 0.5 never share a call
    for body, r in zip(bodies, out):  # and each got its own images back
        want = fake_backend.generate(truncated_noise(1, 4, None, body["seed"]).numpy(), None, body["truncation"])
        assert r.headers["x-seed"] == str(body["seed"]) and np.array_equal(_npy(r.content), to_uint8(want))
    fake_backend.batch_sizes.clear()
    asyncio.run(_post_all(app, [{"n": 3, "seed": i} for i in range(3)]))
    assert list(fake_backend.batch_sizes) == [6, 3]  # a third request of 3 would overflow 8: it waits for the next call
    fake_backend.batch_sizes.clear()
    r = asyncio.run(_post_all(app, [{"n": 20, "seed": 0, "format": "npy"}]))[0]
    assert list(fake_backend.batch_sizes) == [8, 8, 4] and _npy(r.content).shape == (20, 1, 4, 4)


async def _until(cond, timeout: float = 10.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def test_full_queue_answers_503_with_retry_after(fake_backend):
    app = create_app(fake_backend, Settings(max_n=4, max_steps=4, max_mix_seeds=1, max_queue=4, max_delay_ms=0))
    batcher = app.state.gankit.batcher
    fake_backend.gate.clear()

    async def scenario() -> tuple[httpx.Response, ...]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as client:
            held = asyncio.create_task(client.post("/v1/generate", json={"n": 1}))
            await _until(fake_backend.entered.is_set)  # the worker is inside the model, held on the gate
            queued = asyncio.create_task(client.post("/v1/generate", json={"n": 4}))
            await _until(lambda: batcher.queued == 4)  # the queue is full
            refused = await client.post("/v1/generate", json={"n": 1})
            metrics = (await client.get("/metrics")).text
            fake_backend.gate.set()
            return refused, await held, await queued, metrics

    refused, held, queued, metrics = asyncio.run(scenario())
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert "busy" in refused.json()["detail"] and "retry" in refused.json()["detail"]
    assert held.status_code == 200 and queued.status_code == 200  # nothing queued was lost
    assert 'gankit_rejected_total{reason="full"} 1.0' in metrics and "gankit_queue_depth 4.0" in metrics


def test_a_request_past_its_timeout_answers_504(fake_backend):
    app = create_app(fake_backend, Settings(timeout_s=0.3))
    fake_backend.gate.clear()
    t0 = time.monotonic()
    r = asyncio.run(_post_all(app, [{"n": 2}]))[0]
    assert r.status_code == 504 and "did not answer within 0.3 s" in r.json()["detail"]
    assert time.monotonic() - t0 < 5
    fake_backend.gate.set()


def test_drain_refuses_new_requests_and_finishes_queued_ones(fake_backend):
    app = create_app(fake_backend, Settings(max_delay_ms=0))
    batcher = app.state.gankit.batcher
    fake_backend.gate.clear()

    async def scenario() -> dict:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test", timeout=30) as client:
            assert (await client.get("/readyz")).status_code == 503  # no lifespan has started the worker yet
            running = asyncio.create_task(client.post("/v1/generate", json={"n": 1, "seed": 1}))
            await _until(fake_backend.entered.is_set)
            queued = asyncio.create_task(client.post("/v1/generate", json={"n": 2, "seed": 2}))
            await _until(lambda: batcher.queued == 2)
            ready = await client.get("/readyz")
            drained: list[bool] = []
            stopper = threading.Thread(target=lambda: drained.append(batcher.drain(timeout=20)))
            stopper.start()  # what the lifespan does on shutdown
            await _until(lambda: batcher.state == "draining")
            during = {"readyz": await client.get("/readyz"), "new": await client.post("/v1/generate", json={"n": 1})}
            fake_backend.gate.set()
            out = {"ready": ready, **during, "running": await running, "queued": await queued}
            await asyncio.to_thread(stopper.join, 20)
            return {**out, "drained": drained, "after": await client.post("/v1/generate", json={})}

    out = asyncio.run(scenario())
    assert out["ready"].status_code == 200
    assert out["readyz"].status_code == 503 and "draining" in out["readyz"].json()["detail"]
    assert out["new"].status_code == 503 and "shutting down" in out["new"].json()["detail"] and out["new"].headers["retry-after"]
    assert out["running"].status_code == 200 and out["queued"].status_code == 200  # in flight and queued both finished
    assert out["drained"] == [True] and batcher.state == "stopped" and out["after"].status_code == 503
    assert list(fake_backend.batch_sizes) == [1, 2]


def test_lifespan_starts_and_drains_the_worker(fake_backend):
    app = create_app(fake_backend)
    batcher = app.state.gankit.batcher
    with TestClient(app) as client:
        assert batcher.ready and client.get("/readyz").json()["status"] == "ready"
    assert batcher.state == "stopped" and not batcher.ready


def test_uvicorn_shutdown_signal_drains_the_request_in_flight(fake_backend):
    import signal
    import urllib.request

    import uvicorn

    from gankit.cli.serve import draining_server

    app = create_app(fake_backend)
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = draining_server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    fake_backend.gate.clear()
    result: dict = {}

    def call() -> None:
        req = urllib.request.Request(f"http://127.0.0.1:{port}/v1/generate", data=b'{"seed": 5}', headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            result.update(status=r.status, seed=r.headers["X-Seed"])

    client = threading.Thread(target=call)
    client.start()
    assert fake_backend.entered.wait(10)
    server.handle_exit(signal.SIGTERM, None)  # what uvicorn calls on SIGTERM / Ctrl-C
    assert app.state.gankit.batcher.state == "draining"
    fake_backend.gate.set()
    client.join(20)
    thread.join(20)
    assert result == {"status": 200, "seed": "5"} and not thread.is_alive()
    assert app.state.gankit.batcher.state == "stopped"


@pytest.mark.parametrize("delay_ms", [0.0, 50.0])
def test_a_lone_request_is_not_held_past_max_delay(fake_backend, delay_ms):
    app = create_app(fake_backend, Settings(max_batch=64, max_delay_ms=delay_ms))
    with TestClient(app) as client:
        client.post("/v1/generate", json={})  # warm
        t0 = time.monotonic()
        assert client.post("/v1/generate", json={"n": 2}).status_code == 200
        assert time.monotonic() - t0 < delay_ms / 1000 + 1.0
    assert list(fake_backend.batch_sizes) == [1, 2]
