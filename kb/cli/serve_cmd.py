"""`signalkb serve`: the web UI."""

from __future__ import annotations

import click

from kb.cli import Context, cli


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to bind.")
@click.pass_obj
def serve(ctx: Context, host: str, port: int) -> None:
    """Serve the web UI.

    It binds 127.0.0.1 by default. Binding any other address needs SIGNALKB_TOKEN, which
    every request must then carry (open the UI once with ?token=... to set a cookie).

    Example usage:

        signalkb serve --port 8000
        SIGNALKB_TOKEN=s3cret signalkb serve --host 0.0.0.0
    """
    import uvicorn

    from web.app import create_app
    from web.guard import is_loopback

    if not is_loopback(host) and not ctx.settings.token:
        raise click.UsageError(f"binding {host} needs a token: set SIGNALKB_TOKEN")
    uvicorn.run(create_app(ctx.settings), host=host, port=port, log_level="info")
