"""GET /openapi.json, /docs (Swagger UI), /redoc and their assets: served by the service itself,
so the documentation pages work without network access (FastAPI's own pages load their scripts
and styles from a CDN).

The assets are those the ``fastapi-offline`` package ships (Swagger UI 5 and ReDoc 2). These
routes are ordinary routes of the app, so ``/metrics`` counts each under its own label.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from moderation.errors import ConfigError
from serve.errors import ApiError

OPENAPI = "/openapi.json"
DOCS = "/docs"
REDOC = "/redoc"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
ASSETS = "/docs/assets"
# The only files served from the assets directory, and their media types.
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}

router = APIRouter(include_in_schema=False)


def assets_dir() -> Path:
    """Where the installed ``fastapi-offline`` keeps the assets (found without importing it);
    ConfigError when it is missing or incomplete."""
    spec = find_spec("fastapi_offline")
    locations = list(spec.submodule_search_locations or []) if spec else []
    folder = Path(locations[0]) / "static" if locations else None
    if folder is None or not all((folder / name).is_file() for name in ASSET_TYPES):
        raise ConfigError("the API documentation's assets are missing: install the service's "
                          "dependencies (pip install 'moderation[serve]', which brings fastapi-offline)")
    return folder


@router.get(OPENAPI)
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get(DOCS)
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return get_swagger_ui_html(
        openapi_url=root + OPENAPI, title=f"{request.app.title} - Swagger UI",
        oauth2_redirect_url=root + OAUTH2_REDIRECT,
        swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
        swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
        swagger_ui_parameters=request.app.swagger_ui_parameters,
    )


@router.get(OAUTH2_REDIRECT)
async def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get(REDOC)
async def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "").rstrip("/")
    return get_redoc_html(
        openapi_url=root + OPENAPI, title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{ASSETS}/favicon.png", with_google_fonts=False,
    )


@router.get(ASSETS + "/{name}")
async def asset(name: str) -> Any:
    media_type = ASSET_TYPES.get(name)
    if media_type is None:  # a fixed list: no path from the request reaches the file system
        raise ApiError(404, f"no documentation asset {name!r}")
    # The files change only with the installed package: a day's caching spares the 1.5 MB script.
    return FileResponse(assets_dir() / name, media_type=media_type,
                        headers={"Cache-Control": "public, max-age=86400"})
