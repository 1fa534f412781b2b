"""Ingest jobs run in the background, one at a time, with progress per article.

Each article moves through queued (fetched ahead, several at once) → extracting → storing →
stored (or unchanged, duplicate, failed with the reason); a feed is fetching → listed. The
stages are observed by wrapping the extractor and the store that
`ingest.pipeline.ingest_batch` calls, so the pipeline stays the one path.
"""

from __future__ import annotations

import os
import queue
import secrets
import sys
import threading
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.document import Document
from ingest.feeds import listing_urls
from ingest.pipeline import Outcome, ingest_batch
from kb.errors import ExtractionError, SignalKBError
from kb.records import Article
from kb.settings import Settings
from kb.store import Store

FINAL = ("stored", "unchanged", "duplicate", "failed", "listed")
MAX_JOBS_KEPT = 50
MAX_FEED_ENTRIES = 200
INGEST_NICE = 10  # added to the ingest thread's nice value (Linux: nice is per thread)


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
    """Marks each entry's stage as the pipeline calls the extractor and then the store.

    The batch extracts and stores one article at a time, so the entry being stored is
    the one last handed to the extractor.
    """

    def __init__(
        self, extractor: Any, store: Store, entries: dict[str, Entry], stopping: threading.Event
    ) -> None:
        self._extractor = extractor
        self._store = store
        self._entries = entries
        self._stopping = stopping
        self._current: Entry | None = None

    def extract(self, document: Document) -> Article:
        if self._stopping.is_set():
            raise ExtractionError("the server stopped before this one", source=document.source)
        self._current = self._entries.get(document.source)
        if self._current is not None:
            self._current.status = "extracting"
            self._current.title = document.title
        article: Article = self._extractor.extract(document)
        return article

    def add(self, article: Article) -> None:
        if self._current is not None:
            self._current.status = "storing"
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
        """Stop after the article in progress; the ones not yet extracted are marked failed."""
        self._stopping.set()
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=30)

    def _run(self) -> None:
        lower_priority()
        while (job := self._queue.get()) is not None:
            try:
                if self._extractor is None:
                    self._extractor = self._extractor_factory()
            except Exception as exc:  # a missing model must fail the job, not the worker
                job.error = f"the extractor could not start: {exc}"
                continue
            for entry in job.entries:  # a feed appends its articles as it is read
                if entry.kind == "feed":
                    self._list(job, entry)
            self._ingest([e for e in job.entries if e.kind == "article"])

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

    def _ingest(self, entries: list[Entry]) -> None:
        by_source = {e.source: e for e in entries}
        watched = _Watched(self._extractor, self.store, by_source, self._stopping)

        def finished(outcome: Outcome) -> None:
            entry = by_source.get(outcome.source)
            if entry is None:
                return
            entry.article_id = outcome.article_id
            entry.title = outcome.title or entry.title
            entry.message = outcome.message
            entry.status = "stored" if outcome.status == "ingested" else outcome.status

        try:
            ingest_batch(
                list(by_source),
                store=watched,  # type: ignore[arg-type]
                extractor=watched,
                settings=self.settings,
                on_outcome=finished,
            )
        except Exception as exc:  # the job must end with a reason, never hang "running"
            for entry in entries:
                if entry.status not in FINAL:
                    entry.status, entry.message = "failed", f"unexpected error: {exc}"


def lower_priority() -> None:
    """Put the calling thread in the idle scheduling class, niced by `INGEST_NICE` (Linux).

    The model decoding and embedding of an ingest job share the CPU with the pages being
    served: in SCHED_IDLE the job runs whenever a core would otherwise be idle and yields
    it at once when a request wants it. On Linux the scheduling class and nice value are
    properties of each thread (the pid given may be a thread id), and threads this one
    starts (the fetchers, llama.cpp's workers) inherit them; elsewhere the calls would
    lower the whole server, so they are skipped. A thread that waits for this one (on the
    GIL or the store's lock) sleeps, which leaves a core idle, so the job always gets to
    finish what others wait for. Measured with SmolLM2 extracting and 20 clients searching
    (docs/benchmarks.md, Web): normal priority 115 pages/s (p95 289 ms); nice +10 161-191
    (165-212 ms); SCHED_IDLE 226-228 (131-135 ms), the same as with no ingest at all.
    The price: while the pages keep both cores busy, the job waits.
    """
    if sys.platform != "linux":
        return
    tid = threading.get_native_id()  # lowering one's own priority needs no privilege
    os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + INGEST_NICE)
    os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
