"""``benchmarks/serve_load.py``'s core against the real app (conftest's ``live_server``) for about 2 s, so the
script cannot rot: its HTTP client, the checks of every answer (X-Seed, the reference images), the batch sizes
from /metrics, the report, and the overload verdict on a tiny queue."""

from __future__ import annotations

import asyncio
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "serve_load.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("serve_load_under_test", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_row_checks_every_answer_and_sees_batches(bench, live_server, gan_run):
    url = live_server(gan_run, max_batch=64, max_delay_ms=50)
    refs = asyncio.run(bench.references(url, bench.ref_seeds(8)))
    row = bench.run_row(url, 4, 1.0, refs=refs)
    assert set(row["status"]) == {200} and row["lost"] == {}, row
    asked = [s for s in refs if s - bench.SEED_BASE < row["requests"]]  # the reference seeds the row reached
    assert row["wrong_seed"] == 0 and row["mismatch"] == 0 and row["checked"] == len(asked) > 0, row
    assert row["images_per_s"] > 0 and 0 < row["p50"] <= row["p95"] <= row["p99"] < 30_000
    assert row["mean_batch"] > 1, row  # 4 clients inside one 50 ms window share a model call
    report = bench.table(bench.HEADERS, [bench.table_row("batching on", row)])
    assert report.count("\n") == 2 and "batching on" in report
    said = bench.verdicts({"batching on": [row]}, None, 1)
    assert any("every request answered 200" in v for v in said), said


def test_a_mixed_up_image_is_caught(bench, live_server, fake_cls):
    # the tiny trained run draws nearly the same image for every seed; the fake model's images follow z
    url = live_server(fake_cls(), max_batch=64, max_delay_ms=20)
    refs = asyncio.run(bench.references(url, bench.ref_seeds(8)))
    assert bench.blind_pairs(refs) == 0
    a, b = list(refs.values())[:2]
    assert bench.compare(a, a) == "exact" and bench.compare(a, b) == "mismatch" and bench.compare(a, b"junk") == "mismatch"
    x = np.load(io.BytesIO(a))
    x[..., 0, 0] = np.where(x[..., 0, 0] < 255, x[..., 0, 0] + 1, 254)
    buf = io.BytesIO()
    np.save(buf, x)
    assert bench.compare(buf.getvalue(), a) == "close"  # batching's rounding: within 1 grey level
    row = bench.run_row(url, 4, 0.5, refs=refs)
    assert row["checked"] > 0 and row["mismatch"] == 0 and row["wrong_seed"] == 0, row
    swapped = dict(zip(refs, [refs[s] for s in list(refs)[1:] + list(refs)[:1]]))  # every reference another seed's
    row = bench.run_row(url, 4, 0.5, refs=swapped)
    assert row["mismatch"] == row["checked"] > 0, row


def test_overload_answers_only_503_with_retry_after(bench, live_server, gan_run):
    # the oldest request waits 300 ms for company while the 4-image queue is full: the other clients get 503s
    url = live_server(gan_run, max_batch=64, max_delay_ms=300, max_queue=4, max_n=1, max_steps=2, max_mix_seeds=1)
    row = bench.run_row(url, 12, 1.0, backoff_s=0.02)
    ok, what = bench.overload_ok(row)
    assert ok and row["status"].get(503, 0) > 0, what
