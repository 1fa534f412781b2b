"""An in-memory mirror of the stored rows, for filtered search in milliseconds.

chromadb answers an unfiltered nearest-neighbour query fast, but a `where` filter on
kind and relevancy made it scan metadata: 128 ms at 100,000 rows. `RowIndex` keeps every
row's vector in one float32 matrix and its filterable fields (kind, relevancy, date, site,
article, the article's themes and technologies) in numpy columns, so a filter is a boolean
mask and a search is one matrix-vector product over the rows that pass. It also holds the
BM25 keyword index, rebuilt lazily after writes. The store loads it on first use and keeps
it in step with its own writes; another process's writes are noticed in the store's write
journal.
"""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from kb.filters import Filters
from kb.records import ITEM_TYPES, KINDS, Item, Kind

_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
_SNAPSHOT_VERSION = 1
_SHARED_KEYS = ("article_id", "kind", "title", "url", "site", "published", "themes")
EXACT_MAX = 20_000  # candidate rows scored exactly; beyond, the ANN index is asked first

# An approximate nearest-neighbour search: (unit query, how many) -> [(row id, cosine)].
AnnSearch = Callable[[np.ndarray, int], list[tuple[str, float]]]
_TOKEN = re.compile(r"\w+(?:[-.]\w+)*")
_STOPWORDS = frozenset(
    {
        "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
        "into", "is", "it", "its", "of", "on", "or", "that", "the", "their", "this", "to",
        "was", "were", "will", "with",
    }
)  # fmt: skip


@dataclass(frozen=True)
class StoredItem:
    """A table row as stored: the item and the article it belongs to."""

    id: str
    kind: Kind
    item: Item
    article_id: str
    title: str
    url: str
    published: str
    site: str


def stored_item(item_id: str, meta: dict[str, Any]) -> StoredItem:
    """Rebuild a StoredItem from a row's id and metadata."""
    kind: Kind = meta["kind"]
    return StoredItem(
        id=item_id,
        kind=kind,
        item=ITEM_TYPES[kind].model_validate(json.loads(str(meta["item"]))),
        article_id=str(meta["article_id"]),
        title=str(meta["title"]),
        url=str(meta["url"]),
        published=str(meta["published"]),
        site=str(meta["site"]),
    )


def technology_key(name: str) -> str:
    """The comparison key of a technology name: GPT-4, GPT 4 and gpt4 share `gpt4`.

    Lower case, a trailing "(ABBR)" dropped, only letters and digits kept, and a plural
    "s" dropped, so "Small Language Models (SLMs)" and "small language model" meet.
    """
    key = re.sub(r"\s*\([^)]*\)\s*$", "", name.lower())
    key = re.sub(r"[\W_]+", "", key)
    if len(key) > 3 and key.endswith("s") and key[-2].isalpha() and not key.endswith("ss"):
        key = key[:-1]
    return key


def site_key(site: str) -> str:
    """A site or host compared without case and without a leading `www.`."""
    site = site.strip().lower()
    return site[4:] if site.startswith("www.") else site


def tokenize(text: str) -> list[str]:
    """Keyword tokens: lower-case words, plus hyphenated names whole and joined.

    "Phi-3" gives `phi-3`, `phi3`, `phi` and `3`, so a query for any spelling finds it.
    """
    tokens: list[str] = []
    for match in _TOKEN.findall(text.lower()):
        parts = re.split(r"[-.]", match)
        if len(parts) > 1:
            tokens += [match, "".join(parts)]
        tokens += [p for p in parts if p and p not in _STOPWORDS]
    return tokens


def date_int(day: date | None) -> int:
    """A date as the integer YYYYMMDD (0 for none), the form stored for range filters."""
    return int(day.strftime("%Y%m%d")) if day else 0


class RowIndex:
    """Vectors and filter columns of every row, in numpy arrays grown as rows are added."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self.size = 0  # slots used, dead ones included
        self.vectors = np.zeros((0, dim), dtype=np.float32)
        self.kind = np.zeros(0, dtype=np.int8)
        self.relevancy = np.zeros(0, dtype=np.int8)
        self.date = np.zeros(0, dtype=np.int32)
        self.site = np.zeros(0, dtype=np.int32)
        self.article = np.zeros(0, dtype=np.int32)
        self.alive = np.zeros(0, dtype=bool)
        self.ids: list[str] = []
        self.meta: list[dict[str, Any] | None] = []
        self.documents: list[str] = []
        self.pos: dict[str, int] = {}
        self._sites: dict[str, int] = {}
        self._articles: dict[str, int] = {}
        self._article_rows: dict[int, list[int]] = {}
        self._themes: dict[str, set[int]] = {}
        self._techs: dict[str, set[int]] = {}
        self._tech_names: dict[str, Counter[str]] = {}  # key -> spellings in use, counted
        self._article_terms: dict[int, tuple[set[str], list[str]]] = {}  # themes, techs
        self._bm25: Any = None
        self._bm25_rows = np.zeros(0, dtype=np.int64)
        self._bm25_fresh = False
        self._bm25_lock = threading.RLock()
        self._bm25_thread: threading.Thread | None = None
        self._epoch = 0  # bumped when compaction renumbers the slots

    def __len__(self) -> int:
        return len(self.pos)

    def _grow(self, extra: int) -> None:
        need = self.size + extra
        if need <= len(self.alive):
            return
        cap = max(need, 2 * len(self.alive), 1024)

        def grown(arr: np.ndarray) -> np.ndarray:
            out = np.zeros((cap, *arr.shape[1:]), dtype=arr.dtype)
            out[: self.size] = arr[: self.size]
            return out

        self.vectors = grown(self.vectors)
        self.kind, self.relevancy = grown(self.kind), grown(self.relevancy)
        self.date, self.site = grown(self.date), grown(self.site)
        self.article, self.alive = grown(self.article), grown(self.alive)

    def add(
        self,
        ids: Sequence[str],
        vectors: np.ndarray | Sequence[Sequence[float]],
        metadatas: Sequence[dict[str, Any]],
        documents: Sequence[str],
    ) -> None:
        """Append rows (ids must not be present; remove an article's old rows first)."""
        n = len(ids)
        if n == 0:
            return
        self._grow(n)
        start, end = self.size, self.size + n
        self.vectors[start:end] = np.asarray(vectors, dtype=np.float32)
        for offset, (item_id, meta) in enumerate(zip(ids, metadatas, strict=True)):
            at = start + offset
            for key in _SHARED_KEYS:  # one copy of each article's strings, not one per row
                if isinstance(meta.get(key), str):
                    meta[key] = sys.intern(meta[key])
            code = self._articles.setdefault(str(meta["article_id"]), len(self._articles))
            self.kind[at] = _KIND_CODE[meta["kind"]]
            self.relevancy[at] = int(meta["relevancy"])
            self.date[at] = int(meta.get("date") or 0)
            self.site[at] = self._sites.setdefault(site_key(str(meta["site"])), len(self._sites))
            self.article[at] = code
            self.alive[at] = True
            self._article_rows.setdefault(code, []).append(at)
            themes, techs = self._article_terms.setdefault(code, (set(), []))
            for theme in str(meta.get("themes", "")).lower().split("\n"):
                if theme and theme not in themes:
                    themes.add(theme)
                    self._themes.setdefault(theme, set()).add(code)
            if meta["kind"] == "technologies":
                name = str(meta["name"])
                key = technology_key(name)
                techs.append(name)
                self._techs.setdefault(key, set()).add(code)
                self._tech_names.setdefault(key, Counter())[name] += 1
            self.pos[item_id] = at
        self.ids += list(ids)
        self.meta += list(metadatas)
        self.documents += list(documents)
        self.size = end
        self._bm25_fresh = False

    def remove_articles(self, article_ids: Iterable[str]) -> None:
        """Drop every row of these articles."""
        for article_id in article_ids:
            code = self._articles.get(article_id)
            if code is None:
                continue
            for at in self._article_rows.pop(code, []):
                if self.alive[at]:
                    self.alive[at] = False
                    self.pos.pop(self.ids[at], None)
                    self.meta[at] = None
            themes, techs = self._article_terms.pop(code, (set(), []))
            for theme in themes:
                self._themes[theme].discard(code)
            for name in techs:
                key = technology_key(name)
                self._techs[key].discard(code)
                self._tech_names[key][name] -= 1
                if self._tech_names[key][name] <= 0:
                    del self._tech_names[key][name]
            self._bm25_fresh = False
        if self.size - len(self.pos) > max(1000, self.size // 4):
            # Replaced rows leave dead slots behind; past a quarter, rebuild without them.
            compact = self.compacted()
            compact._epoch = self._epoch + 1
            compact._bm25_lock = self._bm25_lock
            self.__dict__.update(compact.__dict__)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """Which slots pass the filters, or None when no filter is set (every live row)."""
        n = self.size
        parts: list[np.ndarray] = []
        if not filters.all_kinds:
            parts.append(np.isin(self.kind[:n], [_KIND_CODE[k] for k in filters.kinds]))
        if filters.min_relevancy > 1:
            parts.append(self.relevancy[:n] >= filters.min_relevancy)
        if filters.since is not None:
            parts.append(self.date[:n] >= date_int(filters.since))
        if filters.until is not None:
            parts.append((self.date[:n] <= date_int(filters.until)) & (self.date[:n] > 0))
        if filters.site:
            parts.append(self.site[:n] == self._sites.get(site_key(filters.site), -1))
        for codes in (
            self._techs.get(technology_key(filters.technology), set())
            if filters.technology
            else None,
            self._themes.get(filters.theme.lower(), set()) if filters.theme else None,
        ):
            if codes is not None:
                parts.append(np.isin(self.article[:n], np.fromiter(codes, dtype=np.int32)))
        if not parts:
            return None
        out = self.alive[:n].copy()
        for part in parts:
            out &= part
        return out

    def vector_top(
        self,
        query: np.ndarray,
        mask: np.ndarray | None,
        k: int,
        ann: AnnSearch | None = None,
    ) -> list[tuple[int, float]]:
        """The k slots nearest to a unit query vector among those the mask lets through.

        Up to `EXACT_MAX` candidate rows are scored exactly (one pass over their vectors).
        Past that, `ann` (chromadb's HNSW index) is asked for enough neighbours that k of
        them should pass the mask, and the exact pass is the fallback when too few do.
        """
        n = self.size
        if n == 0 or k <= 0 or not self.pos:
            return []
        keep = self.alive[:n] if mask is None else mask
        passing = len(self.pos) if mask is None else int(np.count_nonzero(mask))
        if passing == 0:
            return []
        k = min(k, passing)
        if ann is not None and passing > EXACT_MAX:
            # Ask for enough neighbours that about 2k of them pass the filter.
            depth = k if mask is None else min(len(self.pos), 2 * k * len(self.pos) // passing)
            near = [(self.pos.get(item_id, -1), score) for item_id, score in ann(query, depth)]
            passed = [(at, score) for at, score in near if at >= 0 and keep[at]]
            if len(passed) >= k:
                return passed[:k]
        chosen = np.flatnonzero(keep)
        vectors = self.vectors[:n] if len(chosen) == n else self.vectors[chosen]
        # einsum, not BLAS: OpenBLAS threads a matrix-vector product and, on a busy
        # machine, waits milliseconds for its threads; one SIMD loop does not.
        scores = np.einsum("ij,j->i", vectors, query.astype(np.float32, copy=False))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(chosen[i]), float(scores[i])) for i in top]

    def keyword_top(self, query: str, mask: np.ndarray | None, k: int) -> list[tuple[int, float]]:
        """The k slots with the best BM25 score for `query` (score > 0) that pass the mask."""
        tokens = tokenize(query)
        if not tokens or not self.pos:
            return []
        bm25, rows = self._keyword_index()
        keep = self.alive[rows] if mask is None else self.alive[rows] & mask[rows]
        scores = np.where(keep, bm25.get_scores(tokens), 0.0)
        hits = np.flatnonzero(scores > 0)
        if len(hits) == 0:
            return []
        k = min(k, len(hits))
        top = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(rows[i]), float(scores[i])) for i in top]

    def _keyword_index(self) -> tuple[Any, np.ndarray]:
        """The BM25 index: built on first use, then rebuilt after writes.

        A rebuild (seconds at 100,000 rows) runs in a background thread while searches use
        the previous index: rows written since are missing from the keyword ranking (the
        vector ranking has them) and removed rows are masked out, until the new index is
        swapped in.
        """
        with self._bm25_lock:
            if self._bm25 is None:
                self._build_keywords(self._epoch)
            elif not self._bm25_fresh and self._bm25_thread is None:
                self._bm25_thread = threading.Thread(
                    target=self._build_keywords, args=(self._epoch,), daemon=True
                )
                self._bm25_thread.start()
            return self._bm25, self._bm25_rows

    def _build_keywords(self, epoch: int) -> None:
        import bm25s

        self._bm25_fresh = True  # writes from here on make it stale again
        rows = np.flatnonzero(self.alive[: self.size])
        corpus = [tokenize(self.documents[i]) for i in rows]
        bm25 = bm25s.BM25()
        bm25.index(corpus, show_progress=False)
        with self._bm25_lock:
            if epoch == self._epoch:  # slots were not renumbered meanwhile
                self._bm25, self._bm25_rows = bm25, rows
            else:
                self._bm25_fresh = False
            if threading.current_thread() is self._bm25_thread:
                self._bm25_thread = None

    def technology_names(self) -> dict[str, str]:
        """Each technology key in use and its most used spelling (first seen on a tie)."""
        return {key: names.most_common(1)[0][0] for key, names in self._tech_names.items() if names}

    def item(self, at: int) -> StoredItem:
        """The stored row in a slot."""
        meta = self.meta[at]
        if meta is None:
            raise KeyError(at)
        return stored_item(self.ids[at], meta)

    def live_slots(self, kind: Kind | None = None) -> np.ndarray:
        """Slots of the live rows, of one kind or all."""
        keep = self.alive[: self.size]
        if kind is not None:
            keep = keep & (self.kind[: self.size] == _KIND_CODE[kind])
        return np.flatnonzero(keep)

    def compacted(self) -> RowIndex:
        """A copy holding only the live rows (slots renumbered)."""
        live = self.live_slots()
        out = RowIndex(self.dim)
        out.add(
            [self.ids[i] for i in live],
            self.vectors[live],
            [self.meta[i] or {} for i in live],
            [self.documents[i] for i in live],
        )
        return out

    def save(self, path: Path, extra: dict[str, Any]) -> None:
        """Write the live rows to one .npz file (atomically: a temp file, then a rename)."""
        live = self.live_slots()
        header = {
            "version": _SNAPSHOT_VERSION,
            "dim": self.dim,
            "ids": [self.ids[i] for i in live],
            "meta": [self.meta[i] for i in live],
            "documents": [self.documents[i] for i in live],
            **extra,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as out:
            np.savez(
                out,
                vectors=self.vectors[live],
                header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
            )
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> tuple[RowIndex, dict[str, Any]] | None:
        """A snapshot written by `save` and its extra fields; None if unreadable or old."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(data["header"].tobytes().decode("utf-8"))
                vectors = data["vectors"]
        except (OSError, ValueError, KeyError):
            return None
        if header.get("version") != _SNAPSHOT_VERSION or len(header["ids"]) != len(vectors):
            return None
        index = cls(int(header["dim"]))
        index.add(header.pop("ids"), vectors, header.pop("meta"), header.pop("documents"))
        return index, header
