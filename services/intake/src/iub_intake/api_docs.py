"""/docs (Swagger UI) and /redoc served offline: their scripts and styles come from the installed
``fastapi-offline`` package under /docs-assets, never from a CDN, so the API documentation works
on a kommun's closed network and leaks no visit to a third party.

Whether the pages are public is decided where this is mounted (``dependencies``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_URL = "/docs-assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"


def mount_offline_docs(api: FastAPI, *, docs_url: str = "/docs", redoc_url: str = "/redoc",
                       dependencies: Sequence[Any] = ()) -> None:
    """Swagger UI at ``docs_url`` and ReDoc at ``redoc_url`` with packaged assets (create the app with
    ``docs_url=None, redoc_url=None``)."""
    api.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")
    router = APIRouter(include_in_schema=False, dependencies=[Depends(d) for d in dependencies])
    title = api.title

    @router.get(docs_url, response_class=HTMLResponse)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=api.openapi_url or "/openapi.json", title=f"{title} — API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js", swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=f"{docs_url}/oauth2-redirect")

    @router.get(f"{docs_url}/oauth2-redirect", response_class=HTMLResponse)
    async def swagger_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @router.get(redoc_url, response_class=HTMLResponse)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=api.openapi_url or "/openapi.json", title=f"{title} — ReDoc",
                              redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False)

    api.include_router(router)
