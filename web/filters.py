"""The row filters of a page, from its query parameters: one `Filters` per request.

`RowFiltersDep` reads the filters every filtered page shares (relevancy, dates, site,
technology, theme); `FiltersDep` adds the tables (`kind`, repeated) for the search page,
whose other pages name one table in their path.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Query

from kb.filters import Filters
from kb.records import Kind
from web.data import parse_date


async def row_filters(
    min_relevancy: Annotated[int, Query(ge=1, le=5)] = 1,
    since: Annotated[str, Query(description="published on or after (YYYY-MM-DD)")] = "",
    until: Annotated[str, Query(description="published on or before (YYYY-MM-DD)")] = "",
    site: Annotated[str, Query(max_length=200, description="source site, e.g. example.com")] = "",
    technology: Annotated[str, Query(max_length=200, description="article names it")] = "",
    theme: Annotated[str, Query(max_length=200, description="article has this theme")] = "",
) -> Filters:
    """The filters of the query string, normalised once (`Filters.of`)."""
    return Filters.of(
        min_relevancy=min_relevancy,
        since=parse_date(since, "since"),
        until=parse_date(until, "until"),
        site=site,
        technology=technology,
        theme=theme,
    )


RowFiltersDep = Annotated[Filters, Depends(row_filters)]


async def filters(
    base: RowFiltersDep,
    kind: Annotated[list[Kind], Query(description="tables to search (all when empty)")] = [],  # noqa: B006
) -> Filters:
    """The row filters and the tables named."""
    return replace(base, kinds=Filters.of(kinds=kind).kinds)


FiltersDep = Annotated[Filters, Depends(filters)]
