"""The article page: one record in the layout of docs/record-format.md."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from kb.search import similar_articles, similar_items
from kb.serialize import article_json, row_json
from web.data import article_record, article_tables, columns
from web.render import respond, wants_json
from web.state import StoreDep

router = APIRouter()
SIMILAR = 5


@router.get("/articles/{article_id}", include_in_schema=False)
@router.get("/api/articles/{article_id}", summary="One article's record")
def article_page(request: Request, article_id: str, store: StoreDep) -> Response:
    """The record of one article; 404 when the id is unknown."""
    article = store.get(article_id)
    context: dict[str, Any] = {
        "article": article_record(article),
        "tables": article_tables(article),
        "similar_articles": [
            {**article_json(other), "similarity": round(score, 4)}
            for other, score in similar_articles(store, article.id, limit=SIMILAR)
        ],
    }
    return respond(request, "article.html", context)


@router.get("/rows/{item_id}", include_in_schema=False)
@router.get("/api/rows/{item_id}", summary="One row and the rows closest to it in meaning")
def row_page(request: Request, item_id: str, store: StoreDep) -> Response:
    """A row of a table, its article, and similar rows from every article."""
    with store.reading() as index:
        at = index.pos.get(item_id)
        row = index.item(at) if at is not None else None
    if row is None:
        raise HTTPException(404, "No row with this id.")
    context = {
        "row": row_json(row),
        "columns": columns(row.kind),
        "similar": [row_json(h.row, h.score) for h in similar_items(store, item_id, limit=10)],
    }
    return respond(request, "row.html", context)


@router.post("/articles/{article_id}/delete", include_in_schema=False)
@router.post("/api/articles/{article_id}/delete", summary="Delete an article and its rows")
def delete_article(request: Request, article_id: str, store: StoreDep) -> Response:
    """Remove an article from the knowledge base (POST only)."""
    article = store.get(article_id)
    store.delete(article.id)
    if wants_json(request):
        return JSONResponse({"deleted": article.id, "title": article.title})
    return RedirectResponse("/?" + urlencode({"deleted": article.title}), status_code=303)
