"""`signalkb serve`: the web UI."""

from __future__ import annotations

import click

from kb.cli import Context, cli


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True)
@click.pass_obj
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the web UI.

    Example usage:

        signalkb serve --port 8000
    """
    import uvicorn

    from web.app import create_app

    uvicorn.run(create_app(ctx.settings), host=host, port=port, log_level="info")
