"""The search page (also the home page): one box, rows that match by meaning and keyword.

Results come as one ranked list, paged, or with `group=kind` in sections per table: the
best `GROUP_DEPTH` matches are split by kind, each section counts its rows among them
and shows its first `PER_GROUP`, with a link to the ranked list of that table alone.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kb.records import KINDS, Kind
from kb.search import Hit, Mode, search
from kb.serialize import article_json, hit_json
from web.cache import StoreCache
from web.filters import FiltersDep
from web.render import respond
from web.state import StoreDep

router = APIRouter()
PER_PAGE = 20
GROUP_DEPTH = 100  # the grouped view splits this many best matches by kind
PER_GROUP = 5  # rows shown in each section of the grouped view
Group = Literal["", "kind"]


@router.get("/", include_in_schema=False)
@router.get("/search", include_in_schema=False)
@router.get("/api/search", summary="Search the rows of every table")
def search_page(
    request: Request,
    store: StoreDep,
    filters: FiltersDep,
    q: Annotated[str, Query(max_length=500, description="free-text query")] = "",
    mode: Annotated[Mode, Query(description="hybrid, vector or keyword ranking")] = "hybrid",
    page: Annotated[int, Query(ge=1, le=500)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = PER_PAGE,
    group: Annotated[Group, Query(description="kind: results in sections per table")] = "",
) -> Response:
    """Rows that best match `q` under the filters; with no query, the stored articles.

    Every parameter is in the URL, so a search can be bookmarked and shared.
    """
    given = {**filters.params(), "mode": mode if mode != "hybrid" else None}
    params = {
        "q": q,
        **given,
        "per_page": per_page if per_page != PER_PAGE else None,
        "group": group or None,
    }
    if group:
        page = 1  # the grouped view has no pages: each section links to its table's list
    start = (page - 1) * per_page
    context: dict[str, Any] = {
        "query": q,
        "kinds": list(KINDS),
        "filters": {**given, "min_relevancy": filters.min_relevancy, "mode": mode},
        "filtered": any(given.values()),
        "page": page,
        "per_page": per_page,
        "params": params,
        "group": group,
        "hits": [],
        "groups": [],
        "depth": 0,
        "articles": [],
        "has_next": False,
    }
    if q.strip():
        hits = search(
            store,
            q,
            filters,
            mode=mode,
            limit=GROUP_DEPTH if group else per_page + 1,
            offset=start,
        )
        if group:
            context["groups"] = grouped(hits, filters.kinds)
            context["depth"] = len(hits)
        else:
            context["hits"] = [hit_json(h) for h in hits[:per_page]]
            context["has_next"] = len(hits) > per_page
    else:
        cache: StoreCache = request.app.state.cache
        articles = cache.get(
            store, "articles", lambda: [article_json(a) for a in store.list_articles()]
        )
        context["articles"] = articles[start : start + per_page]
        context["has_next"] = len(articles) > start + per_page
        context["counts"] = store.count()
    return respond(request, "search.html", context)


def grouped(hits: list[Hit], kinds: tuple[Kind, ...]) -> list[dict[str, Any]]:
    """One section per kind, in table order: its count among `hits` and its first rows."""
    by_kind: dict[str, list[Hit]] = {k: [] for k in KINDS if k in kinds}
    for hit in hits:
        by_kind[hit.row.kind].append(hit)
    return [
        {"kind": k, "count": len(found), "hits": [hit_json(h) for h in found[:PER_GROUP]]}
        for k, found in by_kind.items()
    ]
