"""The real server (uvicorn on 127.0.0.1, conftest's ``live_server``): concurrent clients over sockets
share one batch, every response keeps its seed, and the page and its files are served."""

from __future__ import annotations

import io
import json
import threading
import urllib.request

import numpy as np

import gankit
from gankit.serve.backend import TorchBackend


def _post(url: str, body: dict) -> tuple[dict, bytes]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return {k.lower(): v for k, v in r.headers.items()}, r.read()


def test_concurrent_socket_clients_share_a_batch(live_server, cgan_run):
    backend = TorchBackend(gankit.load(cgan_run))
    url = live_server(backend, max_batch=8, max_delay_ms=3000)
    seeds = [5, 17, 2, 9, 31, 0, 64, 8]
    results: dict[int, tuple[dict, bytes]] = {}

    def client(seed: int) -> None:
        results[seed] = _post(f"{url}/v1/generate", {"seed": seed, "class": seed % 10, "format": "npy"})

    threads = [threading.Thread(target=client, args=(s,)) for s in seeds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert list(backend.batch_sizes) == [8]
    g = gankit.load(cgan_run)
    for seed, (headers, body) in results.items():
        assert headers["x-seed"] == str(seed)  # no mixed-up responses
        got = np.load(io.BytesIO(body))
        assert np.abs(got.astype(int) - g.sample(1, seed=seed, classes=[seed % 10]).numpy()).max() <= 1


def test_page_and_static_files(live_server, gan_run):
    url = live_server(gan_run)
    with urllib.request.urlopen(f"{url}/", timeout=10) as r:
        page = r.read().decode()
        assert r.status == 200 and "<html" in page.lower()
    if "static/app.js" in page:  # the installed page (gankit/serve/web/) loads its script from /static
        with urllib.request.urlopen(f"{url}/static/app.js", timeout=10) as r:
            assert r.status == 200 and b"v1/generate" in r.read()
    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as r:
        assert json.loads(r.read()) == {"status": "ok"}
