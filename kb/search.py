"""Search over the rows of every article: by meaning, by keyword, or both fused.

Hybrid ranking (the default) runs two searches over the rows that pass the filters, the
nearest vectors (MiniLM cosine) and the best BM25 keyword scores (bm25s), and fuses their
ranks by reciprocal rank fusion, so a paraphrase and an exact name ("Phi-3") both find
their rows. Filters are masks over the store's in-memory index (`kb.index.RowIndex`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import numpy as np

from kb.embed import Embedder
from kb.errors import NotFoundError
from kb.filters import EVERY_ROW, Filters
from kb.records import Article
from kb.store import Store, StoredItem

Mode = Literal["hybrid", "vector", "keyword"]
RRF_K = 60  # the constant of reciprocal rank fusion (Cormack et al. 2009)
_MIN_DEPTH = 50  # candidates taken from each ranking before fusing


@dataclass(frozen=True)
class Hit:
    """One search result: a stored row and its score (higher is closer).

    `score` is what the hits are sorted by: in hybrid mode the fused rank score scaled to
    0..1 (1 = first in both rankings); in vector mode the cosine similarity; in keyword
    mode the BM25 score. `similarity` and `keyword` keep the two parts where known.
    """

    row: StoredItem
    score: float
    similarity: float | None = None
    keyword: float | None = None


@lru_cache(maxsize=256)
def _query_vector(embedder: Embedder, query: str) -> np.ndarray:
    return np.asarray(embedder.embed([query])[0], dtype=np.float32)


def query_vector(store: Store, query: str) -> np.ndarray:
    """The embedding of a query, remembered for repeated queries."""
    return _query_vector(store.embedder, query)


def search(
    store: Store,
    query: str,
    filters: Filters = EVERY_ROW,
    *,
    limit: int = 10,
    offset: int = 0,
    mode: Mode = "hybrid",
) -> list[Hit]:
    """Rows that best match `query`, among those passing every filter given.

    Args:
        store: the knowledge base.
        query: free text; embedded with the store's embedder and split into keywords.
        filters: which rows to search (every row of the five tables by default).
        limit, offset: the page of results.
        mode: "hybrid" (vector + BM25, fused), "vector" or "keyword".

    Returns:
        Hits, best first.
    """
    if not query.strip() or limit <= 0:
        return []
    store.check_embedder()
    vector = query_vector(store, query) if mode != "keyword" else None
    with store.reading() as index:
        mask = index.mask(filters)
        want = offset + limit
        if vector is None:
            found = index.keyword_top(query, mask, want)
            return [Hit(index.item(at), s, keyword=s) for at, s in found[offset:]]
        if mode == "vector":
            found = index.vector_top(vector, mask, want, ann=store.ann)
            return [Hit(index.item(at), s, similarity=s) for at, s in found[offset:]]
        depth = max(3 * want, _MIN_DEPTH)
        nearest = index.vector_top(vector, mask, depth, ann=store.ann)
        keyword = index.keyword_top(query, mask, depth)
        fused: dict[int, float] = {}
        for ranking in (nearest, keyword):
            for rank, (at, _) in enumerate(ranking):
                fused[at] = fused.get(at, 0.0) + 1.0 / (RRF_K + rank + 1)
        similarity, bm25 = dict(nearest), dict(keyword)
        best = 2.0 / (RRF_K + 1)
        order = sorted(fused, key=lambda at: (-fused[at], -similarity.get(at, -1.0)))
        return [
            Hit(index.item(at), fused[at] / best, similarity.get(at), bm25.get(at))
            for at in order[offset:want]
        ]


def similar_items(store: Store, item_id: str, limit: int = 10) -> list[Hit]:
    """Rows closest in meaning to one stored row (itself left out), by cosine.

    Raises:
        NotFoundError: no row has this id.
    """
    with store.reading() as index:
        at = index.pos.get(item_id)
        if at is None:
            raise NotFoundError("no row with this id", source=item_id)
        found = index.vector_top(index.vectors[at].copy(), None, limit + 1, ann=store.ann)
        return [Hit(index.item(i), s, similarity=s) for i, s in found if i != at][:limit]


def similar_articles(store: Store, article_id: str, limit: int = 5) -> list[tuple[Article, float]]:
    """Articles whose title and summary are closest to one article's, with their cosine.

    Raises:
        NotFoundError: no article has this id.
    """
    vectors = store.article_vectors([article_id])
    if article_id not in vectors:
        raise NotFoundError("no article with this id", source=article_id)
    found = store.nearest_articles(vectors[article_id], limit + 1)
    return [(a, score) for a, score in found if a.id != article_id][:limit]
