"""The `signalkb` command line: one click group, commands split by concern.

Domain errors become one clear line and a non-zero exit here, in one place; set
`SIGNALKB_RAISE_ERRORS=1` to see the traceback instead.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from kb.errors import SignalKBError
from kb.settings import Settings


class Context:
    """What every command shares: the settings and a lazily opened store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._store: Any = None

    @property
    def store(self) -> Any:
        """The knowledge base, opened on first use."""
        if self._store is None:
            from kb.store import Store

            self._store = Store(self.settings.home, chroma_url=self.settings.chroma_url)
        return self._store


class SignalKBGroup(click.Group):
    """A click group that turns signalkb's errors into one line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SignalKBError as exc:
            if os.environ.get("SIGNALKB_RAISE_ERRORS"):
                raise
            raise click.ClickException(str(exc)) from exc


@click.group(cls=SignalKBGroup)
@click.option(
    "--kb",
    "home",
    type=click.Path(path_type=Path, file_okay=False),
    envvar="SIGNALKB_HOME",
    help="Knowledge base directory (default: data/kb).",
)
@click.option(
    "--chroma-url", envvar="SIGNALKB_CHROMA_URL", default=None, help="Use a chroma server."
)
@click.option(
    "--backend",
    envvar="SIGNALKB_BACKEND",
    default=None,
    help="Extractor backend: llamacpp (default) or openai.",
)
@click.option(
    "--model",
    envvar="SIGNALKB_MODEL",
    default=None,
    help="GGUF model for llamacpp: smollm2 (default), gemma3 or a path.",
)
@click.version_option(package_name="signalkb")
@click.pass_context
def cli(
    ctx: click.Context,
    home: Path | None,
    chroma_url: str | None,
    backend: str | None,
    model: str | None,
) -> None:
    """signalkb: track signals and trends in AI writing.

    Articles in (URLs, feeds, files), records out (summary, keywords and the signals,
    concerns, behaviors, technologies and issues each article gives evidence of),
    stored for semantic search, trends and export.
    """
    overrides: dict[str, Any] = {}
    if home is not None:
        overrides["home"] = home
    if chroma_url is not None:
        overrides["chroma_url"] = chroma_url
    if backend is not None:
        overrides["backend"] = backend
    if model is not None:
        overrides["model"] = model
    ctx.obj = Context(Settings(**overrides))


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main())


# Each command module adds its commands to `cli` when imported; they import `cli` from here.
from kb.cli import (  # noqa: E402, F401
    doctor_cmd,
    eval_cmd,
    export_cmds,
    ingest_cmds,
    kb_cmds,
    query_cmds,
    serve_cmd,
    tune_cmd,
)
