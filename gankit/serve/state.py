"""What the routes share: the backend, the batcher, the settings and metrics, and the one way a
request's work reaches the model (:meth:`ServeState.run`), with the queue's refusals and the
per-request timeout turned into 503 / 504 answers."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gankit.errors import ConfigError
from gankit.serve.backend import Backend
from gankit.serve.batcher import Batcher, Draining, Job, QueueFull
from gankit.serve.limits import ApiError, Settings
from gankit.serve.prom import Metrics

_ids = itertools.count()


@dataclass
class ServeState:
    backend: Backend
    settings: Settings
    batcher: Batcher
    metrics: Metrics
    models: Any
    card: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def run(self, job: Job) -> np.ndarray:
        """Queue a job and wait for its rows (503 when the queue cannot take it, 504 past the timeout)."""
        try:
            fut = self.batcher.submit(job)
        except QueueFull as e:
            self.metrics.rejected.labels("full").inc()
            raise ApiError(503, str(e), {"Retry-After": str(e.retry_after)}) from None
        except Draining as e:
            self.metrics.rejected.labels("draining").inc()
            raise ApiError(503, str(e), {"Retry-After": "5"}) from None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), timeout=self.settings.timeout_s)
        except asyncio.TimeoutError:
            fut.cancel()
            self.metrics.rejected.labels("timeout").inc()
            raise ApiError(504, f"the model did not answer within {self.settings.timeout_s:g} s (the queue is long or the "
                                "request is large); retry later or ask for fewer images.") from None  # fmt: skip
        except Draining as e:
            raise ApiError(503, str(e), {"Retry-After": "5"}) from None
        except RuntimeError as e:
            if job.key[0] == "translate":  # an input the network cannot take (its size)
                raise ApiError(422, f"the model could not run on this input ({str(e).splitlines()[0][:160]}).") from None
            raise

    # --- checks shared by the routes -----------------------------------------------------------
    def need_generator(self, what: str) -> None:
        if self.backend.is_translator:
            raise ApiError(400, f"{what}: this {self.backend.task} model translates images; POST an image to /v1/translate.")

    def classes(self, klass: int | None, n: int, every: bool) -> np.ndarray | None:
        """Labels for n samples: the class asked for, else every class in turn (``every``) or class 0."""
        k = self.backend.num_classes
        if not k:
            if klass is not None:
                raise ApiError(400, f"class: this {self.backend.task} model is unconditional; send \"class\": null.")
            return None
        if klass is not None and not 0 <= klass < k:
            raise ApiError(422, f"class: this model has classes 0..{k - 1}, got {klass}.")
        if klass is None:
            return (np.arange(n) % k).astype(np.int64) if every else np.zeros(n, np.int64)
        return np.full(n, klass, np.int64)

    async def generate(self, z: np.ndarray, c: np.ndarray | None, psi: float) -> np.ndarray:
        """Float outputs of the model for these latents (batched with other requests of the same psi)."""
        backend = self.backend
        job = Job(key=("generate", psi, c is not None), n=len(z), inputs={"z": z, "c": c},
                  run=lambda a: backend.generate(a["z"], a["c"], psi))  # fmt: skip
        return await self.run(job)

    async def seeded(self, n: int, seed: int, klass: int | None, psi: float) -> np.ndarray:
        """The images of seed ``seed``: ``truncated_noise(n, z_dim, None, seed)``, as `gankit sample --seed`."""
        from gankit.latent.truncation import truncated_noise

        z = truncated_noise(n, int(self.backend.signature["z_dim"]), None, seed).numpy()
        return await self.generate(z, self.classes(klass, n, every=True), psi)

    async def translate(self, x: np.ndarray, c: np.ndarray | None, mask: np.ndarray | None) -> np.ndarray:
        backend = self.backend
        job = Job(key=("translate", x.shape[1:], c is not None, mask is not None), n=len(x), inputs={"x": x, "c": c, "mask": mask},
                  run=lambda a: backend.translate(a["x"], a["c"], a["mask"]))  # fmt: skip
        return await self.run(job)

    async def style_mix(self, rows: list[int], cols: list[int], layers: str, klass: int | None) -> np.ndarray:
        backend = self.backend
        try:
            backend.check_style_mix(layers)
        except ConfigError as e:
            raise ApiError(400, str(e)) from None
        self.classes(klass, 1, every=False)
        job = Job(key=("style-mix", next(_ids)), n=(1 + len(rows)) * (1 + len(cols)), inputs={}, splittable=False,
                  run=lambda _: backend.style_mix(rows, cols, layers, klass))  # fmt: skip
        return await self.run(job)
