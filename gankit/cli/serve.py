"""``gankit serve RUN_OR_EXPORT [--host 127.0.0.1] [--port 8000] [--max-batch 64] [--max-delay-ms 5]
[--backend torch|onnxruntime] [--api-key-env VAR] [--max-n 64] [--max-queue 1024] [--timeout-s 30]``.

Runs the FastAPI app of :mod:`gankit.serve.app` under uvicorn. It binds to 127.0.0.1 unless told
otherwise, and warns when it would expose a model without a key. On SIGTERM / Ctrl-C it drains:
``/readyz`` turns 503 and new requests are refused at once, while queued ones finish.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(sub: Any, a: Any) -> None:
    p = sub.add_parser("serve", help="serve a run or an export over HTTP, with micro-batching and a web page")
    p.add_argument("run", metavar="RUN_OR_EXPORT", type=a.existing_dir("a run folder, checkpoint folder or export directory"),
                   help="run folder, checkpoint folder, or a `gankit export --format onnx` directory")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=a.integer(0, 65535, "(a TCP port)"), default=8000)
    p.add_argument("--max-batch", type=a.integer(1, 4096, "images"), default=64, help="images per model call (1: no batching)")
    p.add_argument("--max-delay-ms", type=a.real(0.0, 10_000.0), default=5.0,
                   help="how long the oldest request waits for others to share its batch")
    p.add_argument("--backend", choices=["torch", "onnxruntime"], default=None,
                   help="torch (a run) or onnxruntime (an export; a run is exported to a temp folder first). Default: by the path")
    p.add_argument("--api-key-env", metavar="VAR", help="require `Authorization: Bearer $VAR` on /v1/* (the key is read from $VAR)")
    p.add_argument("--max-n", type=a.integer(1, 4096, "images"), default=64, help="images per request")
    p.add_argument("--max-queue", type=a.integer(1, 1_000_000, "images"), default=1024, help="images waiting before 503")
    p.add_argument("--timeout-s", type=a.real(0.0, 3600.0, lo_open=True), default=30.0, help="per-request limit (504 past it)")
    p.add_argument("--log-level", choices=["critical", "error", "warning", "info", "debug"], default="info")
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from gankit.errors import ConfigError

    try:
        import fastapi  # noqa: F401
        import uvicorn
    except ImportError as e:
        raise ConfigError(f"gankit serve needs the serve extra ({e.name} is missing): pip install 'gankit[serve]'.") from None
    from gankit.serve.app import build_backend, create_app
    from gankit.serve.auth import binding_warning, key_from_env
    from gankit.serve.limits import Settings

    key = key_from_env(args.api_key_env)
    warning = binding_warning(args.host, key)
    if warning:
        print(f"gankit: {warning}", file=sys.stderr)
    settings = Settings(max_n=args.max_n, max_batch=args.max_batch, max_delay_ms=args.max_delay_ms, max_queue=args.max_queue,
                        timeout_s=args.timeout_s, api_key=key)  # fmt: skip
    backend = build_backend(args.run, args.backend)
    app = create_app(backend, settings)
    sig = backend.signature
    print(f"gankit: serving {sig['task']} ({backend.name}, capabilities {', '.join(backend.capabilities())}) from {args.run} "
          f"on http://{args.host}:{args.port} -- page at /, API at /docs; max batch {settings.max_batch}, "
          f"max delay {settings.max_delay_ms:g} ms{', API key required' if key else ''}", file=sys.stderr)  # fmt: skip
    server = draining_server(uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                                            timeout_graceful_shutdown=int(settings.timeout_s) + 5))  # fmt: skip
    server.run()
    return 0


def draining_server(config: Any) -> Any:
    """A uvicorn Server that starts draining the batcher on the first shutdown signal, before uvicorn
    stops accepting connections, so readyz and new requests answer 503 while queued work finishes."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            state = getattr(getattr(self.config.app, "state", None), "gankit", None)
            if state is not None:
                state.batcher.begin_drain()
            super().handle_exit(sig, frame)

    return Server(config)
