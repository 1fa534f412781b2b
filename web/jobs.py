"""Ingest jobs run in the background, one at a time, with progress per article.

Each source moves through queued → fetching → extracting → storing → stored (or unchanged,
duplicate, failed with the reason). The stages are observed by wrapping the extractor and
the store that `ingest.pipeline.ingest_source` calls, so the pipeline stays the one path.
"""

from __future__ import annotations

import queue
import secrets
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.document import Document
from ingest.feeds import listing_urls
from ingest.pipeline import ingest_source, log_failure
from kb.errors import SignalKBError
from kb.records import Article
from kb.settings import Settings
from kb.store import Store

FINAL = ("stored", "unchanged", "duplicate", "failed", "listed")
MAX_JOBS_KEPT = 50
MAX_FEED_ENTRIES = 200


@dataclass
class Entry:
    """One source of a job and how far it got."""

    source: str
    kind: str = "article"  # or "feed": a feed or sitemap whose articles join the job
    status: str = "queued"
    message: str = ""
    article_id: str = ""
    title: str = ""


@dataclass
class Job:
    """A batch of sources ingested in the background."""

    id: str
    entries: list[Entry]
    created: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    retry_of: str = ""
    error: str = ""

    @property
    def done(self) -> bool:
        """True when every source reached a final status (or the job could not start)."""
        return bool(self.error) or all(e.status in FINAL for e in self.entries)

    def counts(self) -> dict[str, int]:
        """How many sources are at each status."""
        out: dict[str, int] = {}
        for entry in self.entries:
            out[entry.status] = out.get(entry.status, 0) + 1
        return out

    def failed(self, kind: str) -> list[str]:
        """The sources of one kind (article or feed) that failed, for a retry."""
        return [e.source for e in self.entries if e.status == "failed" and e.kind == kind]

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready data."""
        return {
            "id": self.id,
            "created": self.created,
            "retry_of": self.retry_of,
            "error": self.error,
            "done": self.done,
            "counts": self.counts(),
            "entries": [asdict(e) for e in self.entries],
        }


class _Watched:
    """Marks an entry's stage as the pipeline calls the extractor and the store."""

    def __init__(self, extractor: Any, store: Store, entry: Entry) -> None:
        self._extractor = extractor
        self._store = store
        self._entry = entry

    def extract(self, document: Document) -> Article:
        self._entry.status = "extracting"
        self._entry.title = document.title
        article: Article = self._extractor.extract(document)
        return article

    def add(self, article: Article) -> None:
        self._entry.status = "storing"
        self._store.add(article)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)


class JobManager:
    """Runs jobs one after another on a single worker thread (one model in memory)."""

    def __init__(self, settings: Settings, store: Store, extractor_factory: Any) -> None:
        self.settings = settings
        self.store = store
        self._extractor_factory = extractor_factory
        self._extractor: Any = None
        self.jobs: dict[str, Job] = {}
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._stopping = threading.Event()

    def submit(self, sources: list[str], *, feeds: tuple[str, ...] = (), retry_of: str = "") -> Job:
        """Queue a job for these article URLs and feeds, and return it at once."""
        entries = [Entry(f, kind="feed") for f in feeds] + [Entry(s) for s in sources]
        job = Job(secrets.token_hex(6), entries, retry_of=retry_of)
        with self._lock:
            self.jobs[job.id] = job
            for old in list(self.jobs)[:-MAX_JOBS_KEPT]:
                if self.jobs[old].done:
                    del self.jobs[old]
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="ingest", daemon=True)
                self._worker.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        """The job with this id, if it is still kept."""
        with self._lock:
            return self.jobs.get(job_id)

    def recent(self) -> list[Job]:
        """Kept jobs, newest first."""
        with self._lock:
            return list(reversed(self.jobs.values()))

    def close(self) -> None:
        """Stop after the article in progress; sources not yet started are marked failed."""
        self._stopping.set()
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=30)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            try:
                if self._extractor is None:
                    self._extractor = self._extractor_factory()
            except Exception as exc:  # a missing model must fail the job, not the worker
                job.error = f"the extractor could not start: {exc}"
                continue
            for entry in job.entries:  # a feed appends its articles, reached by this loop
                if self._stopping.is_set():
                    entry.status, entry.message = "failed", "the server stopped before this one"
                elif entry.kind == "feed":
                    self._list(job, entry)
                else:
                    self._ingest(entry)

    def _list(self, job: Job, entry: Entry) -> None:
        entry.status = "fetching"
        try:
            urls = listing_urls(entry.source, self.settings)
        except SignalKBError as exc:
            entry.status, entry.message = "failed", exc.message
            return
        known = {e.source for e in job.entries}
        new = [u for u in urls if u not in known][:MAX_FEED_ENTRIES]
        job.entries.extend(Entry(u) for u in new)
        entry.status = "listed"
        entry.message = f"{len(new)} new articles of {len(urls)} listed"

    def _ingest(self, entry: Entry) -> None:
        entry.status = "fetching"
        watched = _Watched(self._extractor, self.store, entry)
        try:
            outcome = ingest_source(
                entry.source,
                store=watched,  # type: ignore[arg-type]
                extractor=watched,
                settings=self.settings,
            )
        except Exception as exc:  # one bad article never stops the job
            entry.status, entry.message = "failed", f"unexpected error: {exc}"
            return
        entry.article_id = outcome.article_id
        entry.title = outcome.title or entry.title
        entry.message = outcome.message
        entry.status = "stored" if outcome.status == "ingested" else outcome.status
        if outcome.status == "failed":
            log_failure(self.settings.home, outcome)
