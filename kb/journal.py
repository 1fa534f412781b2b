"""The write journal: one chromadb entry per write to the store.

An entry names the articles of a write (comma-separated ids, or "*" for a reindex) and
is added before the write starts (not done) and marked done when it ends. Opening a store
rolls back what a crash left unfinished (`Journal.crashed`), and the finished entries are
the change log other processes read to bring their in-memory index up to date
(`kb.live_index`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

EVERYTHING = "*"  # the articles of a reindex: every one
_CRASHED_AFTER_NS = 5 * 60 * 10**9  # an unfinished write this old was interrupted


@dataclass(frozen=True)
class Change:
    """One journal entry."""

    id: str
    articles: str
    done: bool
    at: int  # time_ns of the write's start, or of its end once done

    @property
    def article_ids(self) -> list[str]:
        """The ids of the articles written (none for a reindex)."""
        return [a for a in self.articles.split(",") if a and a != EVERYTHING]


class Journal:
    """The journal collection, read and written as `Change`s."""

    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def begin(self, articles: str) -> str:
        """Journal a write about to start; returns its change id."""
        change_id = f"change:{uuid.uuid4().hex}"
        meta = {"articles": articles, "done": False, "at": time.time_ns()}
        self._collection.add(ids=[change_id], embeddings=[[1.0]], metadatas=[meta])
        return change_id

    def finish(self, change_id: str, articles: str) -> int:
        """Mark a write done: from now on it is a change others apply. Returns its time."""
        at = time.time_ns()
        meta = {"articles": articles, "done": True, "at": at}
        self._collection.upsert(ids=[change_id], embeddings=[[1.0]], metadatas=[meta])
        return at

    def crashed(self) -> list[Change]:
        """Unfinished writes old enough that no process is still making them."""
        cutoff = time.time_ns() - _CRASHED_AFTER_NS
        # A younger unfinished write may be another process's, in progress right now.
        return [c for c in self._read() if not c.done and c.at <= cutoff]

    def count(self) -> int:
        """How many entries there are (about 1 ms, where a filtered read costs 5)."""
        return int(self._collection.count())

    def since(self, at: int) -> list[Change]:
        """The entries whose time is after `at` (time_ns)."""
        # Filter on the time only: chromadb answers a boolean clause 20 times slower here.
        return self._read(where={"at": {"$gt": at}})

    def _read(self, **query: Any) -> list[Change]:
        found = self._collection.get(include=["metadatas"], **query)
        return [
            Change(change_id, str(meta["articles"]), bool(meta["done"]), int(meta["at"]))
            for change_id, meta in zip(found["ids"], found["metadatas"], strict=True)
        ]
