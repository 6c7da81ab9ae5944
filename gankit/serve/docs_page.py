"""``/docs`` from a local copy of Swagger UI (the swagger-ui-bundle package), so the API page works
offline like the web page; FastAPI's own ``/docs`` loads its script and style from a CDN."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def local_swagger_dir() -> Path | None:
    """The folder holding swagger-ui-bundle.js and swagger-ui.css, or None when the package is absent."""
    try:
        import swagger_ui_bundle
    except ImportError:
        return None
    path = Path(swagger_ui_bundle.swagger_ui_path)
    return path if (path / "swagger-ui-bundle.js").is_file() and (path / "swagger-ui.css").is_file() else None


def install_docs(app: Any, folder: Path) -> None:
    """Serve Swagger UI's files at /docs-static and the page at /docs, pointing only at this origin."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    app.mount("/docs-static", StaticFiles(directory=folder), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Any:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - API", swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css", swagger_favicon_url="data:,")  # fmt: skip
