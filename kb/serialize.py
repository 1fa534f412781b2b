"""One JSON shape per thing a reader sees: an article, a row, a search hit, a trend.

The CLI's `--json` output and the web's JSON twins both build their objects here, so the
two cannot drift. A trend's `articles` is the number of its articles; `article_ids` lists
them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kb.index import StoredItem
from kb.records import KINDS, Article

if TYPE_CHECKING:
    from kb.search import Hit
    from kb.trends import Trend


def article_json(article: Article) -> dict[str, Any]:
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


def row_json(stored: StoredItem, score: float | None = None) -> dict[str, Any]:
    """A stored row with the article it comes from (and its score, when given)."""
    row = {
        "id": stored.id,
        "kind": stored.kind,
        **stored.item.model_dump(),
        "article_id": stored.article_id,
        "title": stored.title,
        "url": stored.url,
        "published": stored.published,
        "site": stored.site,
    }
    if score is not None:
        row["score"] = round(score, 4)
    return row


def hit_json(hit: Hit) -> dict[str, Any]:
    """A search hit: its row, score and cosine similarity (None in keyword mode)."""
    return {**row_json(hit.row, hit.score), "similarity": hit.similarity}


def trend_key(trend: Trend) -> str:
    """A trend's address: the id of its most central row."""
    return trend.members[0].id


def trend_json(trend: Trend) -> dict[str, Any]:
    """A trend without its member rows."""
    return {
        "key": trend_key(trend),
        "name": trend.name,
        "kind": trend.kind,
        "size": trend.size,
        "articles": len(trend.article_ids),
        "article_ids": trend.article_ids,
        "first_seen": trend.first_seen,
        "last_seen": trend.last_seen,
        "monthly": trend.monthly,
        "mean_relevancy": trend.mean_relevancy,
        "momentum": trend.momentum,
    }
