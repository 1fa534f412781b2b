"""`signalkb ingest`, `text`, `failures` and `watch`: articles in."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click

from ingest.document import Document
from ingest.pipeline import (
    BatchSummary,
    Outcome,
    failures_path,
    ingest_batch,
    load_failures,
    log_failure,
    resolve_failure,
    source_key,
)
from ingest.sources import load_document
from kb.errors import SignalKBError
from kb.settings import Settings
from signalkb.cli import Context, cli
from signalkb.cli.options import allow_private_option, with_private


def _echo_outcome(outcome: Outcome) -> None:
    if outcome.status == "failed":
        click.echo(f"failed: {outcome.source}: {outcome.message}", err=True)
    elif outcome.status == "duplicate":
        click.echo(f"duplicate: {outcome.source} ({outcome.message})")
    else:
        click.echo(f"{outcome.status}: {outcome.article_id} {outcome.title}")


def run_batch(
    ctx: Context,
    sources: list[str],
    settings: Settings,
    *,
    force: bool = False,
    progress: bool | None = None,
    failed_first: list[Outcome] | None = None,
) -> BatchSummary:
    """Ingest `sources` with a progress bar (for more than one) and a closing summary."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True, force_terminal=progress or None)
    show = len(sources) > 1 and (progress if progress is not None else console.is_terminal)
    extractor = ctx.parts.lazy_extractor(settings)
    with Progress(
        TextColumn("ingesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=console,
        disable=not show,
        transient=False,
    ) as bar:
        task = bar.add_task("", total=len(sources))

        def report(outcome: Outcome) -> None:
            _echo_outcome(outcome)
            bar.update(task, advance=1, description=outcome.status)

        summary = ingest_batch(
            sources,
            store=ctx.store,
            extractor=extractor,
            settings=settings,
            force=force,
            on_outcome=report,
        )
    summary.outcomes[:0] = failed_first or []
    if len(summary.outcomes) > 1:
        click.echo(summary.line())
        for outcome in summary.failed:
            click.echo(f"  failed: {outcome.source}: {outcome.message}", err=True)
    return summary


def _expand_listings(
    urls: tuple[str, ...], settings: Settings, home: Path
) -> tuple[list[str], list[Outcome]]:
    """The article URLs of feeds/sitemaps, and a failed Outcome for each unreadable one."""
    from ingest.feeds import listing_urls

    found: list[str] = []
    failed: list[Outcome] = []
    for url in urls:
        try:
            found.extend(listing_urls(url, settings))
        except SignalKBError as exc:
            outcome = Outcome(url, "failed", message=exc.message)
            _echo_outcome(outcome)
            log_failure(home, outcome, listing=True)
            failed.append(outcome)
        else:
            resolve_failure(home, url)
    return found, failed


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
     (searched recursively). The same article is
     stored once: an unchanged one is skipped, a changed one replaced, a copy under
     another URL reported as a duplicate. Failures are logged (`signalkb failures`)
     and never stop the batch; the exit status is 1 when any source failed.

     Example usage:

    \b
     \b
         signalkb ingest https://example.com/post data/samples/*.md
         signalkb ingest --from-file urls.txt --feed https://example.com/feed.xml
         signalkb ingest --retry-failed
    """
    from ingest.feeds import read_url_list
    from ingest.files import expand_directories

    settings = with_private(ctx.settings, allow_private)
    if concurrency:
        settings = settings.model_copy(update={"concurrency": concurrency})
    all_sources = expand_directories(sources)
    for path in from_files:
        all_sources.extend(read_url_list(path))
    listings = list(feeds + sitemaps)
    if retry_failed:
        logged = load_failures(settings.home)
        all_sources.extend(f["source"] for f in logged if not f["listing"])
        listings.extend(f["source"] for f in logged if f["listing"])
    listed, unreadable = _expand_listings(tuple(listings), settings, settings.home)
    all_sources.extend(listed)
    if not all_sources and not unreadable:
        if retry_failed:
            click.echo("no failed sources to retry")
            return
        raise click.UsageError(
            "give URLs or paths, --from-file, --feed, --sitemap or --retry-failed"
        )
    summary = run_batch(
        ctx, all_sources, settings, force=force, progress=progress, failed_first=unreadable
    )
    if summary.failed:
        raise SystemExit(1)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input per line.")
@allow_private_option
@click.pass_obj
def text(ctx: Context, sources: tuple[str, ...], as_json: bool, allow_private: bool) -> None:
    """Print the main text and metadata ingest would keep, storing nothing.

    It runs exactly the loading code of `signalkb ingest` (fetch, limits, extraction of
    the main text, metadata, canonical URL).

    Example usage:

        \b
        signalkb text https://example.com/post --json
    """
    settings = with_private(ctx.settings, allow_private)
    failed = False
    for source in sources:
        try:
            doc = load_document(source, settings)
        except SignalKBError as exc:
            click.echo(f"failed: {exc}", err=True)
            failed = True
            continue
        if as_json:
            click.echo(json.dumps(document_json(doc), ensure_ascii=False))
        else:
            meta = [doc.site, doc.author, doc.published.isoformat() if doc.published else ""]
            click.echo(f"# {doc.title}\n{doc.url}\n{' · '.join(m for m in meta if m)}\n")
            click.echo(f"{doc.text}\n")
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
@click.option("--json", "as_json", is_flag=True, help="One JSON object per failed source.")
@click.option("--clear", is_flag=True, help="Empty the failures log.")
@click.pass_obj
def failures(ctx: Context, as_json: bool, clear: bool) -> None:
    """List sources that failed to ingest (and have not succeeded since), with the reason.

     Example usage:

    \b
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
    for entry in entries:
        if as_json:
            click.echo(json.dumps(entry, ensure_ascii=False))
        else:
            tries = f" ({entry['attempts']} attempts)" if entry["attempts"] > 1 else ""
            click.echo(f"{entry['at']}  {entry['source']}: {entry['message']}{tries}")
    if not entries and not as_json:
        click.echo("no failures")


def _watch_state(home: Path) -> dict[str, list[str]]:
    path = home / "watch.json"
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, OSError):
        return {}
    return {str(k): [str(u) for u in v] for k, v in data.items() if isinstance(v, list)}


def _save_watch_state(home: Path, state: dict[str, list[str]]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / "watch.json.tmp"
    tmp.write_text(json.dumps(state, indent=1), encoding="utf-8")
    tmp.replace(home / "watch.json")


_SEEN_KEPT = 5000  # entries remembered per feed


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
    from ingest.feeds import listing_urls

    settings = with_private(ctx.settings, allow_private)
    home = settings.home
    while True:
        state = _watch_state(home)
        for feed in feeds:
            try:
                entries = listing_urls(feed, settings)
            except SignalKBError as exc:
                click.echo(f"failed: {exc}", err=True)
                continue
            seen = set(state.get(feed, []))
            new = [u for u in entries if source_key(u) not in seen]
            click.echo(f"{feed}: {len(entries)} entries, {len(new)} new")
            if new:
                run_batch(ctx, new, settings, progress=progress)
            state[feed] = (state.get(feed, []) + [source_key(u) for u in new])[-_SEEN_KEPT:]
            _save_watch_state(home, state)
        if once:
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            click.echo("stopped", err=True)
            return
