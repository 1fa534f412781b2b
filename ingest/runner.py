"""`run`: the one way articles come in, for the CLI (`ingest`, `watch`, `--retry-failed`)
and the web's ingest jobs.

A `Request` names sources (URLs, files, folders) and listings (feeds, sitemaps). `run`
expands folders, reads each listing (a listing that cannot be read is logged in the
failures log like any source), adds the failures log's sources when asked to retry, and
ingests everything as one batch (`ingest.pipeline.ingest_batch`). Each step is reported as
an `Event`:

    listing   a feed or sitemap is being read
    listed    it was read; `found` holds its new article sources
    started   the batch starts; `found` holds every source of it, in order
    extracting / storing
              an article is being extracted, then stored; during extraction the event
              comes again for each step, named in `message` (summary, signals, ...)
    done      a source's final `outcome` (also a listing that failed)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ingest.document import Document
from ingest.extract.base import Extractor
from ingest.failures import load_failures, log_failure, resolve_failure
from ingest.feeds import listing_urls
from ingest.files import expand_directories
from ingest.pipeline import BatchSummary, Outcome, ingest_batch, source_key
from kb.errors import SignalKBError
from kb.settings import Settings
from kb.store import Store

Stage = Literal["listing", "listed", "started", "extracting", "storing", "done"]
SEEN_KEPT = 5000  # listing entries remembered per feed by `Request.new_only`


@dataclass(frozen=True)
class Request:
    """What to ingest.

    Attributes:
        sources: URLs, files and folders of files (searched recursively).
        listings: RSS/Atom feeds and XML sitemaps whose entries are ingested.
        retry_failed: also the sources (and listings) of the failures log.
        force: re-extract articles that are stored and unchanged.
        new_only: take only listing entries not seen in an earlier run, and remember
            them (`<home>/watch.json`; for `signalkb watch`).
    """

    sources: tuple[str, ...] = ()
    listings: tuple[str, ...] = ()
    retry_failed: bool = False
    force: bool = False
    new_only: bool = False


@dataclass(frozen=True)
class Event:
    """One step of a run (the stages are listed in the module docstring)."""

    stage: Stage
    source: str = ""
    title: str = ""
    message: str = ""
    found: tuple[str, ...] = ()
    listed: int = 0  # "listed": how many entries the listing has, new or not
    outcome: Outcome | None = None


EventHook = Callable[[Event], None]


@dataclass
class _Listed:
    sources: list[str] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)
    seen: dict[str, list[str]] = field(default_factory=dict)


def run(
    request: Request,
    *,
    store: Store,
    extractor: Extractor,
    settings: Settings,
    on_event: EventHook | None = None,
) -> BatchSummary:
    """Ingest what `request` names: expand it, then fetch, extract and store each article.

    Args:
        request: the sources and listings, and how to treat them.
        store: the knowledge base.
        extractor: turns each document into a record.
        settings: limits, `concurrency`, `host_delay` and `max_listing_entries`.
        on_event: told of each step as it happens.

    Returns:
        The outcomes: listings that could not be read first, then every source in order.
        An empty summary means there was nothing to ingest.
    """

    if request.retry_failed:
        return _retry(
            request, store=store, extractor=extractor, settings=settings, on_event=on_event
        )

    def tell(event: Event) -> None:
        if on_event:
            on_event(event)

    sources = expand_directories(request.sources)
    listings = list(request.listings)
    listed = _expand(listings, set(sources), settings, request.new_only, tell)
    sources.extend(listed.sources)
    summary = BatchSummary(list(listed.failed))
    if not sources:
        if request.new_only and request.listings:
            _save_seen(settings.home, listed.seen)
        return summary
    tell(Event("started", found=tuple(sources)))

    def stage(name: str, document: Document, step: str) -> None:
        tell(Event(name, document.source, title=document.title, message=step))  # type: ignore[arg-type]

    batch = ingest_batch(
        sources,
        store=store,
        extractor=extractor,
        settings=settings,
        force=request.force,
        on_outcome=lambda outcome: tell(Event("done", outcome.source, outcome=outcome)),
        on_stage=stage,
    )
    summary.outcomes.extend(batch.outcomes)
    if request.new_only:
        _save_seen(settings.home, listed.seen)
    return summary


def _retry(
    request: Request,
    *,
    store: Store,
    extractor: Extractor,
    settings: Settings,
    on_event: EventHook | None,
) -> BatchSummary:
    """`run` over the request plus the failures log. Sources that failed with private
    addresses allowed are retried with them allowed again (a second batch)."""
    logged = load_failures(settings.home)
    again = [f for f in logged if not f["allow_private"] or settings.allow_private]
    private = [f for f in logged if f["allow_private"] and not settings.allow_private]
    batches = [
        (again, settings, request.sources, request.listings),
        (private, settings.model_copy(update={"allow_private": True}), (), ()),
    ]
    summary = BatchSummary()
    for entries, batch_settings, sources, listings in batches:
        sub = Request(
            sources=(*sources, *(f["source"] for f in entries if not f["listing"])),
            listings=(*listings, *(f["source"] for f in entries if f["listing"])),
            force=request.force,
            new_only=request.new_only,
        )
        if sub.sources or sub.listings:
            part = run(
                sub, store=store, extractor=extractor, settings=batch_settings, on_event=on_event
            )
            summary.outcomes.extend(part.outcomes)
    return summary


def _expand(
    listings: list[str], known: set[str], settings: Settings, new_only: bool, tell: EventHook
) -> _Listed:
    """The new article sources of each listing; a listing that fails is logged."""
    out = _Listed(seen=_load_seen(settings.home) if new_only else {})
    seen = out.seen
    for url in listings:
        tell(Event("listing", url))
        try:
            entries = listing_urls(url, settings)
        except SignalKBError as exc:
            outcome = Outcome(url, "failed", message=exc.message)
            log_failure(settings.home, outcome, listing=True, allow_private=settings.allow_private)
            out.failed.append(outcome)
            tell(Event("done", url, outcome=outcome))
            continue
        resolve_failure(settings.home, url)
        old = set(seen.get(url, []))
        new = [u for u in entries if u not in known and source_key(u) not in old]
        if settings.max_listing_entries:
            new = new[: settings.max_listing_entries]
        known.update(new)
        out.sources.extend(new)
        if new_only:
            seen[url] = (seen.get(url, []) + [source_key(u) for u in new])[-SEEN_KEPT:]
        tell(Event("listed", url, found=tuple(new), listed=len(entries)))
    return out


def _load_seen(home: Path) -> dict[str, list[str]]:
    path = home / "watch.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return {}
    return {str(k): [str(u) for u in v] for k, v in data.items() if isinstance(v, list)}


def _save_seen(home: Path, seen: dict[str, list[str]]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / "watch.json.tmp"
    tmp.write_text(json.dumps(seen, indent=1), encoding="utf-8")
    tmp.replace(home / "watch.json")
