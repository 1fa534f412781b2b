"""signalkb's knowledge base: records, the store, search, trends and exports.

The public surface, importable from `kb` directly; names load their module on first use,
so `import kb.errors` stays light (no chromadb, pandas or torch until needed).

    >>> from kb import Filters, Store
    >>> from kb.search import search
    >>> hits = search(Store(home), "smaller models replace big ones", Filters.of(kinds=["signals"]))

`search` itself is not re-exported: `kb.search` is the module of that name.
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    "Article": "kb.records",
    "Filters": "kb.filters",
    "Hit": "kb.search",
    "ITEM_TYPES": "kb.records",
    "KINDS": "kb.records",
    "NotFoundError": "kb.errors",
    "SignalKBError": "kb.errors",
    "Store": "kb.store",
    "StoreError": "kb.errors",
    "StoredItem": "kb.store",
    "Trend": "kb.trends",
    "compute_trends": "kb.trends",
    "export_frame": "kb.export",
    "record_markdown": "kb.markdown",
    "render": "kb.export",
    "similar_articles": "kb.search",
    "similar_items": "kb.search",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'kb' has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
