"""`signalkb export`: tables out, in the formats people open."""

from __future__ import annotations

from pathlib import Path

import click

from kb.filters import Filters
from kb.formats import EXPORT_KINDS, FORMATS
from signalkb.cli import Context, cli
from signalkb.cli.options import filter_options


@cli.command()
@click.option(
    "--kind",
    type=click.Choice(EXPORT_KINDS),
    default="all",
    show_default=True,
    help="One table, the articles, or all (json: whole records, the backup `import` reads).",
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="csv", show_default=True)
@filter_options(kinds=False)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    default=None,
    help="File to write; - (or none) for stdout.",
)
@click.pass_obj
def export(
    ctx: Context,
    kind: str,
    fmt: str,
    filters: Filters,
    output: Path | None,
) -> None:
    """Export one table, the articles, or everything, across all articles.

    Every row carries its article's title, URL and date. csv and xlsx cells that a
    spreadsheet would run as formulas are neutralised; xlsx with --kind all has one sheet
    per kind.

    Example usage:

        \b
        signalkb export --kind signals --format csv -o signals.csv
        signalkb export --kind all --format xlsx --min-relevancy 4 -o kb.xlsx
        signalkb export --kind all --format json -o backup.json
        signalkb export --format parquet -o - | duckdb -c "select * from read_parquet('/dev/stdin')"
    """
    from kb.export import export_bytes

    if output is None and fmt in ("xlsx", "parquet"):
        raise click.UsageError(
            f"--format {fmt} is binary: give a file with -o (or -o - for stdout)"
        )
    data = export_bytes(ctx.existing_store, kind, fmt, filters)
    if output is None or str(output) == "-":
        stream = click.get_binary_stream("stdout")
        stream.write(data)
        stream.flush()
    else:
        output.write_bytes(data)
        click.echo(f"wrote {output}", err=True)
