"""Semantic search over the rows of every article's tables."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kb.records import KINDS, Kind
from kb.store import Store, StoredItem


@dataclass(frozen=True)
class Hit:
    """One search result: a stored row and its score (higher is closer)."""

    row: StoredItem
    score: float


def search(
    store: Store,
    query: str,
    *,
    kinds: Sequence[Kind] = KINDS,
    min_relevancy: int = 1,
    limit: int = 10,
) -> list[Hit]:
    """Rows whose meaning is closest to `query`.

    Args:
        store: the knowledge base.
        query: free text; it is embedded with the store's embedder.
        kinds: the tables to search (all five by default).
        min_relevancy: only rows at least this relevant.
        limit: at most this many hits.

    Returns:
        Hits, best first.
    """
    if not query.strip():
        return []
    vector = store.embedder.embed([query])[0]
    found = store.query_items(vector, kinds=kinds, min_relevancy=min_relevancy, limit=limit)
    return [Hit(row, score) for row, score in found]
