"""signalkb ingest: URLs, feeds and files → clean article text → records.

The public surface: `load_document` (any source → Document), `Document`,
and `normalize_url`; batches live in `ingest.pipeline`.
"""

from ingest.document import Document
from ingest.sources import load_document
from ingest.urls import normalize_url

__all__ = ["Document", "load_document", "normalize_url"]
