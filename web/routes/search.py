"""The search page (also the home page): one box, rows that match by meaning."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kb.records import KINDS, Kind
from kb.search import search
from web.data import article_brief, stored_row
from web.render import respond
from web.state import StoreDep

router = APIRouter()
PER_PAGE = 20


@router.get("/", include_in_schema=False)
@router.get("/search", include_in_schema=False)
@router.get("/api/search", summary="Search the rows of every table by meaning")
def search_page(
    request: Request,
    store: StoreDep,
    q: Annotated[str, Query(max_length=500, description="free-text query")] = "",
    kind: Annotated[list[Kind], Query(description="tables to search (all when empty)")] = [],  # noqa: B006
    min_relevancy: Annotated[int, Query(ge=1, le=5)] = 1,
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = PER_PAGE,
) -> Response:
    """Rows closest in meaning to `q`; with no query, the stored articles."""
    params: dict[str, Any] = {
        "q": q,
        "kind": kind,
        "min_relevancy": min_relevancy if min_relevancy > 1 else None,
        "per_page": per_page if per_page != PER_PAGE else None,
    }
    start = (page - 1) * per_page
    context: dict[str, Any] = {
        "query": q,
        "kinds": list(KINDS),
        "selected_kinds": kind,
        "min_relevancy": min_relevancy,
        "page": page,
        "per_page": per_page,
        "params": params,
        "hits": [],
        "articles": [],
        "has_next": False,
    }
    if q.strip():
        hits = search(
            store,
            q,
            kinds=tuple(kind) or KINDS,
            min_relevancy=min_relevancy,
            limit=start + per_page + 1,
        )
        context["hits"] = [stored_row(h.row, h.score) for h in hits[start : start + per_page]]
        context["has_next"] = len(hits) > start + per_page
    else:
        articles = store.list_articles()
        context["articles"] = [article_brief(a) for a in articles[start : start + per_page]]
        context["has_next"] = len(articles) > start + per_page
        context["counts"] = store.count()
    return respond(request, "search.html", context)
