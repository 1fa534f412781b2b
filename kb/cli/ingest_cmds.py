"""`signalkb ingest` and `signalkb text`: articles in."""

from __future__ import annotations

import json

import click

from ingest.pipeline import Outcome, ingest_batch
from ingest.sources import load_document
from kb.cli import Context, cli
from kb.errors import SignalKBError


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Re-extract articles that are stored and unchanged.")
@click.option("--allow-private", is_flag=True, help="Fetch private and loopback addresses.")
@click.pass_obj
def ingest(ctx: Context, sources: tuple[str, ...], force: bool, allow_private: bool) -> None:
    """Fetch, extract and store articles from URLs or local files.

    Example usage:

        signalkb ingest https://example.com/post data/samples/*.md
    """
    from ingest.extract import make_extractor

    settings = ctx.settings.model_copy(update={"allow_private": allow_private or ctx.settings.allow_private})
    extractor = make_extractor(settings)

    def report(outcome: Outcome) -> None:
        if outcome.status == "failed":
            click.echo(f"failed: {outcome.source}: {outcome.message}", err=True)
        else:
            click.echo(f"{outcome.status}: {outcome.article_id} {outcome.title}")

    summary = ingest_batch(
        sources, store=ctx.store, extractor=extractor, settings=settings, force=force,
        on_outcome=report,
    )
    if len(summary.outcomes) > 1:
        click.echo(
            f"{summary.count('ingested')} ingested, {summary.count('unchanged')} unchanged, "
            f"{summary.count('duplicate')} duplicate, {summary.count('failed')} failed"
        )
    if summary.failed:
        raise SystemExit(1)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input per line.")
@click.option("--allow-private", is_flag=True, help="Fetch private and loopback addresses.")
@click.pass_obj
def text(ctx: Context, sources: tuple[str, ...], as_json: bool, allow_private: bool) -> None:
    """Print the main text and metadata ingest would keep, storing nothing.

    Example usage:

        signalkb text https://example.com/post --json
    """
    settings = ctx.settings.model_copy(update={"allow_private": allow_private or ctx.settings.allow_private})
    failed = False
    for source in sources:
        try:
            doc = load_document(source, settings)
        except SignalKBError as exc:
            click.echo(f"failed: {exc}", err=True)
            failed = True
            continue
        if as_json:
            click.echo(json.dumps({
                "source": doc.source, "url": doc.url, "title": doc.title, "site": doc.site,
                "author": doc.author, "published": doc.published.isoformat() if doc.published else None,
                "language": doc.language, "text": doc.text,
            }, ensure_ascii=False))
        else:
            click.echo(f"# {doc.title}\n{doc.url}\n\n{doc.text}\n")
    if failed:
        raise SystemExit(1)
