"""Tiny trained runs of each model family, apps on them, a fake backend that blocks on demand, and
``live_server``: the real app under uvicorn on 127.0.0.1 (a free port, in a thread) for HTTP and
browser tests.

    def test_page(live_server, cgan_run):
        url = live_server(cgan_run)                     # "http://127.0.0.1:PORT"
        url = live_server(inpaint_run, max_batch=8)     # Settings fields as keywords
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pytest

from gankit.config import load_config
from gankit.serve.backend import Backend, TorchBackend
from gankit.train.engine import train

SMALL = ["train.max_minutes=null", "train.max_steps=2", "train.batch_size=4", "log.log_every=1", "log.eval_every=1000",
         "log.ckpt_every=1000", "log.progress=false", "log.tensorboard=false"]  # fmt: skip
NETS4 = ["model.generator.base_channels=4", "model.discriminator.base_channels=4"]
STYLE = ["task=stylegan2", "model.z_dim=8", "model.generator={name: stylegan2, w_dim: 8, mapping_layers: 1, max_channels: 8, min_channels: 4}",
         "model.discriminator={name: stylegan2, max_channels: 8, min_channels: 4}"]  # fmt: skip


def _train(recipe: str, root: Path, name: str, tiny_idx: Path, *extra: str) -> Path:
    cfg = load_config(f"configs/{recipe}.yaml", [f"data.root={tiny_idx}", *SMALL, *extra])
    return train(cfg, root / name, hooks=[]).run_dir


@pytest.fixture(scope="session")
def serve_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("serve_runs")


@pytest.fixture(scope="session")
def gan_run(serve_root, tiny_idx) -> Path:
    """Unconditional DCGAN, 1 x 28 x 28, z_dim 8."""
    return _train("dcgan_fashion_mnist", serve_root, "gan", tiny_idx, *NETS4, "model.z_dim=8")


@pytest.fixture(scope="session")
def cgan_run(serve_root, tiny_idx) -> Path:
    """Class-conditional DCGAN (10 classes), z_dim 8."""
    return _train("cgan_fashion_mnist", serve_root, "cgan", tiny_idx, *NETS4, "model.z_dim=8", "regularizers=[]")


@pytest.fixture(scope="session")
def style_run(serve_root, tiny_idx) -> Path:
    """A tiny StyleGAN2 (style mixing, truncation in w)."""
    return _train("dcgan_fashion_mnist", serve_root, "style", tiny_idx, *STYLE)


@pytest.fixture(scope="session")
def sr_run(serve_root, tiny_idx) -> Path:
    """SRResNet x2: 14 x 14 -> 28 x 28, any size."""
    return _train("srresnet_fmnist_2x", serve_root, "sr", tiny_idx, *NETS4, "model.generator.n_blocks=1")


@pytest.fixture(scope="session")
def inpaint_run(serve_root, tiny_idx) -> Path:
    return _train("inpaint_fmnist", serve_root, "inpaint", tiny_idx, *NETS4)


@pytest.fixture(scope="session")
def stargan_run(serve_root, tiny_idx) -> Path:
    return _train("stargan_fmnist_domains", serve_root, "stargan", tiny_idx, *NETS4, "train.n_critic=1")


@pytest.fixture(scope="session")
def pix2pix_run(serve_root, tiny_idx) -> Path:
    return _train("pix2pix_edges2items", serve_root, "pix2pix", tiny_idx, *NETS4, "train.max_steps=1")


@pytest.fixture(scope="session")
def backends() -> Callable[[Path], TorchBackend]:
    """A cached TorchBackend per run (loading is the slow part of an app)."""
    import gankit

    cache: dict[Path, TorchBackend] = {}

    def get(run: Path) -> TorchBackend:
        if run not in cache:
            cache[run] = TorchBackend(gankit.load(run))
        return cache[run]

    return get


class FakeBackend(Backend):
    """A noise model whose images are a function of z alone (1 x 4 x 4), and whose calls can be held
    on ``gate`` (an Event) so tests can fill the queue, time a request out or drain mid-batch."""

    name = "fake"

    def __init__(self, z_dim: int = 4, num_classes: int = 0) -> None:
        super().__init__({"task": "gan", "z_dim": z_dim, "num_classes": num_classes, "input_shape": None,
                          "output_shape": [1, 4, 4], "value_range": [-1.0, 1.0], "output": "image"})  # fmt: skip
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()  # set when a call has started (and is maybe held)

    def info(self) -> dict[str, Any]:
        return {"signature": self.signature, "recipe": {"name": "fake", "description": ""}, "step": 0, "weights": "G",
                "metrics": None, "class_names": None, "backend": self.name}  # fmt: skip

    def generate(self, z: np.ndarray, c: np.ndarray | None, psi: float) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(timeout=30), "the test never opened the gate"
        self.batch_sizes.append(len(z))
        return np.tanh(psi * z[:, :1, None, None] * np.ones((1, 1, 4, 4), np.float32)).astype(np.float32)


@pytest.fixture(scope="session")
def fake_cls() -> type[FakeBackend]:
    """The FakeBackend class (test modules cannot import conftest under --import-mode=importlib)."""
    return FakeBackend


@pytest.fixture()
def fake_backend() -> FakeBackend:
    b = FakeBackend()
    yield b
    b.gate.set()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(backends) -> Callable[..., str]:
    """``live_server(run_or_backend, **settings) -> "http://127.0.0.1:PORT"``: the app under a real
    uvicorn in a thread; one server per (run, settings), all stopped (drained) at the session's end."""
    import urllib.request

    import uvicorn

    from gankit.cli.serve import draining_server
    from gankit.serve.app import create_app
    from gankit.serve.limits import Settings

    servers: dict[Any, tuple[str, Any, threading.Thread]] = {}

    def start(run: Path | Backend, **settings: Any) -> str:
        key = (str(run) if isinstance(run, Path) else id(run), tuple(sorted(settings.items())))
        if key in servers:
            return servers[key][0]
        backend = run if isinstance(run, Backend) else backends(Path(run))
        app = create_app(backend, Settings(**settings))
        port = _free_port()
        server = draining_server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
        thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError(f"the test server on {url} did not become ready in 20 s")
        servers[key] = (url, server, thread)
        return url

    yield start
    for _, server, thread in servers.values():
        server.should_exit = True
        thread.join(timeout=10)
