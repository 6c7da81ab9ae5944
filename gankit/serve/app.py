"""The FastAPI app of `gankit serve`: one model, its micro-batcher, the HTTP API, metrics and the page.

    from gankit.serve.app import build_backend, create_app
    from gankit.serve.limits import Settings
    app = create_app(build_backend("runs/demo"), Settings(max_batch=32))

Middleware, outermost first: Prometheus counting (so refusals are counted too), the bearer key on
/v1/* (before any body is read), and the body-size cap. Every error answers
``{"detail": "<what was wrong and what was expected>"}``. (No ``from __future__ import annotations``:
FastAPI evaluates the handlers' annotations, which name classes imported inside create_app.)
"""


import asyncio
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from gankit.serve.backend import Backend, OnnxBackend, TorchBackend, build_backend
from gankit.serve.limits import ApiError, BodyLimit, Settings

WEB_DIR = Path(__file__).parent / "web"
NO_PAGE = ("<!doctype html><html><head><meta charset='utf-8'><title>gankit serve</title></head><body>"
           "<h1>gankit serve</h1><p>The web page is not installed (gankit/serve/web/index.html is missing). "
           "The API works: see <a href='/docs'>/docs</a>.</p></body></html>")  # fmt: skip

__all__ = ["Backend", "OnnxBackend", "Settings", "TorchBackend", "build_backend", "create_app"]


def readable(errors: list[dict[str, Any]], fields: list[str] | None = None) -> str:
    """Pydantic's validation errors as one sentence per problem: the field, what was expected, what came."""
    parts = []
    for e in errors[:8]:
        loc = [str(x) for x in e.get("loc", ()) if x not in ("body", "query", "path")]
        where = ".".join(loc) or "body"
        kind, msg = e.get("type", ""), str(e.get("msg", "invalid"))
        got = e.get("input")
        if kind == "json_invalid":
            parts.append("the body is not valid JSON; send a JSON object such as {\"n\": 4, \"seed\": 0}")
        elif kind == "extra_forbidden":
            parts.append(f"{where}: unknown field" + (f" (expected: {', '.join(fields)})" if fields else ""))
        elif kind == "missing":
            parts.append(f"{where}: required" if loc else "a request body is required (see /docs for its fields)")
        elif kind in ("model_attributes_type", "dict_type", "model_type"):
            sent = "raw bytes (send it as JSON with Content-Type: application/json)" if isinstance(got, (bytes, bytearray)) else type(got).__name__
            parts.append(f"the body must be a JSON object such as {{\"n\": 4, \"seed\": 0}}, got {sent}")
        else:
            shown = repr(got)[:60] if not isinstance(got, (bytes, bytearray)) else f"{len(got)} bytes"
            parts.append(f"{where}: {msg[0].lower() + msg[1:]} (got {shown})")
    more = f" (and {len(errors) - 8} more)" if len(errors) > 8 else ""
    return "; ".join(parts) + more + "."


def _install_errors(app: Any, fields: dict[str, list[str]]) -> None:
    """``fields``: each JSON endpoint's accepted field names, to name them when a request has an unknown one."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from gankit.errors import GankitError

    def fields_of(request: Any) -> list[str] | None:
        return fields.get(request.url.path)

    async def api_error(request: Any, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    async def gankit_error(request: Any, exc: GankitError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    async def invalid(request: Any, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": readable(list(exc.errors()), fields_of(request))}, status_code=422)

    async def http_error(request: Any, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path}; the API is listed at /docs."
        elif exc.status_code == 400 and request.url.path == "/v1/translate" and "image" not in str(detail):
            detail = f"{detail} Expected multipart/form-data with an `image` file (PNG or JPEG; plus `mask` for inpainting)."
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}; see /docs for its method."
        return JSONResponse({"detail": str(detail)}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    async def crashed(request: Any, exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); the server log has the traceback."}, status_code=500)

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(GankitError, gankit_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, crashed)


def create_app(backend: Backend, settings: Settings | None = None) -> Any:
    """The app serving ``backend``; its worker starts with the app (lifespan) and drains on shutdown."""
    from fastapi import Depends, FastAPI
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from fastapi.security import HTTPBearer
    from fastapi.staticfiles import StaticFiles

    from gankit.serve import routes_generate, routes_translate
    from gankit.serve.auth import BearerAuth
    from gankit.serve.batcher import Batcher
    from gankit.serve.prom import Metrics, MetricsMiddleware
    from gankit.serve.schemas import Health, request_models
    from gankit.serve.state import ServeState

    settings = settings or Settings()
    metrics = Metrics()
    batcher = Batcher(settings.max_batch, settings.max_delay_ms, settings.max_queue, model_batch=backend.max_batch,
                      on_batch=metrics.observe_batch, on_depth=metrics.queue_depth.set)  # fmt: skip
    st = ServeState(backend, settings, batcher, metrics, request_models(settings, backend.num_classes))
    if backend.any_size:
        backend.size_multiple()  # probed now, before the worker owns the model
    import torchvision.utils  # noqa: F401 - make_grid's import, here rather than in the first request

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        batcher.start()
        yield
        await asyncio.to_thread(batcher.drain, settings.timeout_s)

    from gankit.serve.docs_page import install_docs, local_swagger_dir

    sig = backend.signature
    swagger = local_swagger_dir()
    app = FastAPI(title="gankit serve", version=_version(), lifespan=lifespan, docs_url=None if swagger else "/docs",
                  description=f"A {sig['task']} model on {backend.name}: capabilities {', '.join(backend.capabilities())}. "
                  "Errors answer {\"detail\": message}. " + ("/v1/* needs `Authorization: Bearer <key>`." if settings.api_key else ""))  # fmt: skip
    app.state.gankit = st
    _install_errors(app, {f"/v1/{name}": [f.alias or k for k, f in model.model_fields.items()]
                          for name, model in (("generate", st.models.generate), ("interpolate", st.models.interpolate),
                                              ("style-mix", st.models.style_mix))})  # fmt: skip
    bearer = HTTPBearer(auto_error=False, description="the key in the server's --api-key-env variable")
    deps = [Depends(bearer)] if settings.api_key else []  # documents the scheme in /docs; BearerAuth enforces it
    routers = [routes_generate.router(st), routes_translate.router(st)]
    for r in routers:
        app.include_router(r, dependencies=deps)

    @app.get("/v1/model", tags=["model"], dependencies=deps)
    async def model() -> JSONResponse:
        """The signature, recipe, step, weights, metrics with their protocol, limits and capabilities."""
        return JSONResponse({**backend.info(), "limits": settings.limits(), "capabilities": backend.capabilities(),
                             "input": routes_translate.input_info(st)})  # fmt: skip

    @app.get("/healthz", tags=["ops"], response_model=Health)
    async def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], response_model=Health, responses={503: {"description": "not ready or draining"}})
    async def readyz() -> JSONResponse:
        """200 while the inference worker runs and the server is not draining; 503 otherwise."""
        if batcher.ready:
            return JSONResponse({"status": "ready", "queued_images": batcher.queued})
        return JSONResponse({"status": batcher.state, "detail": f"not ready: the inference worker is {batcher.state}."}, status_code=503)

    @app.get("/metrics", tags=["ops"], response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    async def prometheus() -> Response:
        """Prometheus text format: requests, latency, batch sizes, queue depth."""
        body, media = metrics.render()
        return Response(body, media_type=media)

    @app.get("/", include_in_schema=False)
    async def page() -> Response:
        index = WEB_DIR / "index.html"
        return FileResponse(index, media_type="text/html") if index.is_file() else HTMLResponse(NO_PAGE)

    if WEB_DIR.is_dir():
        app.mount("/static", StaticFiles(directory=WEB_DIR), name="static")
    else:

        @app.get("/static/{path:path}", include_in_schema=False)
        async def no_static(path: str) -> JSONResponse:
            return JSONResponse({"detail": f"/static/{path}: the web page's files are not installed (gankit/serve/web/)."}, status_code=404)

    if swagger is not None:
        install_docs(app, swagger)
    known = {route.path for r in [app, *routers] for route in r.routes if hasattr(route, "methods")}
    app.add_middleware(BodyLimit, settings=settings)
    if settings.api_key:
        app.add_middleware(BearerAuth, key=settings.api_key)
    app.add_middleware(MetricsMiddleware, metrics=metrics, endpoints=lambda: known)
    return app


def _version() -> str:
    from gankit import __version__

    return __version__
