"""Plain, JSON-ready dicts built from the store: the context every page renders.

Articles, rows, hits and trends take their shape from `kb.serialize`, as the CLI's `--json`
does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import HTTPException

from kb.records import ITEM_TYPES, KINDS, Article, Item, Kind


def columns(kind: Kind) -> list[dict[str, str]]:
    """The columns of one table in the record layout: field name and header."""
    return [{"field": f, "header": h} for f, h in ITEM_TYPES[kind].columns] + [
        {"field": "relevancy", "header": "relevancy"}
    ]


def item_fields(item: Item) -> dict[str, Any]:
    """A row's own fields (name, description, ..., relevancy, evidence)."""
    return item.model_dump()


def article_tables(article: Article) -> list[dict[str, Any]]:
    """The five tables of a record, each with its columns and rows (ids included)."""
    return [
        {
            "kind": kind,
            "columns": columns(kind),
            "rows": [
                {"id": f"{article.id}:{kind}:{i}", **item_fields(item)}
                for i, item in enumerate(article.items(kind))
            ],
        }
        for kind in KINDS
    ]


def article_record(article: Article) -> dict[str, Any]:
    """The record as JSON-ready data, without the (long) source text."""
    return article.model_dump(mode="json", exclude={"text"})


def parse_date(value: str, field: str) -> date | None:
    """A `YYYY-MM-DD` query value as a date; empty means no filter; anything else is a 422.

    Forms send an empty string for an unset date field, which a plain `date` parameter
    would refuse.
    """
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(
            422, [{"field": field, "message": "expected a date as YYYY-MM-DD"}]
        ) from None
