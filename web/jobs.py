"""Ingest jobs run in the background, one at a time, with progress per article.

Each article moves through queued (fetched ahead, several at once) → extracting (with the
step of the extraction: summary, signals, ...) → storing → stored (or replaced, unchanged,
duplicate, failed with the reason); a feed is fetching → listed. A job is one call of
`ingest.runner.run`, whose events move the entries along. Each entry keeps when its
extraction started and how long it took, and the job estimates the time left from the
articles done so far.
"""

from __future__ import annotations

import os
import queue
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.document import Document
from ingest.extract.base import Extractor
from ingest.runner import Event, Request, run
from kb.errors import ExtractionError
from kb.records import Article
from kb.settings import Settings
from kb.store import Store

FINAL = ("stored", "replaced", "unchanged", "duplicate", "failed", "listed")
MAX_JOBS_KEPT = 50
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
    step: str = ""  # the extraction's current step, while extracting
    started: float | None = None  # time.time() when extraction started
    seconds: float | None = None  # extraction + storing, once done

    def to_dict(self, now: float) -> dict[str, Any]:
        """The entry as JSON-ready data, with `elapsed` seconds while it is being worked on."""
        out = asdict(self)
        out.pop("started")
        out["elapsed"] = (
            round(now - self.started, 1)
            if self.started is not None and self.seconds is None
            else None
        )
        return out


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

    def eta_seconds(self, now: float) -> float | None:
        """Seconds left, from the mean time of the articles extracted so far (None before
        the first one is done, or when nothing is left)."""
        took = [e.seconds for e in self.entries if e.seconds is not None]
        left = [e for e in self.entries if e.status not in FINAL and e.kind == "article"]
        if not took or not left or self.done:
            return None
        mean = sum(took) / len(took)
        running = sum(min(now - e.started, mean) for e in left if e.started is not None)
        return max(0.0, mean * len(left) - running)

    def to_dict(self) -> dict[str, Any]:
        """The job as JSON-ready data."""
        now = time.time()
        eta = self.eta_seconds(now)
        return {
            "id": self.id,
            "created": self.created,
            "retry_of": self.retry_of,
            "error": self.error,
            "done": self.done,
            "counts": self.counts(),
            "eta_seconds": round(eta) if eta is not None else None,
            "entries": [e.to_dict(now) for e in self.entries],
        }


class _Stoppable:
    """The job's extractor, refusing the articles left once the server is stopping."""

    def __init__(self, extractor: Extractor, stopping: threading.Event) -> None:
        self._extractor = extractor
        self._stopping = stopping

    def extract(self, document: Document) -> Article:
        """The inner extractor's record, unless the server is stopping."""
        if self._stopping.is_set():
            raise ExtractionError("the server stopped before this one", source=document.source)
        return self._extractor.extract(document)


class JobManager:
    """Runs jobs one after another on a single worker thread (one model in memory)."""

    def __init__(
        self, settings: Settings, store: Store, extractor_factory: Callable[[Store], Extractor]
    ) -> None:
        self.settings = settings
        self.store = store
        self._extractor_factory = extractor_factory
        self._extractor: Extractor | None = None
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
                    self._extractor = self._extractor_factory(self.store)
            except Exception as exc:  # a missing model must fail the job, not the worker
                job.error = f"the extractor could not start: {exc}"
                continue
            self._ingest(job, self._extractor)

    def _ingest(self, job: Job, extractor: Extractor) -> None:
        request = Request(
            sources=tuple(e.source for e in job.entries if e.kind == "article"),
            listings=tuple(e.source for e in job.entries if e.kind == "feed"),
        )
        try:
            run(
                request,
                store=self.store,
                extractor=_Stoppable(extractor, self._stopping),
                settings=self.settings,
                on_event=lambda event: _follow(job, event),
            )
        except Exception as exc:  # the job must end with a reason, never hang "running"
            for entry in job.entries:
                if entry.status not in FINAL:
                    entry.status, entry.message = "failed", f"unexpected error: {exc}"


def _follow(job: Job, event: Event) -> None:
    """Move the job's entry of the event's source to the event's stage."""
    if event.stage == "listed":
        job.entries.extend(Entry(u) for u in event.found)
    entry = next((e for e in job.entries if e.source == event.source), None)
    if entry is None or event.stage == "started":
        return
    if event.stage == "listing":
        entry.status = "fetching"
    elif event.stage == "listed":
        entry.status = "listed"
        entry.message = f"{len(event.found)} new articles of {event.listed} listed"
    elif event.stage in ("extracting", "storing"):
        if entry.started is None:
            entry.started = time.time()
        entry.status = event.stage
        entry.step = event.message if event.stage == "extracting" else ""
        entry.title = event.title or entry.title
    elif event.outcome is not None:
        outcome = event.outcome
        entry.article_id = outcome.article_id
        entry.title = outcome.title or entry.title
        entry.message = outcome.message
        entry.step = ""
        if entry.started is not None and outcome.status != "failed":
            entry.seconds = round(time.time() - entry.started, 1)
        entry.status = "stored" if outcome.status == "ingested" else outcome.status


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
