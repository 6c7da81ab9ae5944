"""Micro-batching: requests from concurrent clients wait in one bounded queue and run together.

One worker thread per model takes the oldest request, then gathers the queued requests that can
share a model call (the same compatibility ``key``: operation, psi, conditioning, image size ...)
until they hold ``max_batch`` images or the oldest has waited ``max_delay_ms``. It runs them as one
batch (in chunks of ``max_batch`` rows when a single request is larger) and splits the output back,
in order. The model therefore never runs on two threads at once, and the event loop never runs it.

The queue is bounded in images: a request that would overflow it is refused at once (503 with
Retry-After), never left to wait. :meth:`Batcher.drain` (on shutdown) refuses new requests, lets the
queued ones finish, then stops the worker.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable, Hashable

import numpy as np


class QueueFull(Exception):
    """The queue holds too many images to take this request; retry after ``retry_after`` seconds."""

    def __init__(self, queued: int, capacity: int, retry_after: int) -> None:
        super().__init__(f"the server is busy: {queued} images are queued (capacity {capacity}); retry in {retry_after} s.")
        self.retry_after = retry_after


class Draining(Exception):
    """The server is shutting down (or its worker has stopped) and takes no new requests."""


Inputs = dict[str, "np.ndarray | None"]


@dataclass(eq=False)
class Job:
    """One request: ``n`` rows of ``inputs`` (each array's first axis), run by ``run`` on a batch."""

    key: Hashable
    n: int
    inputs: Inputs
    run: Callable[[Inputs], np.ndarray]
    splittable: bool = True  # False: run alone and whole (a style-mix grid)
    future: Future = field(default_factory=Future)
    enqueued: float = field(default_factory=time.monotonic)


class Batcher:
    """The queue and its one worker. States: new -> running -> draining -> stopped."""

    def __init__(self, max_batch: int, max_delay_ms: float, max_queue: int, model_batch: int | None = None,
                 on_batch: Callable[[int, float], None] | None = None, on_depth: Callable[[int], None] | None = None) -> None:  # fmt: skip
        self.max_batch = max_batch if model_batch is None else min(max_batch, model_batch)
        self.max_delay = max_delay_ms / 1000.0
        self.max_queue = max_queue
        self.on_batch, self.on_depth = on_batch, on_depth
        self.batches: deque[int] = deque(maxlen=100_000)  # images per model call, in order
        self._jobs: deque[Job] = deque()
        self._queued = 0  # images waiting (not yet taken by the worker)
        self._busy = False
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None
        self._seconds_per_batch = 0.05  # running estimate, for Retry-After
        self.state = "new"

    # --- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker (again, after a drain: an app whose lifespan runs twice serves twice)."""
        with self._cv:
            if self.state == "stopped" and self._thread is not None:
                self._thread.join(timeout=5)
            if self.state in ("new", "stopped"):
                self._start_locked()

    def _start_locked(self) -> None:
        self.state = "running"
        self._thread = threading.Thread(target=self._loop, name="gankit-serve-worker", daemon=True)
        self._thread.start()

    @property
    def ready(self) -> bool:
        return self.state == "running" and self._thread is not None and self._thread.is_alive()

    @property
    def queued(self) -> int:
        return self._queued

    def begin_drain(self) -> None:
        """Refuse new requests from now on; the queued ones still run."""
        with self._cv:
            if self.state in ("new", "running"):
                self.state = "draining" if self._thread is not None else "stopped"
            self._cv.notify_all()

    def drain(self, timeout: float) -> bool:
        """Refuse new requests, wait (up to ``timeout`` s) for the queued ones, stop the worker.
        Returns False when requests were still queued at the deadline (they get Draining)."""
        self.begin_drain()
        deadline = time.monotonic() + timeout
        with self._cv:
            while (self._jobs or self._busy) and time.monotonic() < deadline:
                self._cv.wait(timeout=max(0.0, deadline - time.monotonic()))
            left = list(self._jobs)
            self._jobs.clear()
            self._queued = 0
            self.state = "stopped"
            self._cv.notify_all()
        for job in left:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(Draining("the server shut down before this request ran."))
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=max(0.0, deadline - time.monotonic()) + 1.0)
        self._depth()
        return not left

    # --- requests ------------------------------------------------------------------------------
    def submit(self, job: Job) -> Future:
        """Queue a job (starting the worker on first use); QueueFull / Draining when it cannot wait."""
        with self._cv:
            if self.state == "new":
                self._start_locked()
            if self.state != "running":
                raise Draining("the server is shutting down and takes no new requests; retry on another instance.")
            if self._queued + job.n > self.max_queue:
                raise QueueFull(self._queued, self.max_queue, self.retry_after())
            self._jobs.append(job)
            self._queued += job.n
            self._cv.notify_all()
        self._depth()
        return job.future

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained: its batches at the recent time per batch."""
        return max(1, math.ceil(self._queued / self.max_batch * self._seconds_per_batch))

    def _depth(self) -> None:
        if self.on_depth is not None:
            self.on_depth(self._queued)

    # --- the worker ----------------------------------------------------------------------------
    def _take(self) -> list[Job] | None:
        """The next batch (called with the lock held): waits for compatible jobs up to the deadline."""
        while True:
            self._drop_cancelled()
            if self._jobs:
                break
            if self.state == "stopped":
                return None
            self._cv.wait()
        first = self._jobs[0]
        deadline = first.enqueued + self.max_delay
        while True:
            self._drop_cancelled()
            if not self._jobs or self._jobs[0] is not first:  # the first was cancelled: start over
                return []
            chosen, total = self._compatible(first)
            full = total >= self.max_batch or not first.splittable
            if full or time.monotonic() >= deadline or self.state != "running":
                for job in chosen:
                    self._jobs.remove(job)
                    self._queued -= job.n
                return chosen
            self._cv.wait(timeout=max(0.0, deadline - time.monotonic()))

    def _compatible(self, first: Job) -> tuple[list[Job], int]:
        chosen, total = [first], first.n
        if not first.splittable:
            return chosen, total
        for job in list(self._jobs)[1:]:
            if total >= self.max_batch:
                break
            if job.key == first.key and job.splittable:
                if total + job.n > self.max_batch:
                    total = self.max_batch  # the next one would overflow: the batch is as full as it gets
                    break
                chosen.append(job)
                total += job.n
        return chosen, total

    def _drop_cancelled(self) -> None:
        for job in [j for j in self._jobs if j.future.cancelled()]:
            self._jobs.remove(job)
            self._queued -= job.n

    def _loop(self) -> None:
        while True:
            with self._cv:
                jobs = self._take()
                if jobs is None:
                    return
                self._busy = bool(jobs)
            self._depth()
            try:
                live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
                if live:
                    self._run(live)
            except BaseException as e:  # noqa: BLE001 - the worker must outlive any one batch
                for j in jobs:
                    if j.future.running():
                        j.future.set_exception(e)
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()

    def _run(self, jobs: list[Job]) -> None:
        run = jobs[0].run
        try:
            if not jobs[0].splittable:
                out = self._timed(run, jobs[0].inputs, jobs[0].n)
                jobs[0].future.set_result(out)
                return
            names = list(jobs[0].inputs)
            inputs = {k: None if jobs[0].inputs[k] is None else np.concatenate([j.inputs[k] for j in jobs]) for k in names}
            total = sum(j.n for j in jobs)
            outs = []
            for i in range(0, total, self.max_batch):
                part = {k: None if v is None else v[i : i + self.max_batch] for k, v in inputs.items()}
                outs.append(self._timed(run, part, min(self.max_batch, total - i)))
            out = np.concatenate(outs)
        except BaseException as e:  # noqa: BLE001 - every request of the batch learns why
            for j in jobs:
                j.future.set_exception(e)
            return
        start = 0
        for j in jobs:
            j.future.set_result(out[start : start + j.n])
            start += j.n

    def _timed(self, run: Callable[[Inputs], np.ndarray], inputs: Inputs, n: int) -> np.ndarray:
        t0 = time.perf_counter()
        out = run(inputs)
        dt = time.perf_counter() - t0
        self._seconds_per_batch = 0.8 * self._seconds_per_batch + 0.2 * dt
        self.batches.append(n)
        if self.on_batch is not None:
            self.on_batch(n, dt)
        return out
