"""`signalkb serve`: the web UI."""

from __future__ import annotations

import click

from signalkb.cli import Context, cli


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=int, default=8000, show_default=True, help="Port to bind.")
@click.option(
    "--get",
    "get_path",
    metavar="PATH",
    help="Print one page (e.g. '/api/search?q=agents') and exit, without opening a socket.",
)
@click.pass_obj
def serve(ctx: Context, host: str, port: int, get_path: str | None) -> None:
    """Serve the web UI.

    It binds 127.0.0.1 by default. Binding any other address needs SIGNALKB_TOKEN, which
    every request must then carry (open the UI once with ?token=... to set a cookie).

    Example usage:

        \b
        signalkb serve --port 8000
        SIGNALKB_TOKEN=s3cret signalkb serve --host 0.0.0.0
        signalkb serve --get '/api/search?q=small+models'
    """
    from web.guard import is_loopback

    if get_path is not None:
        from fastapi.testclient import TestClient

        with TestClient(ctx.parts.web_app(ctx.settings), base_url="http://127.0.0.1") as client:
            response = client.get(get_path)
        click.echo(response.text)
        if response.status_code >= 400:
            raise click.exceptions.Exit(1)
        return
    if not is_loopback(host) and not ctx.settings.token:
        raise click.UsageError(f"binding {host} needs a token: set SIGNALKB_TOKEN")
    import uvicorn

    uvicorn.run(
        ctx.parts.web_app(ctx.settings, warm_up=True), host=host, port=port, log_level="info"
    )
