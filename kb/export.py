"""Tables out: every row of a kind (or all kinds) as a pandas frame, written to a file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kb.markdown import record_markdown
from kb.records import ITEM_TYPES, KINDS, Kind
from kb.store import Store

FORMATS = ("csv", "md", "json")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def kind_frame(store: Store, kind: Kind) -> pd.DataFrame:
    """Every row of one table across all articles, with the article's title, URL and date."""
    item_type = ITEM_TYPES[kind]
    fields = [f for f, _ in item_type.columns] + ["relevancy", "evidence"]
    rows = []
    for article in store.list_articles():
        for item in article.items(kind):
            rows.append(
                {
                    **{f: getattr(item, f) for f in fields},
                    "article_id": article.id,
                    "title": article.title,
                    "url": article.url,
                    "published": article.published.isoformat() if article.published else "",
                }
            )
    columns = fields + ["article_id", "title", "url", "published"]
    return pd.DataFrame(rows, columns=columns)


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise cells a spreadsheet would run as a formula (prefix them with a quote)."""

    def neutralise(value: object) -> object:
        if isinstance(value, str) and value.startswith(_FORMULA_START):
            return "'" + value
        return value

    return frame.map(neutralise)


def export(store: Store, kind: Kind | str, fmt: str) -> str:
    """The export of one kind (or `all`) in a text format: csv, md or json."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if kind == "all":
        if fmt == "md":
            return "\n\n".join(record_markdown(a) for a in store.list_articles())
        if fmt == "json":
            return "[" + ",\n".join(a.model_dump_json() for a in store.list_articles()) + "]\n"
        frames = [kind_frame(store, k).assign(kind=k) for k in KINDS]
        return str(spreadsheet_safe(pd.concat(frames, ignore_index=True)).to_csv(index=False))
    frame = kind_frame(store, kind)  # type: ignore[arg-type]
    if fmt == "csv":
        return str(spreadsheet_safe(frame).to_csv(index=False))
    if fmt == "md":
        return str(frame.to_markdown(index=False)) + "\n"
    return str(frame.to_json(orient="records", force_ascii=False, indent=1)) + "\n"


def write(text: str, path: Path | None) -> None:
    """Write an export to a file, or to stdout when no path is given."""
    import click

    if path is None:
        click.echo(text, nl=False)
    else:
        path.write_text(text, encoding="utf-8")
