"""The lifecycle of the store's in-memory row index (`kb.index.RowIndex`).

`LiveIndex` loads the index on first use, from a snapshot (`index/<collection id>.npz`
under the store's home) plus the changes journalled since, or from chromadb when there is
no snapshot. It applies this process's writes as they happen, and at most once a second
looks in the journal (`kb.journal`) for other processes' writes and re-reads the rows of
the articles they changed. All of it happens under one lock, which `kb.store.Store`
holds while a caller reads the index.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.index import RowIndex
from kb.journal import EVERYTHING, Journal
from kb.records import KINDS

_LOAD_BATCH = 5000
_CHANGES_TTL = 1.0  # seconds between looks at the change log for other processes' writes
_CHANGES_MARGIN_NS = 60 * 10**9  # changes this much older than the last one are re-read
_SNAPSHOT_ROWS = 5000  # rows re-read from chromadb in one sync that justify a new snapshot

Rows = tuple[list[str], np.ndarray, list[dict[str, Any]], list[str]]


def row_ids(article_id: str, meta: dict[str, Any]) -> list[str]:
    """The ids of an article's rows, from the row counts in its article entry."""
    return [
        f"{article_id}:{kind}:{i}" for kind in KINDS for i in range(int(meta.get(f"n_{kind}", 0)))
    ]


@dataclass
class Collections:
    """The store's chromadb collections; a reindex swaps `articles` and `rows`."""

    articles: Any
    rows: Any
    journal: Journal


class LiveIndex:
    """The in-memory index of one store, kept in step with the store's collections.

    Args:
        home: the store's directory (for the snapshot).
        collections: the store's collections, shared with it.
        embedder: the name and dimension of the store's embedder, as it is now.
        reopen: called when another process reindexed, to reopen the collections.
    """

    def __init__(
        self,
        home: Path,
        collections: Collections,
        embedder: Callable[[], tuple[str, int]],
        reopen: Callable[[], None],
    ) -> None:
        self.lock = threading.RLock()
        self._home = home
        self._cols = collections
        self._embedder = embedder
        self._reopen = reopen
        self._index: RowIndex | None = None
        self._checked_at = 0.0  # monotonic time of the last look for others' changes
        self._synced_at = 0  # newest change (time_ns) the index reflects
        self._applied: dict[str, int] = {}  # change records in the index -> their time
        self._journal_size = -1  # journal entries when last synced
        self._saw_unfinished = False  # the last sync saw a write still in progress

    def current(self) -> RowIndex:
        """The index: loaded on first use, then brought up to date with other processes'
        changes, looked for at most once a second. Call it holding `lock`."""
        with self.lock:
            now = time.monotonic()
            if self._index is not None and now - self._checked_at < _CHANGES_TTL:
                return self._index
            self._checked_at = now
            if self._index is None:
                self._index = self._open()
            else:
                self._sync()
            return self._index

    def replace(self, article_ids: Iterable[str], rows: Rows | None = None) -> None:
        """Apply this process's write: the articles' rows go, `rows` (if any) come in."""
        with self.lock:
            if self._index is not None:
                self._index.remove_articles(list(article_ids))
                if rows is not None:
                    self._index.add(*rows)

    def applied(self, change_id: str, at: int) -> None:
        """Note a journalled write of this process as in the index."""
        with self.lock:
            self._applied[change_id] = at
            self._synced_at = max(self._synced_at, at)

    def drop(self) -> None:
        """Forget the index (after a reindex); the next use loads it again."""
        with self.lock:
            self._index = None

    def save(self) -> None:
        """Write the index to its snapshot, so the next process starts fast."""
        with self.lock:
            if self._index is None:
                return
            recent = self._synced_at - _CHANGES_MARGIN_NS
            applied = {c: at for c, at in self._applied.items() if at > recent}
            extra = {
                "embedder": self._embedder()[0],
                "synced_at": self._synced_at,
                "applied": applied,
            }
            self._index.save(self._snapshot_path(), extra)

    def _snapshot_path(self) -> Path:
        return self._home / "index" / f"{self._cols.rows.id}.npz"

    def _open(self) -> RowIndex:
        name, dim = self._embedder()
        path = self._snapshot_path()
        loaded = RowIndex.load(path) if path.exists() else None
        if loaded is not None and loaded[1].get("embedder") == name:
            self._index, self._synced_at = loaded[0], int(loaded[1]["synced_at"])
            self._applied.update(loaded[1].get("applied", {}))
            self._sync()
            return self._index
        started = time.time_ns()
        index = RowIndex(dim)
        offset = 0
        while True:
            page = self._cols.rows.get(
                include=["embeddings", "metadatas", "documents"], limit=_LOAD_BATCH, offset=offset
            )
            if not page["ids"]:
                break
            index.add(page["ids"], page["embeddings"], page["metadatas"], page["documents"])
            offset += _LOAD_BATCH
        self._index = index
        # Writes finished before the load began are in it: count them as applied.
        for change in self._cols.journal.since(started - _CHANGES_MARGIN_NS):
            if change.done and change.at <= started:
                self._applied[change.id] = change.at
        self._synced_at = max(self._synced_at, started)
        self.save()
        return index

    def _sync(self) -> None:
        """Apply the logged changes this index has not seen (idempotently)."""
        assert self._index is not None
        count = self._cols.journal.count()
        if count == self._journal_size and not self._saw_unfinished:
            return
        self._journal_size = count
        changed: set[str] = set()
        everything = unfinished = False
        for change in self._cols.journal.since(self._synced_at - _CHANGES_MARGIN_NS):
            if not change.done:
                unfinished = True
                continue
            self._synced_at = max(self._synced_at, change.at)
            if change.id in self._applied:
                continue
            self._applied[change.id] = change.at
            everything |= change.articles == EVERYTHING
            changed.update(a for a in change.articles.split(",") if a)
        self._saw_unfinished = unfinished  # its end will not change the count: look again
        if everything:  # another process reindexed: new collections, new vectors
            self._reopen()
            self._index = None
            self._index = self._open()
            return
        if changed and self._refresh(changed) >= _SNAPSHOT_ROWS:
            # This process paid for re-reading them; spare the next one.
            self.save()

    def _refresh(self, article_ids: set[str]) -> int:
        """Reload the rows of some articles from chromadb into the index; returns how many."""
        assert self._index is not None
        self._index.remove_articles(article_ids)
        found = self._cols.articles.get(ids=sorted(article_ids), include=["metadatas"])
        ids = [
            row_id
            for aid, meta in zip(found["ids"], found["metadatas"], strict=True)
            for row_id in row_ids(aid, meta)
        ]
        for start in range(0, len(ids), _LOAD_BATCH):
            page = self._cols.rows.get(
                ids=ids[start : start + _LOAD_BATCH],
                include=["embeddings", "metadatas", "documents"],
            )
            self._index.add(page["ids"], page["embeddings"], page["metadatas"], page["documents"])
        return len(ids)
