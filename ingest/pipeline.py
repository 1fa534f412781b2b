"""Ingest orchestration: one source → Document → Article → Store, and batches of them.

A failed source never stops a batch: its error is kept as an `Outcome` with the reason
and appended to the failures log (`ingest.failures`), and the batch goes on. A source
that later succeeds leaves the log. `ingest.runner.run` is the one entry point callers
use; it expands folders, feeds and sitemaps and then runs a batch here.

Duplicates are stored once: the key is the normalised canonical URL; an unchanged text
under a stored URL is skipped ("unchanged"), a changed one replaces the record; a text
that is the same article as a stored one under another URL is skipped as
"duplicate of <id>" (SimHash candidates confirmed by shingle resemblance, `ingest.dedup`).

In a batch, several sources are fetched at once (`settings.concurrency`, with
`settings.host_delay` between two requests to one host) while extraction and storing
run one at a time, in input order. Each article is written all-or-nothing by the store,
so a batch killed half-way and started again finishes the rest: what was stored comes
back "unchanged".
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from ingest.dedup import SAME_TEXT, Fingerprint, FingerprintIndex, resemblance, simhash
from ingest.document import Document
from ingest.extract.base import Extractor
from ingest.extract.steps import reporting
from ingest.failures import log_failure, resolve_failure
from ingest.fetch import Fetcher
from ingest.sources import load_document
from ingest.urls import is_url, normalize_url
from kb.errors import SignalKBError
from kb.records import Article, article_id_for, text_hash
from kb.settings import Settings
from kb.store import Store

Status = Literal["ingested", "replaced", "unchanged", "duplicate", "failed"]
# Called as an article reaches "extracting" (again for each step of the extraction, named
# in the third argument) and then "storing".
StageHook = Callable[[str, Document, str], None]


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

    def line(self) -> str:
        """One closing line: how many were ingested (replaced, when any), unchanged,
        duplicate and failed."""
        replaced = self.count("replaced")
        return (
            f"{self.count('ingested')} ingested, "
            + (f"{replaced} replaced, " if replaced else "")
            + f"{self.count('unchanged')} unchanged, "
            f"{self.count('duplicate')} skipped as duplicate, {self.count('failed')} failed"
        )


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


# ---- duplicates --------------------------------------------------------------------

_INDEXES: dict[str, FingerprintIndex] = {}
_INDEXES_LOCK = threading.Lock()


def fingerprint_index(store: Store) -> FingerprintIndex:
    """The fingerprints of `store`'s articles, rebuilt from the store when out of step."""
    home = Path(store.home)
    key = f"{home.resolve()}|{getattr(store, 'chroma_url', '')}"
    with _INDEXES_LOCK:
        index = _INDEXES.get(key)
        if index is None:
            index = _INDEXES[key] = FingerprintIndex(home / "fingerprints.jsonl")
    stored = store.count()["articles"]
    if len(index) != stored:
        index.rebuild(
            Fingerprint(a.id, a.url, simhash(a.text), a.text_hash or text_hash(a.text))
            for a in store.articles_iter()
        )
    return index


def find_duplicate(document: Document, store: Store, index: FingerprintIndex) -> Article | None:
    """A stored article under another URL whose text is the same article, if any."""
    own_id = article_id_for(document.url)
    digest = text_hash(document.text)
    candidates = index.candidates(simhash(document.text), digest, exclude=own_id)
    if not candidates:
        return None
    stored = store.get_many([c.article_id for c in candidates[:5]])
    for candidate in candidates[:5]:
        article = stored.get(candidate.article_id)
        if article is None:
            continue
        if article.text_hash == digest or resemblance(article.text, document.text) >= SAME_TEXT:
            return article
    return None


# ---- one source ----------------------------------------------------------------------


def ingest_document(
    document: Document,
    *,
    store: Store,
    extractor: Extractor,
    force: bool = False,
    on_stage: StageHook | None = None,
) -> Outcome:
    """Extract and store one loaded document, unless it is stored unchanged or a duplicate.

    Args:
        document: the loaded article.
        store: the knowledge base.
        extractor: turns the document into a record.
        force: re-extract an article that is stored and unchanged.
        on_stage: told when the article is being extracted (and each step of that) and
            then stored.

    Returns:
        "unchanged" (same URL, same text), "duplicate" (same article under another URL;
        the message names it), "replaced" (stored before, its text changed or --force) or
        "ingested" (new).
    """
    digest = text_hash(document.text)
    existing = store.find_by_url(document.url)
    if existing and existing.text_hash == digest and not force:
        return Outcome(document.source, "unchanged", existing.id, existing.title)
    index = fingerprint_index(store)
    if existing is None:
        original = find_duplicate(document, store, index)
        if original is not None:
            return Outcome(
                document.source,
                "duplicate",
                original.id,
                original.title,
                f"duplicate of {original.id}",
            )
    stage = on_stage or (lambda *_: None)
    stage("extracting", document, "")
    with reporting(lambda name: stage("extracting", document, name)):
        article = finish_article(extractor.extract(document), document)
    stage("storing", document, "")
    store.add(article)
    index.add(Fingerprint(article.id, article.url, simhash(document.text), digest))
    status: Status = "ingested" if existing is None else "replaced"
    return Outcome(document.source, status, article.id, article.title)


# ---- batches -------------------------------------------------------------------------


class HostThrottle:
    """Spaces out requests to the same host by at least `delay` seconds (thread-safe)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, source: str) -> None:
        """Block until a request to `source`'s host is polite; local files never wait."""
        host = (urlsplit(source).hostname or "") if is_url(source) else ""
        if not host or self.delay <= 0:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next.get(host, now))
            self._next[host] = slot + self.delay
        if slot > now:
            time.sleep(slot - now)


def source_key(source: str) -> str:
    """What makes two sources the same: the normalised URL, or the absolute path."""
    source = source.strip()
    if is_url(source):
        return normalize_url(source)
    return str(Path(source).expanduser().resolve())


def _prefetched(
    sources: list[str], settings: Settings, fetcher: Fetcher
) -> Iterator[tuple[str, Future[Document]]]:
    """Each source with its Document being loaded in the background, in input order."""
    workers = max(1, settings.concurrency)
    throttle = HostThrottle(settings.host_delay)

    def load(source: str) -> Document:
        throttle.wait(source)
        return load_document(source, settings, fetcher=fetcher)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
        window: deque[tuple[str, Future[Document]]] = deque()
        pending = iter(sources)
        try:
            for source in pending:
                window.append((source, pool.submit(load, source)))
                if len(window) >= workers * 2:
                    yield window.popleft()
            while window:
                yield window.popleft()
        finally:
            for _, future in window:
                future.cancel()


def ingest_batch(
    sources: Iterable[str],
    *,
    store: Store,
    extractor: Extractor,
    settings: Settings,
    force: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    on_stage: StageHook | None = None,
) -> BatchSummary:
    """Ingest many sources: fetched concurrently, extracted and stored one by one.

    Args:
        sources: URLs and paths, in the order their outcomes are reported.
        store: the knowledge base.
        extractor: turns each document into a record.
        settings: limits, `concurrency` and `host_delay`.
        force: re-extract stored, unchanged articles.
        on_outcome: called with each Outcome as soon as it is known.
        on_stage: told when each article is being extracted and then stored.

    Returns:
        The outcomes, in input order. Failures are also appended to the failures log.
    """
    summary = BatchSummary()
    unique: list[str] = []
    seen: dict[str, str] = {}

    def report(outcome: Outcome) -> None:
        summary.outcomes.append(outcome)
        if outcome.status == "failed":
            log_failure(settings.home, outcome, allow_private=settings.allow_private)
        if on_outcome:
            on_outcome(outcome)

    for source in sources:
        source = source.strip()
        if not source:
            continue
        key = source_key(source)
        if key in seen:
            report(Outcome(source, "duplicate", message=f"same source as {seen[key]}"))
            continue
        seen[key] = source
        unique.append(source)
    with Fetcher(settings) as fetcher:
        for source, future in _prefetched(unique, settings, fetcher):
            report(
                _finish(
                    source,
                    future,
                    store=store,
                    extractor=extractor,
                    settings=settings,
                    force=force,
                    on_stage=on_stage,
                )
            )
    return summary


def _finish(
    source: str,
    future: Future[Document],
    *,
    store: Store,
    extractor: Extractor,
    settings: Settings,
    force: bool,
    on_stage: StageHook | None,
) -> Outcome:
    """Wait for one prefetched document, then extract and store it."""
    try:
        document = future.result()
        outcome = ingest_document(
            document, store=store, extractor=extractor, force=force, on_stage=on_stage
        )
    except SignalKBError as exc:
        return Outcome(source, "failed", message=exc.message)
    except Exception as exc:  # one broken article never aborts a batch
        if settings.raise_errors:
            raise
        return Outcome(source, "failed", message=f"unexpected error: {type(exc).__name__}: {exc}")
    resolve_failure(settings.home, source)
    return outcome
