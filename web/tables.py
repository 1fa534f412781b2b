"""The rows of one kind across all articles, filtered, sorted and paged as a table page shows them.

The export buttons send the same parameters to `/tables/{kind}/export`, which runs the same
`table_view` and writes the rows of that page (or, with `rows=all`, every row the filters and
the sort select): the page's columns under their headers first, then the columns the page
leaves out and `signalkb export` writes (evidence, article id, URL, site), so a downloaded
row can always be traced to its article.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from kb.export import export_frame, item_columns, render
from kb.filters import EVERY_ROW, Filters
from kb.formats import FORMATS
from kb.records import ITEM_TYPES, Kind
from kb.store import Store

Direction = Literal["asc", "desc"]
EXPORT_FORMATS = FORMATS
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "json": "application/json",
    "md": "text/markdown; charset=utf-8",
}


def table_columns(kind: Kind) -> list[tuple[str, str]]:
    """(field, header) of the columns a table page shows for `kind`."""
    return [*ITEM_TYPES[kind].columns, ("relevancy", "relevancy"), ("title", "article")] + [
        ("published", "published")
    ]


@dataclass
class TableView:
    """One page of a table: its rows (with article id and evidence), total and paging."""

    kind: Kind
    columns: list[tuple[str, str]]
    frame: pd.DataFrame
    total: int
    has_next: bool


@dataclass(frozen=True)
class KindRows:
    """Every row of one kind (as kb.export builds the table) and its lower-cased text."""

    frame: pd.DataFrame
    text: pd.Series


def kind_rows(store: Store, kind: Kind, filters: Filters = EVERY_ROW) -> KindRows:
    """The table of one kind (its rows that pass `filters`), with the text the filter box
    searches."""
    frame = export_frame(store, kind, filters)
    fields = [f for f, _ in table_columns(kind) if f != "relevancy"]
    text = frame[fields].astype(str).agg(" ".join, axis=1).str.lower()
    return KindRows(frame, text)


def table_view(
    rows: KindRows,
    kind: Kind,
    *,
    q: str = "",
    sort: str = "relevancy",
    direction: Direction = "desc",
    page: int = 1,
    per_page: int = 25,
) -> TableView:
    """Filter rows by text, sort by one column (ties keep the stored order), page."""
    frame = rows.frame
    if q.strip():
        frame = frame[rows.text.str.contains(q.strip().lower(), regex=False)]
    key = None if sort == "relevancy" else (lambda s: s.astype(str).str.lower())
    frame = frame.sort_values(sort, ascending=direction == "asc", kind="stable", key=key)
    start = (page - 1) * per_page
    shown = frame.iloc[start : start + per_page].reset_index(drop=True)
    return TableView(kind, table_columns(kind), shown, len(frame), len(frame) > start + per_page)


def export_shown(view: TableView, fmt: str) -> bytes:
    """The rows of the view as a file: the visible columns under their visible headers,
    then the rest of `signalkb export`'s columns for this kind."""
    fields = [f for f, _ in view.columns]
    rest = [c for c in item_columns(view.kind) if c not in fields]
    frame = view.frame[[*fields, *rest]].rename(columns=dict(view.columns))
    return render(frame, fmt, kind=view.kind)


def rows_for_page(view: TableView) -> list[dict[str, Any]]:
    """The page's rows as plain dicts (every stored field, for HTML and JSON)."""
    rows: list[dict[str, Any]] = view.frame.to_dict(orient="records")
    return rows
