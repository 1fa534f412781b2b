"""Trends: clusters of rows shared by many articles, with server-drawn SVG charts."""

from __future__ import annotations

from collections import Counter
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from kb.filters import Filters
from kb.records import KINDS, Kind
from kb.serialize import row_json, trend_json, trend_key
from kb.store import Store
from kb.trends import Trend, compute_trends
from web.cache import StoreCache
from web.charts import month_range
from web.data import columns
from web.filters import RowFiltersDep
from web.render import respond
from web.state import StoreDep

router = APIRouter()
TOP_TECHNOLOGIES = 12


def trends_of(request: Request, store: Store, kind: Kind, filters: Filters) -> list[Trend]:
    """The trends of one kind, computed once per state of the store."""
    cache: StoreCache = request.app.state.cache
    key = ("trends", kind, filters.only(kind))
    return cache.get(store, key, lambda: compute_trends(store, kind=kind, filters=filters))


def relevancy_counts(store: Store, kind: Kind) -> list[tuple[str, int]]:
    """How many rows of a kind have each relevancy, 1 to 5."""
    with store.reading() as index:
        counts = Counter(int(r) for r in index.relevancy[index.live_slots(kind)])
    return [(str(r), counts.get(r, 0)) for r in range(1, 6)]


@router.get("/trends", include_in_schema=False)
@router.get("/api/trends", summary="Trends of one kind, with chart data")
def trends_page(
    request: Request,
    store: StoreDep,
    filters: RowFiltersDep,
    kind: Annotated[Kind, Query(description="table to find trends in")] = "signals",
) -> Response:
    """Trends of a kind, their monthly counts, the relevancy spread and the top technologies."""
    trends = trends_of(request, store, kind, filters)
    technologies = (
        trends if kind == "technologies" else trends_of(request, store, "technologies", filters)
    )
    summaries = [trend_json(t) for t in trends]
    context = {
        "kind": kind,
        "kinds": list(KINDS),
        "since": filters.since,
        "filters": filters.params(),
        "trends": summaries,
        "months": month_range([m for t in summaries for m in t["monthly"]]),
        "relevancy": relevancy_counts(store, kind),
        "top_technologies": [(t.name, len(t.article_ids)) for t in technologies[:TOP_TECHNOLOGIES]],
    }
    return respond(request, "trends.html", context)


@router.get("/trends/{kind}/{key}", include_in_schema=False)
@router.get("/api/trends/{kind}/{key}", summary="One trend: its rows and articles")
def trend_page(
    request: Request,
    store: StoreDep,
    kind: Kind,
    key: str,
    filters: RowFiltersDep,
) -> Response:
    """A trend's monthly course, its member rows and the articles they come from."""
    found = trends_of(request, store, kind, filters)
    trend = next((t for t in found if trend_key(t) == key), None)
    if trend is None:
        raise HTTPException(404, "No such trend (trends change as articles are added).")
    titles = {row.article_id: (row.title, row.published) for row in trend.members}
    context = {
        "trend": trend_json(trend),
        "months": month_range(list(trend.monthly)),
        "columns": columns(kind),
        "rows": [row_json(row) for row in trend.members],
        "articles": [
            {"id": aid, "title": titles[aid][0], "published": titles[aid][1]}
            for aid in trend.article_ids
        ],
    }
    return respond(request, "trend.html", context)
