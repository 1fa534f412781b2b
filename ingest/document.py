"""The clean text of one article and its metadata: what ingest hands to the extractor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass
class Document:
    """An article reduced to its main text plus metadata.

    `source` is what the user gave (URL or path); `url` is the canonical URL (or a
    `file:` URI for a local file), the key the article is stored under.
    """

    source: str
    url: str
    title: str
    text: str
    site: str = ""
    author: str = ""
    published: date | None = None
    language: str = ""
    extra: dict[str, str] = field(default_factory=dict)
