"""Ingest orchestration: one source → Document → Article → Store, and batches of them.

A failed source never stops a batch: its error is kept as an `Outcome` with the reason
and appended to the failures log, and the batch goes on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from ingest.document import Document
from ingest.extract.base import Extractor
from ingest.sources import load_document
from kb.errors import SignalKBError
from kb.records import Article, article_id_for, text_hash
from kb.settings import Settings
from kb.store import Store

Status = Literal["ingested", "unchanged", "duplicate", "failed"]


@dataclass
class Outcome:
    """What happened to one source."""

    source: str
    status: Status
    article_id: str = ""
    title: str = ""
    message: str = ""


@dataclass
class BatchSummary:
    """The outcomes of a batch, in input order."""

    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        """How many sources ended with this status."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        """The sources that failed, with their reasons."""
        return [o for o in self.outcomes if o.status == "failed"]


def finish_article(article: Article, document: Document) -> Article:
    """Stamp an extracted record with the document's identity, metadata and text."""
    return article.model_copy(
        update={
            "id": article_id_for(document.url),
            "url": document.url,
            "title": document.title or article.title,
            "site": document.site,
            "author": document.author,
            "published": document.published,
            "language": document.language,
            "text": document.text,
            "text_hash": text_hash(document.text),
            "ingested_at": datetime.now(UTC),
        }
    )


def ingest_document(
    document: Document, *, store: Store, extractor: Extractor, force: bool = False
) -> Outcome:
    """Extract and store one already-loaded document; skip it when stored and unchanged."""
    existing = store.find_by_url(document.url)
    if existing and existing.text_hash == text_hash(document.text) and not force:
        return Outcome(document.source, "unchanged", existing.id, existing.title)
    article = finish_article(extractor.extract(document), document)
    store.add(article)
    return Outcome(document.source, "ingested", article.id, article.title)


def ingest_source(
    source: str, *, store: Store, extractor: Extractor, settings: Settings, force: bool = False
) -> Outcome:
    """Load, extract and store one URL or path; errors become a failed Outcome."""
    try:
        document = load_document(source, settings)
        return ingest_document(document, store=store, extractor=extractor, force=force)
    except SignalKBError as exc:
        return Outcome(source, "failed", message=exc.message)


def ingest_batch(
    sources: Iterable[str],
    *,
    store: Store,
    extractor: Extractor,
    settings: Settings,
    force: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> BatchSummary:
    """Ingest each source in turn; failures are logged and the batch goes on."""
    summary = BatchSummary()
    for source in sources:
        outcome = ingest_source(
            source, store=store, extractor=extractor, settings=settings, force=force
        )
        summary.outcomes.append(outcome)
        if outcome.status == "failed":
            log_failure(settings.home, outcome)
        if on_outcome:
            on_outcome(outcome)
    return summary


def failures_path(home: Path) -> Path:
    """The JSON-lines log of failed sources."""
    return home / "failures.jsonl"


def log_failure(home: Path, outcome: Outcome) -> None:
    """Append a failed source and its reason to the failures log."""
    home.mkdir(parents=True, exist_ok=True)
    entry = {**asdict(outcome), "at": datetime.now(UTC).isoformat()}
    with failures_path(home).open("a", encoding="utf-8") as log:
        log.write(json.dumps(entry) + "\n")
