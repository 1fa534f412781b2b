"""Tables: one per kind across all articles, sortable, filterable, paged and exportable."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response

from kb.formats import Format
from kb.records import KINDS, Kind
from kb.store import Store
from web.cache import StoreCache
from web.filters import RowFiltersDep
from web.render import query_string, respond
from web.state import StoreDep
from web.tables import (
    EXPORT_FORMATS,
    MEDIA_TYPES,
    Direction,
    TableView,
    export_shown,
    kind_rows,
    rows_for_page,
    table_columns,
    table_view,
)

router = APIRouter()
PER_PAGE = 25


class TableQuery:
    """The query parameters a table page and its exports share."""

    def __init__(
        self,
        kind: Kind,
        filters: RowFiltersDep,
        q: Annotated[str, Query(max_length=200, description="text the row must contain")] = "",
        sort: Annotated[str, Query(max_length=40, description="column to sort by")] = "relevancy",
        dir: Annotated[Direction, Query(description="sort direction")] = "desc",
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=1000)] = PER_PAGE,
    ) -> None:
        if sort not in {field for field, _ in table_columns(kind)}:
            raise HTTPException(422, f"the {kind} table has no column {sort!r} to sort by")
        self.kind = kind
        self.q = q
        self.filters = filters.only(kind)
        self.sort = sort
        self.dir: Direction = dir
        self.page = page
        self.per_page = per_page

    def params(self) -> dict[str, Any]:
        """The parameters as they appear in the page's URL (defaults left out)."""
        shared = {k: v for k, v in self.filters.params().items() if k != "kind"}
        return {
            "q": self.q,
            **shared,
            "sort": self.sort,
            "dir": self.dir,
            "page": self.page if self.page > 1 else None,
            "per_page": self.per_page if self.per_page != PER_PAGE else None,
        }

    def view(self, request: Request, store: Store, *, every_page: bool = False) -> TableView:
        """The page of rows these parameters select (every page of them, if asked)."""
        cache: StoreCache = request.app.state.cache
        rows = cache.get(
            store, ("table", self.filters), lambda: kind_rows(store, self.kind, self.filters)
        )
        return table_view(
            rows,
            self.kind,
            q=self.q,
            sort=self.sort,
            direction=self.dir,
            page=1 if every_page else self.page,
            per_page=len(rows.frame) or 1 if every_page else self.per_page,
        )


TableDep = Annotated[TableQuery, Depends()]


@router.get("/tables", include_in_schema=False)
def tables_index(request: Request) -> Response:
    """The tables start at signals."""
    return RedirectResponse("/tables/signals", status_code=307)


@router.get("/tables/{kind}", include_in_schema=False)
@router.get("/api/tables/{kind}", summary="One table across all articles")
def table_page(request: Request, store: StoreDep, table: TableDep) -> Response:
    """One page of a table, filtered and sorted; the JSON twin has the same rows."""
    view = table.view(request, store)
    params = table.params()
    columns = []
    for field, header in view.columns:
        flip = "asc" if table.sort == field and table.dir == "desc" else "desc"
        columns.append(
            {
                "field": field,
                "header": header,
                "sorted": table.dir if table.sort == field else None,
                "href": query_string(params, sort=field, dir=flip, page=None),
            }
        )
    context = {
        "kind": table.kind,
        "kinds": list(KINDS),
        "columns": columns,
        "rows": rows_for_page(view),
        "total": view.total,
        "page": table.page,
        "per_page": table.per_page,
        "has_next": view.has_next,
        "params": params,
        "q": table.q,
        "min_relevancy": table.filters.min_relevancy,
        "sort": table.sort,
        "dir": table.dir,
        "exports": [
            {"format": fmt, "href": f"/tables/{table.kind}/export" + query_string(params, fmt=fmt)}
            for fmt in EXPORT_FORMATS
        ],
        "exports_all": [
            {
                "format": fmt,
                "href": f"/tables/{table.kind}/export"
                + query_string(params, fmt=fmt, rows="all", page=None, per_page=None),
            }
            for fmt in EXPORT_FORMATS
        ],
    }
    return respond(request, "table.html", context)


@router.get("/tables/{kind}/export", summary="Download the rows a table page shows")
def table_export(
    request: Request,
    store: StoreDep,
    table: TableDep,
    fmt: Annotated[Format, Query(description="file format")] = "csv",
    rows: Annotated[
        Literal["page", "all"], Query(description="the page's rows, or every matching row")
    ] = "page",
) -> Response:
    """The rows of the table page with the same parameters (or all of them with
    `rows=all`) as a file: the page's columns, then evidence, article id, URL and site."""
    every_page = rows == "all"
    body = export_shown(table.view(request, store, every_page=every_page), fmt)
    name = f"{table.kind}-all.{fmt}" if every_page else f"{table.kind}-page{table.page}.{fmt}"
    return Response(
        body,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
