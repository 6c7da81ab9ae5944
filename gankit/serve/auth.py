"""Bearer-key authentication of ``/v1/*`` and the binding rule of ``gankit serve``.

The key comes from an environment variable (``--api-key-env VAR``), never from the command line,
where ``ps`` would show it. It is compared with :func:`hmac.compare_digest` so the time of a refusal
does not reveal how much of a guess was right. The page, ``/healthz``, ``/readyz``, ``/metrics`` and
the OpenAPI docs stay open: probes and the page itself must load without the key.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
from typing import Any, Awaitable, Callable

PROTECTED_PREFIX = "/v1/"


def key_from_env(var: str | None) -> str | None:
    """The API key in ``$VAR`` (None without ``--api-key-env``); a clear error if it is unset or empty."""
    from gankit.errors import ConfigError

    if var is None:
        return None
    key = os.environ.get(var, "")
    if not key.strip():
        raise ConfigError(f"--api-key-env {var}: the environment variable {var} is unset or empty; "
                          f"set it to a long random key first (e.g. `export {var}=$(openssl rand -hex 32)`).")  # fmt: skip
    return key.strip()


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to a public interface


def binding_warning(host: str, key: str | None) -> str | None:
    """The warning ``gankit serve`` prints when it would expose an open model to the network."""
    if key is None and not is_loopback(host):
        return (f"warning: serving on {host} without an API key: anyone who can reach this address can use the model. "
                "Pass --api-key-env VAR (with the key in $VAR), or bind to 127.0.0.1 behind a proxy that authenticates.")  # fmt: skip
    return None


def check_bearer(header: str | None, key: str) -> str | None:
    """None when ``Authorization`` carries the key, else the message of the 401."""
    if not header:
        return "this server needs an API key: send the header `Authorization: Bearer <key>`."
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "the Authorization header must be `Bearer <key>`."
    if not hmac.compare_digest(token.strip().encode("utf-8", "surrogateescape"), key.encode("utf-8")):
        return "the API key is wrong: send `Authorization: Bearer <key>` with the key the server was started with."
    return None


class BearerAuth:
    """ASGI middleware: every ``/v1/*`` request needs the key, checked before any body is read."""

    def __init__(self, app: Any, key: str) -> None:
        self.app, self.key = app, key

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[..., Awaitable[None]]) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PROTECTED_PREFIX):
            raw = dict(scope.get("headers") or []).get(b"authorization")
            problem = check_bearer(raw.decode("latin-1") if raw is not None else None, self.key)
            if problem is not None:
                body = json.dumps({"detail": problem}).encode()
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                        (b"www-authenticate", b'Bearer realm="gankit"')]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
