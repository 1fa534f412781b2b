"""Tables out: the rows of one kind, of all kinds, or the articles, as pandas frames and files.

`export_frame` builds the table (every row carries its article's id, title, URL, site and
date); `render` writes it as csv, xlsx, parquet, json or md; `read_frame` reads a csv, xlsx,
parquet, json or md table back to the same frame. `export_bytes` adds the two whole-record
exports of `--kind all`: json (the backup `signalkb import` reads) and md (each record in
the layout of docs/record-format.md).

csv and xlsx are safe to open in a spreadsheet: a text cell that a spreadsheet would run
as a formula (starting with = + - @ tab or CR) is prefixed with a quote, as is one already
starting with a quote so that `read_frame` can undo it exactly.
"""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Literal
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from kb.filters import EVERY_ROW, Filters
from kb.formats import EXPORT_KINDS, FORMATS
from kb.index import RowIndex, site_key, technology_key
from kb.markdown import record_markdown
from kb.records import ITEM_TYPES, KINDS, Article, Kind
from kb.store import Store

ARTICLE_COLUMNS = ("article_id", "title", "url", "site", "published")
_DANGEROUS = r"^[=+\-@\t\r']"
_INT_COLUMNS = ("relevancy", *(f"n_{kind}" for kind in KINDS))
_BOOL_COLUMNS = ("incomplete",)


def item_columns(kind: Kind) -> list[str]:
    """The columns of one kind's table: its fields, relevancy, evidence, then the article's."""
    fields = [field for field, _ in ITEM_TYPES[kind].columns]
    return [*fields, "relevancy", "evidence", *ARTICLE_COLUMNS]


def _kind_frame(index: RowIndex, kind: Kind, filters: Filters) -> pd.DataFrame:
    mask = index.mask(filters.only(kind))
    slots = index.live_slots(kind) if mask is None else np.flatnonzero(mask)
    metas = [index.meta[at] or {} for at in slots]
    # One parse of one JSON array is several times faster than a parse per row.
    items = json.loads("[" + ",".join(str(m["item"]) for m in metas) + "]")
    columns = item_columns(kind)
    frame = pd.DataFrame.from_records(items, columns=columns[: -len(ARTICLE_COLUMNS)])
    for column in ARTICLE_COLUMNS:
        frame[column] = [m[column] for m in metas]
    frame["_position"] = [int(index.ids[at].rsplit(":", 1)[1]) for at in slots]
    frame = frame.sort_values(
        ["published", "article_id", "_position"], ascending=[False, True, True], kind="stable"
    )
    return _typed(frame.drop(columns="_position").reset_index(drop=True))


def article_passes(article: Article, filters: Filters) -> bool:
    """True when an article passes the filters that concern articles (not kinds and
    relevancy, which concern rows)."""
    day = article.published
    if (filters.since or filters.until) and day is None:
        return False
    if day is not None and (
        (filters.since and day < filters.since) or (filters.until and day > filters.until)
    ):
        return False
    site = article.site or urlparse(article.url).netloc
    if filters.site and site_key(site) != site_key(filters.site):
        return False
    wanted = technology_key(filters.technology)
    if filters.technology and all(technology_key(t.name) != wanted for t in article.technologies):
        return False
    return not filters.theme or filters.theme.lower() in {t.lower() for t in article.themes}


def _articles_frame(store: Store, filters: Filters) -> pd.DataFrame:
    rows = []
    for article in store.list_articles():
        if not article_passes(article, filters):
            continue
        rows.append(
            {
                "article_id": article.id,
                "title": article.title,
                "url": article.url,
                "site": article.site,
                "published": article.published.isoformat() if article.published else "",
                "author": article.author,
                "language": article.language,
                "category": article.category,
                "type": article.type,
                "keywords": "; ".join(article.keywords),
                "themes": "; ".join(article.themes),
                "summary": article.summary,
                **{f"n_{kind}": len(article.items(kind)) for kind in KINDS},
                "incomplete": article.incomplete,
                "extractor": article.extractor,
            }
        )
    columns = [
        *ARTICLE_COLUMNS,
        "author",
        "language",
        "category",
        "type",
        "keywords",
        "themes",
        "summary",
        *(f"n_{kind}" for kind in KINDS),
        "incomplete",
        "extractor",
    ]
    return _typed(pd.DataFrame(rows, columns=columns))


def export_frame(store: Store, kind: str, filters: Filters = EVERY_ROW) -> pd.DataFrame:
    """One table across all articles.

    Args:
        store: the knowledge base.
        kind: one of the five kinds, "articles" (one row per article) or "all" (the five
            kinds stacked, with a `kind` column first).
        filters: which rows (and articles) to keep; its kinds are not used (`kind` is).

    Returns:
        The frame, newest article first, rows in their record order.
    """
    if kind == "articles":
        return _articles_frame(store, filters)
    with store.reading() as index:  # one consistent view of the rows, even while others write
        return _rows_frame(index, kind, filters)


def _rows_frame(index: RowIndex, kind: str, filters: Filters) -> pd.DataFrame:
    if kind == "all":
        frames = [
            _kind_frame(index, k, filters).assign(kind=k) for k in KINDS if index.live_slots(k).size
        ]
        columns = ["kind", *dict.fromkeys(c for k in KINDS for c in item_columns(k))]
        if not frames:
            return pd.DataFrame(columns=columns)
        frame = pd.concat(frames, ignore_index=True)
        return _typed(frame[columns])
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; choose one of {', '.join(EXPORT_KINDS)}")
    return _kind_frame(index, kind, filters)  # type: ignore[arg-type]


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy where no text cell can run as a spreadsheet formula (a quote is prefixed)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            values = out[column].astype(str)
            risky = values.str.contains(_DANGEROUS, regex=True)
            out[column] = values.where(~risky, "'" + values)
    return out


def _unsafe(frame: pd.DataFrame) -> pd.DataFrame:
    for column in frame.columns:
        if frame[column].dtype == object or pd.api.types.is_string_dtype(frame[column]):
            values = frame[column].astype(str)
            quoted = values.str.contains(r"^'[=+\-@\t\r']", regex=True)
            frame[column] = values.where(~quoted, values.str.slice(1))
    return frame


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """Give the known columns their types, and every other column plain strings."""
    for column in frame.columns:
        if column in _INT_COLUMNS:
            frame[column] = frame[column].astype("int64")
        elif column in _BOOL_COLUMNS:
            frame[column] = frame[column].map(lambda v: str(v).lower() in ("true", "1"))
        else:
            frame[column] = frame[column].fillna("").astype(str)
    return frame


def _md_cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


def _md_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return (
            "| "
            + " | ".join(frame.columns)
            + " |\n|"
            + "|".join(":--" for _ in frame.columns)
            + "|"
        )
    cells = frame.copy()
    for column in cells.columns:
        if column not in _INT_COLUMNS:
            cells[column] = cells[column].map(_md_cell)
    return str(cells.to_markdown(index=False))


def render(frame: pd.DataFrame, fmt: str, *, kind: str = "table") -> bytes:
    """A frame written in one format.

    Args:
        frame: a frame from `export_frame`.
        fmt: csv, xlsx, parquet, json or md.
        kind: what the frame holds; with "all", xlsx gets one sheet per kind and md one
            table per kind.

    Returns:
        The file's bytes (text formats in UTF-8).
    """
    split = kind == "all" and "kind" in frame.columns
    if fmt == "csv":
        # pyarrow's writer is C++ (20 times pandas' here) and quotes every text cell, so
        # commas, quotes, CR and LF inside cells all survive.
        import pyarrow as pa
        import pyarrow.csv as pa_csv

        table = pa.Table.from_pandas(spreadsheet_safe(frame), preserve_index=False)
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(quoting_style="needed"))
        return buffer.getvalue()
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            if split:
                for k in KINDS:
                    part = frame[frame["kind"] == k].drop(columns="kind")
                    spreadsheet_safe(part[item_columns(k)]).to_excel(
                        writer, sheet_name=k, index=False
                    )
            else:
                spreadsheet_safe(frame).to_excel(writer, sheet_name=kind[:31], index=False)
        return buffer.getvalue()
    if fmt == "parquet":
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        return buffer.getvalue()
    if fmt == "json":
        return (frame.to_json(orient="records", force_ascii=False, indent=1) + "\n").encode()
    if fmt == "md":
        if split:
            parts = [
                f"## {k.capitalize()}\n\n"
                + _md_table(frame[frame["kind"] == k].drop(columns="kind")[item_columns(k)])
                for k in KINDS
            ]
            return ("\n\n".join(parts) + "\n").encode("utf-8")
        return (_md_table(frame) + "\n").encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def read_frame(data: bytes, fmt: str, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a table written by `render` back into the frame it came from.

    For xlsx, `sheet` picks the sheet (a kind's name for an `all` export). The quote that
    made a cell spreadsheet-safe is removed again.
    """
    if fmt == "csv":
        frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
        return _typed(_unsafe(frame))
    if fmt == "xlsx":
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=str, keep_default_na=False)
        return _typed(_unsafe(frame))
    if fmt == "parquet":
        return pd.read_parquet(io.BytesIO(data))
    if fmt == "json":
        records = json.loads(data)
        return _typed(pd.DataFrame.from_records(records))
    if fmt == "md":
        return _typed(_read_md_table(data.decode("utf-8")))
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _read_md_table(text: str) -> pd.DataFrame:
    import re

    lines = [line.strip() for line in text.splitlines() if line.strip().startswith("|")]

    def cells(line: str) -> list[str]:
        parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        return [p.strip().replace("\\|", "|") for p in parts]

    header = cells(lines[0])
    return pd.DataFrame([cells(line) for line in lines[2:]], columns=header)


def export_bytes(
    store: Store,
    kind: str,
    fmt: str,
    filters: Filters = EVERY_ROW,
) -> bytes:
    """An export as the CLI writes it: `render(export_frame(...))`, except for `--kind all`
    in json (every whole record: the backup `signalkb import` reads) and md (every record
    in the layout of docs/record-format.md, newest first)."""
    if kind == "all" and fmt in ("json", "md"):
        articles = [a for a in store.list_articles() if article_passes(a, filters)]
        if fmt == "md":
            return "\n".join(record_markdown(a) for a in articles).encode("utf-8")
        return records_json(articles)
    return render(export_frame(store, kind, filters), fmt, kind=kind)


def records_json(articles: list[Article]) -> bytes:
    """Whole records as a JSON list, the format `signalkb import` reads."""
    return (
        json.dumps([a.model_dump(mode="json") for a in articles], ensure_ascii=False, indent=1)
        + "\n"
    ).encode("utf-8")


DigestDate = Literal["published", "ingested"]


def digest_markdown(
    store: Store,
    since: date,
    *,
    until: date | None = None,
    top: int = 10,
    by: DigestDate = "published",
) -> str:
    """A newsletter page of a period: its top trends and most relevant signals, then each
    article of the period in the record layout, newest first.

    `by="published"`: an article belongs to the period by its publication date, or, when
    it has none, by the day it was ingested. `by="ingested"`: by the day it was ingested
    (what came in this week, however old). The page says which. Top trends are rows
    shared by at least two articles, one of them in the period.
    """
    from kb.trends import compute_trends

    until = until or date.today()

    def day(a: Article) -> date | None:
        ingested = a.ingested_at.date() if a.ingested_at else None
        return ingested if by == "ingested" else a.published or ingested

    articles = [a for a in store.list_articles() if (d := day(a)) and since <= d <= until]
    articles.sort(key=lambda a: day(a) or since, reverse=True)
    ids = {a.id for a in articles}
    lines = [f"# signalkb digest: {since.isoformat()} to {until.isoformat()}", ""]
    basis = (
        "by the day each was ingested"
        if by == "ingested"
        else "by publication date (the day ingested where an article has none)"
    )
    lines += [f"{len(articles)} new articles, {basis}.", "", "## Top trends", ""]
    trends = [t for t in compute_trends(store, min_articles=2) if ids.intersection(t.article_ids)]
    trends = sorted(trends, key=lambda t: -len(ids.intersection(t.article_ids)))[:top]
    table = pd.DataFrame(
        [
            {
                "trend": t.name,
                "articles": len(t.article_ids),
                "in period": len(ids.intersection(t.article_ids)),
                "momentum": t.momentum,
                "first seen": t.first_seen.isoformat() if t.first_seen else "",
                "mean relevancy": t.mean_relevancy,
            }
            for t in trends
        ],
        columns=["trend", "articles", "in period", "momentum", "first seen", "mean relevancy"],
    )
    lines += [_md_table(table), "", "## Most relevant signals", ""]
    signals = [
        {"name": s.name, "description": s.description, "relevancy": s.relevancy, "article": a.title}
        for a in articles
        for s in a.signals
    ]
    signals.sort(key=lambda row: -int(row["relevancy"]))
    columns = ["name", "description", "relevancy", "article"]
    lines += [_md_table(pd.DataFrame(signals[:top], columns=columns)), ""]
    lines += [record_markdown(a) for a in articles]
    return "\n".join(lines)
