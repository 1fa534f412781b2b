"""`signalkb export`: tables out."""

from __future__ import annotations

from pathlib import Path

import click

from kb.cli import Context, cli
from kb.records import KINDS


@cli.command()
@click.option("--kind", type=click.Choice([*KINDS, "all"]), default="all", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "md", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), default=None)
@click.pass_obj
def export(ctx: Context, kind: str, fmt: str, output: Path | None) -> None:
    """Export one table (or all) across all articles.

    Example usage:

        signalkb export --kind signals --format csv -o signals.csv
    """
    from kb.export import export as run_export
    from kb.export import write

    write(run_export(ctx.store, kind, fmt), output)
    if output is not None:
        click.echo(f"wrote {output}", err=True)
