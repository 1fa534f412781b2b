"""`signalkb import`, `reindex`, `delete`, `stats`, `trends` and `digest`: keeping the
knowledge base and reading it as a whole."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click
from pydantic import ValidationError

from kb.errors import StoreError
from kb.filters import Filters
from kb.records import KINDS, Article
from kb.serialize import trend_json
from signalkb.cli import Context, cli
from signalkb.cli.options import DateOrAge, echo_json, filter_options, json_options
from signalkb.cli.query_cmds import find_article


@cli.command("import")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.pass_obj
def import_records(ctx: Context, file: Path) -> None:
    """Load records from `signalkb export --kind all --format json`, without re-extracting.

    Records already stored unchanged are skipped, so importing a file twice changes
    nothing; a stored record that differs is replaced, unless it was ingested later.

    Example usage:

        \b
        signalkb import backup.json
    """
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
        articles = [Article.model_validate(record) for record in raw]
    except (json.JSONDecodeError, ValidationError, TypeError) as exc:
        raise StoreError(f"not a signalkb records file: {exc}", source=str(file)) from exc
    store = ctx.store
    articles = store.normalise_names(articles)
    existing = store.get_many([a.id for a in articles])
    fresh, changed, unchanged, newer = [], 0, 0, 0
    for article in articles:
        old = existing.get(article.id)
        if old is None:
            fresh.append(article)
        elif old == article:
            unchanged += 1
        elif old.ingested_at and article.ingested_at and old.ingested_at > article.ingested_at:
            newer += 1
        else:
            fresh.append(article)
            changed += 1
    for start in range(0, len(fresh), 200):
        store.add_many(fresh[start : start + 200])
    line = f"{len(fresh) - changed} added, {changed} replaced, {unchanged} unchanged"
    if newer:
        line += f", {newer} kept (the stored record was ingested later than the file's)"
    click.echo(line)


@cli.command()
@click.pass_obj
def reindex(ctx: Context) -> None:
    """Rebuild every embedding from the stored records (after a model change).

    Nothing is re-extracted; texts the current model has embedded before come from the
    embedding cache.

    Example usage:

        \b
        signalkb reindex
    """
    store = ctx.existing_store
    count = store.reindex()
    click.echo(f"reindexed {count} articles with {store.embedder.name}")


@cli.command()
@click.argument("article_id")
@click.pass_obj
def delete(ctx: Context, article_id: str) -> None:
    """Delete one article and every row of it.

    Example usage:

        \b
        signalkb delete 3f2a9c0d1e4b5a6c
    """
    article = find_article(ctx, article_id)
    ctx.existing_store.delete(article.id)
    click.echo(f"deleted {article.id} {article.title}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@click.pass_obj
def stats(ctx: Context, as_json: bool) -> None:
    """Articles, rows per kind and the store's size.

    Example usage:

        \b
        signalkb stats --json
    """
    figures = ctx.existing_store.stats()
    if as_json:
        click.echo(json.dumps(figures))
        return
    click.echo(f"articles      {figures['articles']}")
    for kind in KINDS:
        click.echo(f"{kind:<13} {figures[kind]}")
    click.echo(f"rows          {figures['rows']}")
    click.echo(f"store size    {figures['store_bytes'] / 1e6:.1f} MB")
    click.echo(f"embedder      {figures['embedder']}")


@cli.command()
@click.option(
    "--kind", type=click.Choice(KINDS), default="signals", show_default=True, help="Table."
)
@filter_options(kinds=False)
@click.option("--min-articles", type=click.IntRange(1), default=2, show_default=True)
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@json_options("trend")
@click.pass_obj
def trends(
    ctx: Context,
    kind: str,
    filters: Filters,
    min_articles: int,
    limit: int,
    json_format: str | None,
) -> None:
    """Rows many articles share, clustered by meaning, with their momentum.

    With --json, an array of trends (the shape of the web's /api/trends; --jsonl, one per
    line): `articles` is the number of articles, `article_ids` lists them.

    Example usage:

        \b
        signalkb trends --kind technologies --since 2024-01-01 --json
    """
    from kb.trends import compute_trends

    store = ctx.existing_store
    found = compute_trends(store, kind=kind, filters=filters, min_articles=min_articles)  # type: ignore[arg-type]
    if json_format:
        echo_json([trend_json(trend) for trend in found[:limit]], json_format)
        return
    if not found:
        click.echo(f"no trends: no {kind} row is shared by {min_articles} articles", err=True)
    for trend in found[:limit]:
        click.echo(
            f"{len(trend.article_ids):>3} articles {trend.size:>4} rows  "
            f"{trend.momentum:<7} {trend.mean_relevancy:.1f}  {trend.name}"
        )


@cli.command()
@click.option("--since", type=DateOrAge(), default="7d", show_default=True, help="Period start.")
@click.option(
    "--by",
    type=click.Choice(["published", "ingested"]),
    default="published",
    show_default=True,
    help="Which date puts an article in the period: its publication date (the day ingested "
    "where it has none), or the day it was ingested.",
)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.pass_obj
def digest(ctx: Context, since: date, by: str, output: Path | None) -> None:
    """A newsletter page of a period: top trends, most relevant signals, then each new
    article's record, newest first.

    Example usage:

        \b
        signalkb digest --since 7d -o digest.md
        signalkb digest --since 7d --by ingested
    """
    from kb.export import digest_markdown

    text = digest_markdown(ctx.existing_store, since, by=by)  # type: ignore[arg-type]
    if output is None:
        click.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
