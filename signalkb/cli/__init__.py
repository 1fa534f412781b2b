"""The `signalkb` command line: one click group, one module per command group.

Domain errors become one clear line and a non-zero exit here, in one place; set
`SIGNALKB_RAISE_ERRORS=1` (the `raise_errors` setting) to see the traceback instead.
Options that a setting also covers are not read from the environment here: `Settings`
reads `SIGNALKB_*` once, and an option given on the command line overrides it.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from kb.errors import SignalKBError, StoreError
from kb.settings import Settings
from kb.store import Store, store_exists
from signalkb.compose import Parts


class Context:
    """What every command shares: the settings, the parts and a lazily opened store."""

    def __init__(self, settings: Settings, parts: Parts) -> None:
        self.settings = settings
        self.parts = parts
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        """The knowledge base, opened on first use."""
        if self._store is None:
            self._store = self.parts.open_store(self.settings)
        return self._store

    @property
    def existing_store(self) -> Store:
        """The knowledge base for a command that only reads it: an error, not a new empty
        store, when there is none at `--kb` (a typo, or another working directory)."""
        home = self.settings.home
        if self._store is None and not self.settings.chroma_url and not store_exists(home):
            raise StoreError(
                f"no knowledge base at {Path(home).resolve()}; ingest something first, "
                "or pass --kb DIR (or set SIGNALKB_HOME)"
            )
        return self.store


def shared_options() -> list[click.Option]:
    """The options every command takes, before or after its name (`--kb DIR list` and
    `list --kb DIR` mean the same); each overrides its setting."""
    return [
        click.Option(
            ["--kb", "home"],
            type=click.Path(path_type=Path, file_okay=False),
            help="Knowledge base directory (default: $SIGNALKB_HOME or data/kb).",
        ),
        click.Option(["--chroma-url"], default=None, help="Use a chroma server."),
        click.Option(
            ["--backend"], default=None, help="Extractor backend: llamacpp (default) or openai."
        ),
        click.Option(
            ["--model"],
            default=None,
            help="GGUF model for llamacpp: smollm2 (tuned, default), smollm2-base, gemma3, a path.",
        ),
    ]


def _applying(names: list[str], callback: Callable[..., Any]) -> Callable[..., Any]:
    """`callback` with the shared options given after the command name applied to the
    settings first (they win over the same options given before it)."""

    @functools.wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        given = {name: kwargs.pop(name) for name in names}
        given = {name: value for name, value in given.items() if value is not None}
        context = click.get_current_context().find_object(Context)
        if given and context is not None:
            context.settings = context.settings.model_copy(update=given)
        return callback(*args, **kwargs)

    return wrapper


class SignalKBGroup(click.Group):
    """A click group that turns signalkb's errors into one line on stderr and gives every
    command the shared options."""

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        """Register `cmd`, adding the shared options it does not define itself."""
        taken = {param.name for param in cmd.params}
        extra = [option for option in shared_options() if option.name not in taken]
        if extra and cmd.callback is not None:
            cmd.params.extend(extra)
            cmd.callback = _applying([str(option.name) for option in extra], cmd.callback)
        super().add_command(cmd, name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SignalKBError as exc:
            settings = getattr(ctx.obj, "settings", None)
            if settings is not None and settings.raise_errors:
                raise
            raise click.ClickException(str(exc)) from exc


@click.group(cls=SignalKBGroup, params=shared_options())
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
    given = {"home": home, "chroma_url": chroma_url, "backend": backend, "model": model}
    parts = ctx.obj if isinstance(ctx.obj, Parts) else Parts()
    ctx.obj = Context(Settings(**{k: v for k, v in given.items() if v is not None}), parts)


def main(parts: Parts | None = None) -> None:
    """Console-script entry point; `parts` swaps in other parts (tests' fakes)."""
    sys.exit(cli.main(obj=parts))


# Each command module adds its commands to `cli` when imported; they import `cli` from here.
from signalkb.cli import (  # noqa: E402, F401
    doctor_cmd,
    eval_cmd,
    export_cmds,
    ingest_cmds,
    kb_cmds,
    query_cmds,
    serve_cmd,
    tune_cmd,
)
