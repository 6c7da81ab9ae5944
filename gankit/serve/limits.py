"""The server's limits: its settings, a request-body cap enforced before and while reading, and
image uploads decoded within a bounded size.

Every refusal is an :class:`ApiError` (or FastAPI's ``HTTPException``) whose message says what was
expected, so a client never sees a traceback or a bare status code.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import numpy as np

MAX_SEED = 2**32 - 1  # what numpy and every torch generator accept (the CLI's bound too)
JSON_BODY_LIMIT = 64 * 1024  # a JSON request is a few hundred bytes; this leaves room for long seed lists
MULTIPART_OVERHEAD = 64 * 1024  # boundaries, part headers and the small form fields


class ApiError(Exception):
    """A refusal with an HTTP status and a message that says what was expected."""

    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


@dataclass(frozen=True)
class Settings:
    """What one server accepts. ``max_queue`` counts images (a request of n images takes n places)."""

    max_n: int = 64
    max_batch: int = 64
    max_delay_ms: float = 5.0
    max_queue: int = 1024
    timeout_s: float = 30.0
    max_upload_bytes: int = 4 * 1024 * 1024
    max_side: int = 512  # super-resolution / inpainting inputs of other sizes: each side at most this
    max_steps: int = 64  # interpolation frames
    max_mix_seeds: int = 8  # style-mix rows and columns each
    api_key: str | None = None

    def __post_init__(self) -> None:
        from gankit.errors import ConfigError

        checks = {"max_n": self.max_n >= 1, "max_batch": self.max_batch >= 1, "max_delay_ms": self.max_delay_ms >= 0,
                  "timeout_s": self.timeout_s > 0, "max_upload_bytes": self.max_upload_bytes >= 1024,
                  "max_side": self.max_side >= 8}  # fmt: skip
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"serve settings: {name} is out of range ({getattr(self, name)}).")
        biggest = max(self.max_n, self.max_steps, (1 + self.max_mix_seeds) ** 2)
        if self.max_queue < biggest:
            raise ConfigError(f"--max-queue {self.max_queue}: the queue must hold the largest request ({biggest} images: "
                              f"--max-n {self.max_n}, {self.max_steps} interpolation steps, a style-mix grid); give at least {biggest}.")  # fmt: skip
        if self.api_key is not None and len(self.api_key) < 8:
            raise ConfigError("the API key is shorter than 8 characters; use a long random string (e.g. `openssl rand -hex 32`).")

    def limits(self) -> dict[str, Any]:
        """The numbers a client needs (in ``GET /v1/model``)."""
        return {"max_n": self.max_n, "max_upload_bytes": self.max_upload_bytes, "max_batch": self.max_batch,
                "max_delay_ms": self.max_delay_ms, "max_queue": self.max_queue, "timeout_s": self.timeout_s,
                "max_side": self.max_side, "max_steps": self.max_steps, "max_mix_seeds": self.max_mix_seeds}  # fmt: skip


def _mb(n: int) -> str:
    return f"{n / 2**20:g} MB ({n:,} bytes)"


async def _send_json(send: Callable[..., Awaitable[None]], status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """ASGI middleware: refuse a body over the limit by its Content-Length before reading it, and stop
    reading a chunked (or lying) body as soon as it passes the limit, so no upload fills memory or disk."""

    def __init__(self, app: Any, settings: Settings) -> None:
        self.app, self.settings = app, settings

    def limit_for(self, path: str) -> int:
        if path == "/v1/translate":  # an image and a mask, each up to max_upload_bytes
            return 2 * self.settings.max_upload_bytes + MULTIPART_OVERHEAD
        return JSON_BODY_LIMIT

    async def __call__(self, scope: dict, receive: Callable[[], Awaitable[dict]], send: Callable[..., Awaitable[None]]) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        what = "an image upload (and its mask)" if scope["path"] == "/v1/translate" else "a JSON request"
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            text = length.decode("latin-1").strip()
            if not text.isdigit():
                await _send_json(send, 400, f"Content-Length must be a whole number of bytes, got {text[:40]!r}.")
                return
            if int(text) > limit:
                await _send_json(send, 413, f"request body of {int(text):,} bytes is too large: {what} may be at most {_mb(limit)}.")
                return
        seen = 0

        async def bounded() -> dict:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    from fastapi import HTTPException

                    raise HTTPException(413, f"request body too large: {what} may be at most {_mb(limit)}.")
            return message

        await self.app(scope, bounded, send)


async def read_upload(upload: Any, what: str, max_bytes: int) -> bytes:
    """The bytes of an UploadFile, read with a bound: at most ``max_bytes`` (413 above)."""
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(413, f"{what}: the file may be at most {_mb(max_bytes)}; this one is larger.")
    if not data:
        raise ApiError(422, f"{what}: the file is empty; expected a PNG or JPEG image.")
    return data


def decode_image(data: bytes, what: str, max_side: int, mask: bool = False) -> tuple[Any, str]:
    """A decoded PIL image (checked format and size, fully loaded) and its original mode."""
    from PIL import Image

    try:
        im = Image.open(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - PIL raises many types for non-images
        raise ApiError(415, f"{what}: not a readable image; expected a PNG{'' if mask else ' or JPEG'} file.") from None
    allowed = ("PNG",) if mask else ("PNG", "JPEG")
    if im.format not in allowed:
        raise ApiError(415, f"{what}: expected {' or '.join(allowed)}, got {im.format or 'an unknown format'}.")
    w, h = im.size
    if w < 1 or h < 1 or w > max_side or h > max_side:
        raise ApiError(422, f"{what}: {w} x {h} pixels; each side may be at most {max_side} pixels.")
    try:
        im.load()
    except Exception as e:  # noqa: BLE001 - truncated / corrupt data
        raise ApiError(415, f"{what}: the {im.format} data is corrupt or truncated ({str(e)[:80]}).") from None
    return im, im.mode


def image_array(im: Any, channels: int) -> np.ndarray:
    """uint8 C x H x W at the model's channels, converted as `gankit translate` reads files (colour to
    luma for a grayscale model, grey replicated for an RGB one; alpha dropped; 16-bit scaled)."""
    from gankit.data.folder import _to_8bit

    if im.mode == "P" and "transparency" in im.info:
        im = im.convert("RGBA")
    a = np.asarray(_to_8bit(im).convert("L" if channels == 1 else "RGB"))
    return np.ascontiguousarray(a[None] if a.ndim == 2 else a.transpose(2, 0, 1))


def mask_array(im: Any) -> np.ndarray:
    """uint8 1 x H x W in {0, 1}: any non-zero (white) pixel is hole; a fully transparent pixel is not."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = np.asarray(im.convert("RGBA"))
        hole = (rgba[..., :3].max(axis=-1) > 0) & (rgba[..., 3] > 0)
    else:
        from gankit.data.folder import _to_8bit

        hole = np.asarray(_to_8bit(im).convert("L")) > 0
    return hole[None].astype(np.uint8)
