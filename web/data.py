"""Plain, JSON-ready dicts built from the store: the context every page renders."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import HTTPException

from kb.records import ITEM_TYPES, KINDS, Article, Item, Kind
from kb.store import StoredItem


def columns(kind: Kind) -> list[dict[str, str]]:
    """The columns of one table in the record layout: field name and header."""
    return [{"field": f, "header": h} for f, h in ITEM_TYPES[kind].columns] + [
        {"field": "relevancy", "header": "relevancy"}
    ]


def item_fields(item: Item) -> dict[str, Any]:
    """A row's own fields (name, description, ..., relevancy, evidence)."""
    return item.model_dump()


def stored_row(stored: StoredItem, score: float | None = None) -> dict[str, Any]:
    """A stored row with the article it comes from (and its search score, when given)."""
    row = {
        "id": stored.id,
        "kind": stored.kind,
        **item_fields(stored.item),
        "article_id": stored.article_id,
        "title": stored.title,
        "url": stored.url,
        "published": stored.published,
        "site": stored.site,
    }
    if score is not None:
        row["score"] = round(score, 4)
    return row


def article_brief(article: Article) -> dict[str, Any]:
    """What a list of articles shows: title, source, date and counts of rows."""
    return {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "site": article.site,
        "published": article.published.isoformat() if article.published else "",
        "category": article.category,
        "type": article.type,
        "rows": {kind: len(article.items(kind)) for kind in KINDS},
        "incomplete": article.incomplete,
    }


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
