"""Trends: rows that many articles share, clustered by meaning, with their course in time.

The rows of one kind (signals by default) are clustered by embedding with average-linkage
agglomerative clustering, cut at a cosine similarity (`similarity`). Technologies are first
grouped by normalised name (GPT-4, GPT 4 and gpt4 are one), so the same technology always
lands in one cluster under the name most articles use. Each cluster is named by its most
central row and gets its articles, first and last dates, monthly counts, mean relevancy
and a momentum label from those counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import numpy as np

from kb.filters import EVERY_ROW, Filters
from kb.index import RowIndex, technology_key
from kb.records import Kind
from kb.store import Store, StoredItem

__all__ = ["Momentum", "Trend", "canonical_name", "compute_trends", "technology_key"]

Momentum = Literal["new", "rising", "steady", "fading", "single", "undated"]
MAX_ROWS = 5000  # clustering is quadratic; beyond this only the most recent rows count
DEFAULT_SIMILARITY: dict[str, float] = {"technologies": 0.75}


@dataclass
class Trend:
    """A cluster of rows of one kind across articles."""

    name: str
    kind: Kind
    size: int
    article_ids: list[str]
    first_seen: date | None
    last_seen: date | None
    monthly: dict[str, int]
    mean_relevancy: float
    momentum: Momentum
    members: list[StoredItem] = field(repr=False)


def canonical_name(name: str, known: Iterable[str]) -> str:
    """An existing name with the same technology key as `name`, else `name` itself.

    `canonical_name("gpt4", ["GPT-4", "Phi-3"])` is "GPT-4": existing names are reused
    before new spellings are invented.
    """
    key = technology_key(name)
    return next((k for k in known if technology_key(k) == key), name)


def _month(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months_before(ref: date, months: int) -> str:
    total = ref.year * 12 + ref.month - 1 - months
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def momentum(
    monthly: dict[str, int], first_seen: date | None, ref: date | None, articles: int = 2
) -> Momentum:
    """single: one article, which is no trend yet; undated: no row has a date; new: first
    seen in the last three months; rising/fading: the last three months hold at least half
    again as many / a third fewer rows than the three before; else steady."""
    if articles < 2:
        return "single"
    if ref is None or first_seen is None:
        return "undated"
    if _month(first_seen) > _months_before(ref, 3):
        return "new"
    recent = sum(n for m, n in monthly.items() if m > _months_before(ref, 3))
    prior = sum(
        n for m, n in monthly.items() if _months_before(ref, 6) < m <= _months_before(ref, 3)
    )
    if recent == 0 or recent * 3 < prior * 2:
        return "fading"
    if recent >= 2 and recent * 2 >= prior * 3:
        return "rising"
    return "steady"


def _clusters(vectors: np.ndarray, similarity: float) -> np.ndarray:
    if len(vectors) == 1:
        return np.zeros(1, dtype=int)
    from scipy.cluster.hierarchy import fcluster, linkage

    tree = linkage(vectors.astype(np.float64), method="average", metric="cosine")
    return np.asarray(fcluster(tree, t=1.0 - similarity, criterion="distance")) - 1


def compute_trends(
    store: Store,
    *,
    kind: Kind = "signals",
    filters: Filters = EVERY_ROW,
    min_articles: int = 2,
    similarity: float | None = None,
    today: date | None = None,
) -> list[Trend]:
    """Cluster one kind's rows across articles into trends, most widely shared first.

    Args:
        store: the knowledge base.
        kind: the table to cluster (signals, technologies, concerns, ...).
        filters: which rows to cluster (its kinds are not used: `kind` is).
        min_articles: drop clusters found in fewer articles than this.
        similarity: cosine at which rows join one cluster (0.6; 0.75 for technologies).
        today: the reference date for momentum (default: the newest row's date).

    Returns:
        Trends sorted by number of articles, then size, then mean relevancy.
    """
    with store.reading() as index:
        return _trends(index, kind, filters, min_articles, similarity, today)


def _trends(
    index: RowIndex,
    kind: Kind,
    filters: Filters,
    min_articles: int,
    similarity: float | None,
    today: date | None,
) -> list[Trend]:
    mask = index.mask(filters.only(kind))
    slots = index.live_slots(kind) if mask is None else np.flatnonzero(mask)
    if len(slots) > MAX_ROWS:
        slots = slots[np.argsort(-index.date[slots], kind="stable")[:MAX_ROWS]]
    if len(slots) == 0:
        return []
    items = [index.item(int(at)) for at in slots]
    unit_of: dict[str, int] = {}
    units: list[list[int]] = []
    for i, row in enumerate(items):
        key = technology_key(row.item.name) if kind == "technologies" else row.id
        if key not in unit_of:
            unit_of[key] = len(units)
            units.append([])
        units[unit_of[key]].append(i)
    vectors = index.vectors[slots]
    centroids = np.stack([vectors[members].mean(axis=0) for members in units])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-12
    labels = _clusters(centroids, similarity or DEFAULT_SIMILARITY.get(kind, 0.6))
    dates = [date.fromisoformat(r.published) if r.published else None for r in items]
    ref = today or max((d for d in dates if d), default=None)
    trends = []
    for label in np.unique(labels):
        members = [i for u in np.flatnonzero(labels == label) for i in units[u]]
        articles = list(dict.fromkeys(items[i].article_id for i in members))
        if len(articles) < min_articles:
            continue
        center = vectors[members].mean(axis=0)
        central = members[int(np.argmax(vectors[members] @ center))]
        name = items[central].item.name
        if kind == "technologies":
            same = [items[i].item.name for i in units[unit_of[technology_key(name)]]]
            name = Counter(same).most_common(1)[0][0]
        seen = sorted(d for i in members if (d := dates[i]))
        monthly = dict(sorted(Counter(_month(d) for d in seen).items()))
        first = seen[0] if seen else None
        ordered = [
            central,
            *sorted((i for i in members if i != central), key=lambda i: -items[i].item.relevancy),
        ]
        trends.append(
            Trend(
                name=name,
                kind=kind,
                size=len(members),
                article_ids=articles,
                first_seen=first,
                last_seen=seen[-1] if seen else None,
                monthly=monthly,
                mean_relevancy=round(float(np.mean([items[i].item.relevancy for i in members])), 2),
                momentum=momentum(monthly, first, ref, len(articles)),
                members=[items[i] for i in ordered],
            )
        )
    trends.sort(key=lambda t: (-len(t.article_ids), -t.size, -t.mean_relevancy, t.name))
    return trends
