"""The article page: one record in the layout of RECORD-FORMAT.md."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from web.data import article_record, article_tables
from web.render import respond, wants_json
from web.state import StoreDep

router = APIRouter()


@router.get("/articles/{article_id}", include_in_schema=False)
@router.get("/api/articles/{article_id}", summary="One article's record")
def article_page(request: Request, article_id: str, store: StoreDep) -> Response:
    """The record of one article; 404 when the id is unknown."""
    article = store.get(article_id)
    context: dict[str, Any] = {
        "article": article_record(article),
        "tables": article_tables(article),
    }
    return respond(request, "article.html", context)


@router.post("/articles/{article_id}/delete", include_in_schema=False)
@router.post("/api/articles/{article_id}/delete", summary="Delete an article and its rows")
def delete_article(request: Request, article_id: str, store: StoreDep) -> Response:
    """Remove an article from the knowledge base (POST only)."""
    article = store.get(article_id)
    store.delete(article.id)
    if wants_json(request):
        return JSONResponse({"deleted": article.id, "title": article.title})
    return RedirectResponse("/", status_code=303)
