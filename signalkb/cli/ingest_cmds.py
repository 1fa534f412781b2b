"""`signalkb ingest`, `text`, `failures` and `watch`: articles in."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ingest.document import Document
from ingest.failures import failures_path, load_failures
from ingest.pipeline import BatchSummary, Outcome
from ingest.runner import Event, Request, run
from ingest.sources import load_document
from kb.errors import SignalKBError
from kb.settings import Settings
from signalkb.cli import Context, cli
from signalkb.cli.options import allow_private_option, echo_json, json_options, with_private


def _outcome_line(outcome: Outcome) -> str:
    if outcome.status == "failed":
        return f"failed: {outcome.source}: {outcome.message}"
    if outcome.status == "duplicate":
        return f"duplicate: {outcome.source} ({outcome.message})"
    return f"{outcome.status}: {outcome.article_id} {outcome.title}"


class _Report:
    """Prints a run's events: a line per outcome and, on a terminal, a progress bar with
    the current article's stage, the time elapsed and an estimate of the time left."""

    def __init__(self, progress: bool | None, *, listings: bool = False) -> None:
        self._console = Console(stderr=True, force_terminal=progress or None)
        self._progress = progress
        self._listings = listings
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __call__(self, event: Event) -> None:
        if event.stage == "listed" and self._listings:
            click.echo(f"{event.source}: {event.listed} entries, {len(event.found)} new")
        elif event.stage == "started":
            wanted = self._progress if self._progress is not None else self._console.is_terminal
            self._bar = Progress(
                TextColumn("ingesting"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("left"),
                TimeRemainingColumn(),
                TextColumn("{task.description}"),
                console=self._console,
                disable=not wanted,
                transient=False,
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=len(event.found))
        elif event.stage in ("extracting", "storing"):
            stage = f"{event.stage} · {event.message}" if event.message else event.stage
            self._describe(f"{stage}: {event.title or event.source}"[:70])
        elif event.stage == "done" and event.outcome is not None:
            self._print(event.outcome)
            if self._bar is not None and self._task is not None:
                self._bar.update(self._task, advance=1, description="")

    def _describe(self, text: str) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=text)

    def _print(self, outcome: Outcome) -> None:
        line = _outcome_line(outcome)
        err = outcome.status == "failed"
        bar = self._bar
        if bar is not None and not bar.disable and (err or sys.stdout.isatty()):
            # through the bar's console, above the bar: written straight to the terminal,
            # the line would land on the bar's own line
            bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            click.echo(line, err=err)

    def close(self) -> None:
        """Stop the progress bar."""
        if self._bar is not None:
            self._bar.stop()


def _run(
    ctx: Context,
    request: Request,
    settings: Settings,
    *,
    progress: bool | None,
    listings: bool = False,
) -> BatchSummary:
    """`ingest.runner.run` with its events printed, then a closing summary."""
    report = _Report(progress, listings=listings)
    try:
        summary = run(
            request,
            store=ctx.store,
            extractor=ctx.parts.lazy_extractor(settings, ctx.store.embedder),
            settings=settings,
            on_event=report,
        )
    finally:
        report.close()
    if len(summary.outcomes) > 1 or (request.retry_failed and summary.outcomes):
        click.echo(summary.line())
        for outcome in summary.failed:
            click.echo(f"  failed: {outcome.source}: {outcome.message}", err=True)
    return summary


@cli.command()
@click.argument("sources", nargs=-1)
@click.option(
    "--from-file",
    "from_files",
    multiple=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read sources from a file, one per line (# comments); - for stdin.",
)
@click.option("--feed", "feeds", multiple=True, help="Ingest every entry of an RSS/Atom feed.")
@click.option("--sitemap", "sitemaps", multiple=True, help="Ingest every URL of an XML sitemap.")
@click.option("--retry-failed", is_flag=True, help="Retry the sources in the failures log.")
@click.option("--force", is_flag=True, help="Re-extract articles that are stored and unchanged.")
@allow_private_option
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=None,
    help="URLs fetched at once (default: the concurrency setting, 4).",
)
@click.option(
    "--progress/--no-progress", default=None, help="Show a progress bar (default: on a terminal)."
)
@click.pass_obj
def ingest(
    ctx: Context,
    sources: tuple[str, ...],
    from_files: tuple[str, ...],
    feeds: tuple[str, ...],
    sitemaps: tuple[str, ...],
    retry_failed: bool,
    force: bool,
    allow_private: bool,
    concurrency: int | None,
    progress: bool | None,
) -> None:
    """Fetch, extract and store articles from URLs, local files, feeds and sitemaps.

    Sources are http(s) URLs, .html/.htm/.md/.txt/.pdf files and folders of them
    (searched recursively). The same article is stored once: an unchanged one is
    skipped, a changed one replaced, a copy under another URL reported as a duplicate.
    Failures are logged (`signalkb failures`) and never stop the batch; the exit
    status is 1 when any source failed.

    Example usage:

        \b
        signalkb ingest https://example.com/post data/samples/*.md
        signalkb ingest --from-file urls.txt --feed https://example.com/feed.xml
        signalkb ingest --retry-failed
    """
    from ingest.feeds import read_url_list

    settings = with_private(ctx.settings, allow_private)
    if concurrency:
        settings = settings.model_copy(update={"concurrency": concurrency})
    named = list(sources)
    for path in from_files:
        named.extend(read_url_list(path))
    request = Request(tuple(named), feeds + sitemaps, retry_failed=retry_failed, force=force)
    summary = _run(ctx, request, settings, progress=progress)
    if not summary.outcomes:
        if retry_failed:
            click.echo("no failed sources to retry")
            return
        raise click.UsageError(
            "give URLs or paths, --from-file, --feed, --sitemap or --retry-failed"
        )
    if summary.failed:
        raise SystemExit(1)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@json_options("document")
@allow_private_option
@click.pass_obj
def text(
    ctx: Context, sources: tuple[str, ...], json_format: str | None, allow_private: bool
) -> None:
    """Print the main text and metadata ingest would keep, storing nothing.

    It runs exactly the loading code of `signalkb ingest` (fetch, limits, extraction of
    the main text, metadata, canonical URL).

    Example usage:

        \b
        signalkb text https://example.com/post --json
    """
    settings = with_private(ctx.settings, allow_private)
    failed = False
    documents: list[dict[str, Any]] = []
    for source in sources:
        try:
            doc = load_document(source, settings)
        except SignalKBError as exc:
            click.echo(f"failed: {exc}", err=True)
            failed = True
            continue
        if json_format:
            documents.append(document_json(doc))
        else:
            meta = [doc.site, doc.author, doc.published.isoformat() if doc.published else ""]
            click.echo(f"# {doc.title}\n{doc.url}\n{' · '.join(m for m in meta if m)}\n")
            click.echo(f"{doc.text}\n")
    if json_format:
        echo_json(documents, json_format)
    if failed:
        raise SystemExit(1)


def document_json(doc: Document) -> dict[str, Any]:
    """A Document as the JSON object `signalkb text --json` prints."""
    return {
        "source": doc.source,
        "url": doc.url,
        "title": doc.title,
        "site": doc.site,
        "author": doc.author,
        "published": doc.published.isoformat() if doc.published else None,
        "language": doc.language,
        "chars": len(doc.text),
        "text": doc.text,
    }


@cli.command()
@json_options("failed source")
@click.option("--clear", is_flag=True, help="Empty the failures log.")
@click.pass_obj
def failures(ctx: Context, json_format: str | None, clear: bool) -> None:
    """List sources that failed to ingest (and have not succeeded since), with the reason.

    Example usage:

        \b
        signalkb failures
        signalkb ingest --retry-failed
    """
    home = ctx.settings.home
    if clear:
        failures_path(home).unlink(missing_ok=True)
        click.echo("failures log cleared")
        return
    entries = load_failures(home)
    if json_format:
        echo_json(entries, json_format)
        return
    for entry in entries:
        tries = f" ({entry['attempts']} attempts)" if entry["attempts"] > 1 else ""
        click.echo(f"{entry['at']}  {entry['source']}: {entry['message']}{tries}")
    if not entries:
        click.echo("no failures")


@cli.command()
@click.argument("feeds", nargs=-1, required=True)
@click.option("--interval", default=900.0, show_default=True, help="Seconds between two checks.")
@click.option("--once", is_flag=True, help="Check each feed once, then exit.")
@allow_private_option
@click.option("--progress/--no-progress", default=None, help="Show a progress bar.")
@click.pass_obj
def watch(
    ctx: Context,
    feeds: tuple[str, ...],
    interval: float,
    once: bool,
    allow_private: bool,
    progress: bool | None,
) -> None:
    """Re-check feeds (or sitemaps) on an interval and ingest only entries not seen before.

    Seen entries are remembered in the knowledge base directory (watch.json), so a
    restarted watch picks up where it stopped. Failed entries go to the failures log.

    Example usage:

        \b
        signalkb watch https://example.com/feed.xml --interval 600
    """
    settings = with_private(ctx.settings, allow_private)
    while True:
        for feed in feeds:
            request = Request(listings=(feed,), new_only=True)
            _run(ctx, request, settings, progress=progress, listings=True)
        if once:
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
            return
