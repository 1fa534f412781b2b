"""Values computed from the whole knowledge base, kept until a row or article changes.

Trends (clustering), the article list and a kind's full table take from a tenth of a
second to seconds at 10,000 rows; pages reuse them while the store is unchanged. A write
grows the row index or changes its live rows, and the article count, which is the key.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from kb.store import Store

T = TypeVar("T")
MAX_ENTRIES = 64


class StoreCache:
    """A small cache of derived values, keyed by what they are and the store's state."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[tuple[Any, ...], Any] = {}

    @staticmethod
    def version(store: Store) -> tuple[int, ...]:
        """What changes whenever an article or a row is written or removed."""
        return store.version()

    def get(self, store: Store, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for `key`, computed (once, under a lock) when missing or stale."""
        full = (key, *self.version(store))
        with self._lock:
            if full not in self._values:
                if len(self._values) >= MAX_ENTRIES:
                    self._values.clear()
                self._values[full] = compute()
            value: T = self._values[full]
            return value
