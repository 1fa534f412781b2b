"""signalkb ingest: URLs, feeds and files → clean article text → records.

The public surface: `load_document` (any source → Document), `Document`,
and `normalize_url`; batches live in `ingest.pipeline`. They are imported on first use,
so that a command importing one ingest module does not load every fetcher and parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.document import Document
    from ingest.sources import load_document
    from ingest.urls import normalize_url

__all__ = ["Document", "load_document", "normalize_url"]
_HOMES = {
    "Document": "ingest.document",
    "load_document": "ingest.sources",
    "normalize_url": "ingest.urls",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'ingest' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_HOMES[name]), name)
