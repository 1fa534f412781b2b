"""`signalkb list`, `show` and `search`: reading the knowledge base."""

from __future__ import annotations

from pathlib import Path

import click

from kb.filters import Filters
from kb.markdown import record_markdown
from kb.records import Article
from kb.serialize import article_json, hit_json
from signalkb.cli import Context, cli
from signalkb.cli.options import echo_json, filter_options, json_options


@cli.command("list")
@json_options("article")
@click.pass_obj
def list_articles(ctx: Context, json_format: str | None) -> None:
    """List the stored articles, newest first: id, published date, title.

    Example usage:

        \b
        signalkb list
        signalkb list --json | jq '.[].title'
    """
    articles = ctx.existing_store.list_articles()
    if json_format:
        echo_json([article_json(article) for article in articles], json_format)
        return
    for article in articles:
        date = article.published.isoformat() if article.published else "----------"
        click.echo(f"{article.id}  {date}  {article.title}")
    if not articles:
        click.echo("no articles yet", err=True)


def lookup_forms(id_or_url: str) -> list[str]:
    """What a user may type for a stored article, in the spellings ingest stores: the id or
    URL as given, the URL normalised as ingest does (tracking parameters, trailing slash),
    or a local file's path as its file: URL."""
    from ingest.urls import is_url, normalize_url

    text = id_or_url.strip()
    forms = [text]
    if is_url(text):
        forms.append(normalize_url(text))
    elif text and Path(text).expanduser().exists():
        forms.append(Path(text).expanduser().resolve().as_uri())
    return list(dict.fromkeys(forms))


def find_article(ctx: Context, id_or_url: str) -> Article:
    """The stored article an id, URL or ingested path names (`lookup_forms`)."""
    store = ctx.existing_store
    forms = lookup_forms(id_or_url)
    for form in forms[1:]:
        found = store.find_by_url(form)
        if found is not None:
            return found
    return store.get(forms[0])


@cli.command()
@click.argument("id_or_url")
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md", show_default=True)
@click.pass_obj
def show(ctx: Context, id_or_url: str, fmt: str) -> None:
    """Print one article's record, in the Markdown layout or as JSON.

    ID_OR_URL is the id `list` and `search` print, the article's URL (spelled as you
    gave it to ingest, tracking parameters and all) or the path of an ingested file.

    Example usage:

        \b
        signalkb show 3f2a9c0d1e4b5a6c --format md
        signalkb show "https://example.com/post/?utm_source=feed"
    """
    article = find_article(ctx, id_or_url)
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
@json_options("hit")
@click.pass_obj
def search(
    ctx: Context, query: str, filters: Filters, mode: str, limit: int, json_format: str | None
) -> None:
    """Search the rows of every article by meaning and keywords (hybrid by default).

    Each hit is a row: its similarity, table, name (relevancy), article id and title;
    `show ID` prints the whole record. The similarity is the cosine of the query and the
    row (MiniLM), comparable across queries: above about 0.5 is on topic. Hits are ordered
    by `score`: the rank fusion of both searches (hybrid), the cosine (vector) or BM25
    (keyword, which has no similarity and prints its BM25 score).

    Example usage:

        \b
        signalkb search "smaller models replace big ones" --kind signals
        signalkb search "Phi-3" --since 2024-01-01 --min-relevancy 3 --json
    """
    from kb.search import search as run_search

    if not query.strip():
        raise click.UsageError("the query is empty: say what to look for")
    hits = run_search(ctx.existing_store, query, filters, limit=limit, mode=mode)  # type: ignore[arg-type]
    if json_format:
        echo_json([hit_json(hit) for hit in hits], json_format)
        return
    for hit in hits:
        row = hit.row
        number = hit.similarity if hit.similarity is not None else hit.score
        click.echo(
            f"{number:.3f}  {row.kind:<12} {row.item.name} ({row.item.relevancy})"
            f"  {row.article_id}  {row.title}"
        )
    if not hits:
        click.echo("no matches", err=True)
