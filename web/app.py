"""The FastAPI app: `create_app(settings)` wires routes, templates, static files and safety.

Every page is built as a plain dict and rendered as HTML, or returned as JSON under `/api/...`
and for `?format=json` (web.render). Errors become a friendly page, never a traceback.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from kb.errors import NotFoundError, SignalKBError
from kb.settings import Settings
from web.batching import BatchingEmbedder
from web.cache import StoreCache
from web.guard import Guard
from web.render import make_templates, respond
from web.routes import articles, docs, ingest, search, tables, trends
from web.state import AppState, ExtractorFactory, StoreFactory

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def _warm_up(state: AppState) -> None:
    """Open the store, load its row index and the embedding model before the first search."""
    try:
        state.store.embedder.embed(["warm up"])
        with state.store.reading():
            pass
    except Exception:  # the first request will meet the same error and show it
        log.warning("could not open the knowledge base at start", exc_info=True)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    state: AppState = app.state.signalkb
    if app.state.warm_up:
        threading.Thread(target=_warm_up, args=(state,), name="warm-up", daemon=True).start()
    yield
    if state.jobs is not None:
        state.jobs.close()
    if state.store_open and isinstance(state.store.embedder, BatchingEmbedder):
        state.store.embedder.close()


def create_app(
    settings: Settings,
    *,
    store_factory: StoreFactory,
    extractor_factory: ExtractorFactory,
    warm_up: bool = False,
) -> FastAPI:
    """The web UI over the knowledge base at `settings.home` (or `settings.chroma_url`).

    Args:
        settings: signalkb's settings.
        store_factory: opens the store, on first use (`signalkb.compose.Parts.web_app`
            gives one whose embedder runs in child processes).
        extractor_factory: builds the extractor ingest jobs use, on first use, from the
            app's store (whose embedder it shares).
        warm_up: at start, open the store and load the model in the background (for a
            server, so that the first search is quick).

    Returns:
        The FastAPI app.
    """
    app = FastAPI(
        title="signalkb",
        summary="Signals, concerns, behaviors, technologies and issues of AI articles.",
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.signalkb = AppState(
        settings,
        store_factory,
        extractor_factory,
    )
    app.state.templates = make_templates()
    app.state.cache = StoreCache()
    app.state.warm_up = warm_up
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_api_route("/favicon.ico", _favicon, include_in_schema=False)
    for module in (search, articles, tables, trends, ingest, docs):
        app.include_router(module.router)
    _add_error_pages(app)
    app.add_middleware(Guard, token=settings.token, refused=_error)
    return app


def _favicon() -> FileResponse:
    """The site icon at the address browsers and tools ask for without reading the page."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


def _error(request: Request, status: int, title: str, detail: Any) -> Response:
    """The friendly error page (or its JSON twin)."""
    context = {"status": status, "error": title, "detail": detail}
    return respond(request, "error.html", context, status_code=status)


def _add_error_pages(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Page not found", 422: "Some filters are not valid"}
        title = titles.get(exc.status_code, "Request refused")
        return _error(request, exc.status_code, title, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"field": ".".join(str(p) for p in err["loc"][1:]), "message": err["msg"]}
            for err in exc.errors()
        ]
        return _error(request, 422, "Some filters are not valid", problems)

    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return _error(request, 404, "Article not found", str(exc))

    @app.exception_handler(SignalKBError)
    async def domain_error(request: Request, exc: SignalKBError) -> Response:
        return _error(request, 400, "That did not work", str(exc))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return _error(request, 500, "Something went wrong", "The error was logged on the server.")
