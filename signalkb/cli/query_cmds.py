"""`signalkb list`, `show` and `search`: reading the knowledge base."""

from __future__ import annotations

import json

import click

from kb.filters import Filters
from kb.markdown import record_markdown
from kb.serialize import article_json, hit_json
from signalkb.cli import Context, cli
from signalkb.cli.options import filter_options


@cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per article.")
@click.pass_obj
def list_articles(ctx: Context, as_json: bool) -> None:
    """List the stored articles, newest first.

    Example usage:

        \b
        signalkb list --json
    """
    for article in ctx.store.list_articles():
        if as_json:
            click.echo(json.dumps(article_json(article), ensure_ascii=False))
        else:
            date = article.published.isoformat() if article.published else "----------"
            click.echo(f"{article.id}  {date}  {article.title}")


@cli.command()
@click.argument("id_or_url")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.pass_obj
def show(ctx: Context, id_or_url: str, fmt: str) -> None:
    """Print one article's record, in the Markdown layout or as JSON.

    Example usage:

        \b
        signalkb show 3f2a9c0d1e4b5a6c --format md
    """
    article = ctx.store.get(id_or_url)
    if fmt == "json":
        click.echo(article.model_dump_json(indent=1))
    else:
        click.echo(record_markdown(article))


@cli.command()
@click.argument("query")
@filter_options()
@click.option(
    "--mode",
    type=click.Choice(["hybrid", "vector", "keyword"]),
    default="hybrid",
    show_default=True,
)
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
@click.pass_obj
def search(
    ctx: Context, query: str, filters: Filters, mode: str, limit: int, as_json: bool
) -> None:
    """Search the rows of every article by meaning and keywords (hybrid by default).

    Example usage:

        \b
        signalkb search "smaller models replace big ones" --kind signals
        signalkb search "Phi-3" --since 2024-01-01 --min-relevancy 3 --json
    """
    from kb.search import search as run_search

    hits = run_search(ctx.store, query, filters, limit=limit, mode=mode)  # type: ignore[arg-type]
    for hit in hits:
        row = hit.row
        if as_json:
            click.echo(json.dumps(hit_json(hit), ensure_ascii=False))
        else:
            click.echo(
                f"{hit.score:.3f}  {row.kind:<12} {row.item.name} ({row.item.relevancy})"
                f"  — {row.title}"
            )
