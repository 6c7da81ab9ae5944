"""Load test of ``gankit serve``: concurrent n = 1 clients against the real server on 127.0.0.1, micro-batching on and off.

For each mode -- batching on (``--max-batch 64 --max-delay-ms 5``, the server's defaults) and off (``--max-batch 1``) --
the script starts ``gankit serve RUN`` as a subprocess on a free loopback port, waits for ``/readyz``, fetches the
reference image of ``--refs`` seeds one request at a time, then for each client count runs that many concurrent
clients for ``--seconds``. The clients are asyncio tasks in this one process, each with its own keep-alive
HTTP/1.1 connection (a small client on asyncio streams: httpx.AsyncClient used more CPU than the server); each
sends ``{"n": N, "seed": s, "format": "npy"}`` with a seed no other request of the row uses, and its next request
when the answer has come. Every 200 is checked: ``X-Seed`` must be the seed asked for, and an answer for a
reference seed must hold the reference image (the same bytes, or within 1 grey level: the batch size changes the
convolutions' rounding, docs/serve.md) -- so a mixed-up response is caught. ``/metrics`` is scraped before and after
each row: the mean batch size the model saw. Last, the overload row: a server with ``--max-queue`` small and twice
the clients it can hold (its queue plus one batch); a client waits 50 ms after a refusal. The only non-200 answers
allowed there are 503 with Retry-After, and every request must get an answer.

Targets (issue 13): at 32 clients batching gives >= 3x the images/s of no batching; p99 < 1 s for n = 1 at 32
clients with the default recipe on 2 CPU cores; under overload only 503s: no 500s, no lost or mixed-up responses.

    python benchmarks/serve_load.py [--run RUN] [--clients 1,8,32,128] [--seconds 10] [--note "..."]
    python benchmarks/serve_load.py --smoke      # 1 and 4 clients, 2 s each; prints, writes nothing

Without ``--run`` it trains the default recipe (``configs/dcgan_fashion_mnist.yaml``) for ``--train-minutes`` into
runs/bench-serve/run once, and reuses it. Every request has a timeout, servers are stopped in ``finally`` and every
row is bounded, so the script stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _http_client import Conn  # noqa: E402
from _report import table, write_section  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "configs" / "dcgan_fashion_mnist.yaml"
DEFAULT_RUN = ROOT / "runs" / "bench-serve" / "run"
SEED_BASE = 1_000_000  # request g of a row asks for seed SEED_BASE + g
REF_STRIDE = 4  # every 4th seed of a row has a reference image
SERVER_TIMEOUT_S = 30.0  # the server's --timeout-s (504 past it); the client waits 5 s more
MODES = {"batching on": {"max_batch": 64, "max_delay_ms": 5.0}, "batching off": {"max_batch": 1, "max_delay_ms": 5.0}}
HEADERS = ["mode", "clients", "requests", "images/s", "p50 ms", "p95 ms", "p99 ms", "errors", "lost", "wrong X-Seed",
           "checked (±1 level)", "mixed up", "mean batch", "client CPU", "server CPU"]  # fmt: skip


# --- the server --------------------------------------------------------------------------------------------------
def gankit_cmd() -> list[str]:
    script = Path(sys.executable).parent / "gankit"
    return [str(script)] if script.exists() else [sys.executable, "-c", "import sys; from gankit.cli import main; sys.exit(main())"]


def threads_env(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}


def ensure_run(run: str | None, minutes: float, threads: int) -> Path:
    """``--run``, or the default recipe trained once for ``minutes`` into runs/bench-serve/run (reused after)."""
    if run:
        return Path(run)
    if any((DEFAULT_RUN / "checkpoints").glob("*/state.json")):
        print(f"reusing {DEFAULT_RUN}", flush=True)
        return DEFAULT_RUN
    if DEFAULT_RUN.exists():
        shutil.rmtree(DEFAULT_RUN)  # an interrupted training of ours: no checkpoint in it
    sets = [f"train.max_minutes={minutes}", "train.max_steps=null", "log.eval_every=100000000", "log.progress=false",
            "log.tensorboard=false"]  # fmt: skip
    cmd = [*gankit_cmd(), "train", str(RECIPE), "--out", str(DEFAULT_RUN), *itertools.chain(*(["--set", s] for s in sets))]
    print(f"training the default recipe for {minutes:g} min into {DEFAULT_RUN} ...", flush=True)
    subprocess.run(cmd, check=True, env=threads_env(threads), timeout=minutes * 60 + 600, stdout=subprocess.DEVNULL)
    return DEFAULT_RUN


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(run: Path, max_batch: int, max_delay_ms: float, max_queue: int = 1024, threads: int = 1,
            ready_s: float = 180.0) -> Iterator[tuple[str, int]]:  # fmt: skip
    """``gankit serve RUN`` on 127.0.0.1 and a free port: yields (url, pid) once /readyz answers 200; stopped after."""
    port = free_port()
    cmd = [*gankit_cmd(), "serve", str(run), "--host", "127.0.0.1", "--port", str(port), "--max-batch", str(max_batch),
           "--max-delay-ms", str(max_delay_ms), "--max-queue", str(max_queue), "--timeout-s", str(SERVER_TIMEOUT_S),
           "--log-level", "warning"]  # fmt: skip
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=threads_env(threads))
        try:
            url, deadline = f"http://127.0.0.1:{port}", time.monotonic() + ready_s
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    tail = log.read().decode(errors="replace")[-3000:]
                    raise RuntimeError(f"`{' '.join(cmd)}` did not become ready (exit {proc.poll()}):\n{tail}")
                try:
                    with urllib.request.urlopen(f"{url}/readyz", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    time.sleep(0.2)
            yield url, proc.pid
        finally:
            proc.terminate()  # SIGTERM: the server drains, then exits
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def proc_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) of a process so far, from /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, TypeError):
        return None


def batch_stats(metrics_text: str) -> tuple[float, float]:
    """(sum, count) of the ``gankit_batch_size`` histogram in Prometheus text."""
    vals = {}
    for line in metrics_text.splitlines():
        if line.startswith(("gankit_batch_size_sum ", "gankit_batch_size_count ")):
            name, value = line.split()
            vals[name] = float(value)
    return vals.get("gankit_batch_size_sum", 0.0), vals.get("gankit_batch_size_count", 0.0)


# --- the clients: _http_client.Conn ---------------------------------------------------------------------------
def ref_seeds(count: int) -> list[int]:
    return [SEED_BASE + REF_STRIDE * i for i in range(count)]


async def references(url: str, seeds: list[int], n: int = 1) -> dict[int, bytes]:
    """The npy bytes of each seed, fetched one request at a time (so each ran alone)."""
    out, conn = {}, Conn(url)
    try:
        for s in seeds:
            status, headers, body = await conn.generate(s, n)
            if status != 200 or headers.get("x-seed") != str(s):
                raise RuntimeError(f"reference seed {s}: HTTP {status}, X-Seed {headers.get('x-seed')}: {body[:200]!r}")
            out[s] = body
    finally:
        conn.close()
    return out


async def scrape(url: str) -> tuple[float, float]:
    conn = Conn(url, timeout_s=10)
    try:
        return batch_stats((await conn.request("GET", "/metrics"))[2].decode())
    finally:
        conn.close()


def compare(body: bytes, ref: bytes) -> str:
    """``exact``, ``close`` (same shape, every pixel within 1 level) or ``mismatch``."""
    if body == ref:
        return "exact"
    try:
        a, b = np.load(io.BytesIO(body)), np.load(io.BytesIO(ref))
    except (ValueError, OSError, EOFError):
        return "mismatch"
    if a.shape != b.shape or a.dtype != b.dtype:
        return "mismatch"
    return "close" if int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max()) <= 1 else "mismatch"


def blind_pairs(refs: dict[int, bytes]) -> int:
    """Neighbouring reference seeds whose images :func:`compare` cannot tell apart (0: the image check is meaningful)."""
    imgs = list(refs.values())
    return sum(compare(a, b) != "mismatch" for a, b in zip(imgs, imgs[1:]))


async def load(url: str, clients: int, seconds: float, n: int = 1, refs: dict[int, bytes] | None = None,
               backoff_s: float = 0.0, timeout_s: float = SERVER_TIMEOUT_S + 5, pid: int | None = None) -> dict[str, Any]:  # fmt: skip
    """``clients`` concurrent closed-loop clients (one connection each) for ``seconds``: what they saw, and what
    /metrics says. A request that gets no answer (timeout, reset) is lost; its client reconnects and goes on."""
    refs = refs or {}
    seeds, lat, status, lost, check = itertools.count(SEED_BASE), [], Counter(), Counter(), Counter()
    tally = {"started": 0, "finished": 0, "wrong_seed": 0, "no_retry_after": 0}
    conns = [Conn(url, timeout_s) for _ in range(clients)]
    await asyncio.gather(*(c.connect() for c in conns), return_exceptions=True)  # failures: retried by the first request
    sum0, count0 = await scrape(url)
    cpu0, srv0, t0 = time.process_time(), proc_cpu(pid), time.perf_counter()
    stop = t0 + seconds

    async def one_client(conn: Conn) -> None:
        while time.perf_counter() < stop:
            seed = next(seeds)
            tally["started"] += 1
            t = time.perf_counter()
            try:
                code, headers, body = await conn.generate(seed, n)
            except Conn.LOST as e:
                tally["finished"] += 1
                lost[type(e).__name__] += 1
                continue
            tally["finished"] += 1
            status[code] += 1
            if code == 200:
                lat.append(time.perf_counter() - t)
                tally["wrong_seed"] += headers.get("x-seed") != str(seed)
                if seed in refs:
                    check[compare(body, refs[seed])] += 1
            else:
                tally["no_retry_after"] += code == 503 and "retry-after" not in headers
                if backoff_s:
                    await asyncio.sleep(backoff_s)

    tasks = [asyncio.ensure_future(one_client(c)) for c in conns]
    try:
        done, pending = await asyncio.wait(tasks, timeout=seconds + timeout_s + 10)
        for task in pending:  # cannot happen with per-request timeouts; counted as lost if it does
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for c in conns:
            c.close()
    wall = time.perf_counter() - t0
    cpu, srv = time.process_time() - cpu0, proc_cpu(pid)
    sum1, count1 = await scrape(url)
    for task in done:
        if task.exception() is not None:
            raise task.exception()
    if tally["started"] > tally["finished"]:
        lost["unfinished"] += tally["started"] - tally["finished"]
    q = [float(v) for v in np.percentile(lat, [50, 95, 99]) * 1000] if lat else [None] * 3
    return {"clients": clients, "seconds": wall, "requests": tally["started"], "images_per_s": status[200] * n / wall,
            "p50": q[0], "p95": q[1], "p99": q[2], "status": dict(status), "lost": dict(lost),
            "wrong_seed": tally["wrong_seed"], "no_retry_after": tally["no_retry_after"], "checked": sum(check.values()),
            "close": check["close"], "mismatch": check["mismatch"],
            "mean_batch": (sum1 - sum0) / (count1 - count0) if count1 > count0 else None,
            "client_cpu": cpu / wall, "server_cpu": None if srv is None or srv0 is None else (srv - srv0) / wall}  # fmt: skip


def run_row(url: str, clients: int, seconds: float, **kw: Any) -> dict[str, Any]:
    return asyncio.run(load(url, clients, seconds, **kw))


# --- the report --------------------------------------------------------------------------------------------------
def errors_of(row: dict) -> dict[int, int]:
    return {s: c for s, c in row["status"].items() if s != 200}


def mixed_up(row: dict) -> int:
    return row["wrong_seed"] + row["mismatch"]


def table_row(mode: str, r: dict) -> list[object]:
    errs = ", ".join(f"{c} × {s}" for s, c in sorted(errors_of(r).items())) or "0"
    return [mode, r["clients"], r["requests"], r["images_per_s"], r["p50"], r["p95"], r["p99"], errs, sum(r["lost"].values()) or 0,
            r["wrong_seed"], f"{r['checked']} ({r['close']})", r["mismatch"], r["mean_batch"],
            f"{100 * r['client_cpu']:.0f} %", None if r["server_cpu"] is None else f"{100 * r['server_cpu']:.0f} %"]  # fmt: skip


def overload_ok(r: dict) -> tuple[bool, str]:
    """Only 503s (each with Retry-After) besides 200s, none lost, none mixed up -- and 503s did happen."""
    errs, lost = errors_of(r), sum(r["lost"].values())
    bad = {s: c for s, c in errs.items() if s != 503}
    ok = not bad and lost == 0 and mixed_up(r) == 0 and r["no_retry_after"] == 0
    what = (f"{r['status'].get(200, 0)} × 200, {errs.get(503, 0)} × 503 ({r['no_retry_after']} without Retry-After), "
            f"other statuses {bad or 'none'}, {lost} lost, {mixed_up(r)} mixed up")  # fmt: skip
    return ok and errs.get(503, 0) > 0, what + ("" if errs.get(503, 0) else " -- the queue never filled: overload not reached")


def verdicts(rows: dict[str, list[dict]], overload: dict | None, n: int) -> list[str]:
    def ms(v: float | None) -> str:
        return "no 200s" if v is None else f"{v:.0f} ms"

    out, at = [], {m: {r["clients"]: r for r in rs} for m, rs in rows.items()}
    on, off = at.get("batching on", {}), at.get("batching off", {})
    if 32 in on and 32 in off:
        ratio = on[32]["images_per_s"] / max(off[32]["images_per_s"], 1e-9)
        out.append(f"32 clients: batching {on[32]['images_per_s']:.0f} images/s vs no batching {off[32]['images_per_s']:.0f}, "
                   f"{ratio:.2f}x (target ≥ 3x, {'met' if ratio >= 3 else 'missed'}).")  # fmt: skip
        p99 = on[32]["p99"]
        out.append(f"p99 at 32 clients, n = {n}, batching on (the default): {ms(p99)} (target < 1000 ms, "
                   f"{'met' if p99 is not None and p99 < 1000 else 'missed'}); batching off: {ms(off[32]['p99'])}.")  # fmt: skip
    else:
        out.append("32 clients not in --clients: the throughput and p99 targets were not measured.")
    for m, by in at.items():
        under = [c for c, r in sorted(by.items()) if r["p99"] is not None and r["p99"] < 1000]
        out.append(f"{m}: p99 < 1 s at {', '.join(map(str, under)) or 'no'} clients.")
    bad = [f"{m} {r['clients']}" for m, rs in rows.items() for r in rs if errors_of(r) or r["lost"] or mixed_up(r)]
    out.append(f"Rows below overload: {'errors, lost or mixed-up responses in ' + ', '.join(bad) if bad else 'every request answered 200 with its own seed and image'}.")
    if overload is not None:
        ok, what = overload_ok(overload)
        out.append(f"Overload ({overload['clients']} clients): {what} (target: only 503s, {'met' if ok else 'missed'}).")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", help="run folder to serve (default: train the default recipe once into runs/bench-serve/run)")
    ap.add_argument("--train-minutes", type=float, default=2.0)
    ap.add_argument("--clients", default="1,8,32,128", help="comma list of concurrent client counts")
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each row")
    ap.add_argument("--n", type=int, default=1, help="images per request")
    ap.add_argument("--refs", type=int, default=512, help="seeds with a reference image (every 4th seed of a row from the first)")
    ap.add_argument("--overload-queue", type=int, default=81, help="--max-queue of the overload server (81: the smallest gankit serve takes)")
    ap.add_argument("--overload-clients", type=int, help="default: 2 x (queue + one batch of 64)")
    ap.add_argument("--server-threads", type=int, default=1, help="OMP_NUM_THREADS of the server (the client uses the other core)")
    ap.add_argument("--smoke", action="store_true", help="1 and 4 clients for 2 s, 32 references; print only, write no docs")
    ap.add_argument("--note", default="", help="conditions of this run")
    args = ap.parse_args()
    clients = [1, 4] if args.smoke else [int(c) for c in args.clients.split(",") if c]
    seconds, n_refs = (2.0, 32) if args.smoke else (args.seconds, args.refs)
    over_clients = args.overload_clients or 2 * (args.overload_queue + MODES["batching on"]["max_batch"])
    run = ensure_run(args.run, args.train_minutes, args.server_threads)
    rows: dict[str, list[dict]] = {}
    blind = 0
    for mode, opts in MODES.items():
        with serving(run, threads=args.server_threads, **opts) as (url, pid):
            refs = asyncio.run(references(url, ref_seeds(n_refs), args.n))
            blind += blind_pairs(refs)
            for c in clients:
                r = run_row(url, c, seconds, n=args.n, refs=refs, pid=pid)
                rows.setdefault(mode, []).append(r)
                print(table(HEADERS, [table_row(mode, r)]).splitlines()[-1], flush=True)
    with serving(run, threads=args.server_threads, max_queue=args.overload_queue, **MODES["batching on"]) as (url, pid):
        refs = asyncio.run(references(url, ref_seeds(n_refs), args.n))
        overload = run_row(url, over_clients, seconds, n=args.n, refs=refs, pid=pid, backoff_s=0.05)
        print(table(HEADERS, [table_row("overload", overload)]).splitlines()[-1], flush=True)
    cells = [table_row(m, r) for m, rs in rows.items() for r in rs] + [table_row(f"overload (queue {args.overload_queue})", overload)]
    body = (
        f"`gankit serve` of `{run.relative_to(ROOT) if run.is_relative_to(ROOT) else run}` (torch backend, server "
        f"OMP_NUM_THREADS={args.server_threads}) as a subprocess on 127.0.0.1; for each row, that many closed-loop clients "
        "(asyncio tasks in one process on the same machine, one keep-alive HTTP/1.1 connection each, a minimal client on "
        f"asyncio streams) for {seconds:g} s, each request "
        f"`{{\"n\": {args.n}, \"format\": \"npy\"}}` with its own seed. Batching on: `--max-batch 64 --max-delay-ms 5` (the "
        "defaults); off: `--max-batch 1`. Overload: batching on, `--max-queue "
        f"{args.overload_queue}`, {over_clients} clients (twice its queue plus one batch), 50 ms pause after a refusal. "
        "Latency: of the 200s, send to last byte. `errors`: non-200 answers by status; `lost`: requests with no answer "
        "(client timeout 35 s, the server's 30 s + 5); `wrong X-Seed`: a 200 whose X-Seed is not the seed asked for; "
        f"`checked`: 200s for one of the {n_refs} reference seeds (every {REF_STRIDE}th seed from the row's first, fetched "
        "one at a time from the same server before the rows) compared with the reference, in brackets those within 1 grey "
        "level but not identical (a batch size changes the convolutions' rounding); `mixed up`: checked images that differ "
        "more. `mean batch`: images per model call in the row, from the server's `gankit_batch_size` histogram. CPU: the "
        "client's and the server's processes, in percent of one core, over the row.\n\n"
        + (f"**Conditions of this run:** {args.note}\n\n" if args.note else "")
        + table(HEADERS, cells) + "\n\n" + "\n".join(f"- {v}" for v in verdicts(rows, overload, args.n))
        + (f"\n- **{blind} pairs of neighbouring reference seeds had images within 1 level of each other**: the image "
           "check cannot tell those seeds apart (X-Seed still can)." if blind else "")
    )  # fmt: skip
    print(body)
    if not args.smoke:
        print("wrote", write_section("Serving under load (benchmarks/serve_load.py)", body, omit=("--note",)))


if __name__ == "__main__":
    main()
