"""Options and parameter types more than one command takes, defined once."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar, cast

import click

from kb.filters import Filters
from kb.records import KINDS
from kb.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

_AGE = re.compile(r"^(\d+)([dwmy])$")
_AGE_DAYS = {"d": 1, "w": 7, "m": 30, "y": 365}


class DateOrAge(click.ParamType):
    """A date (YYYY-MM-DD) or an age before today (7d, 2w, 3m, 1y)."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        """Parse the option's value into a date."""
        if isinstance(value, date):
            return value
        text = str(value).strip().lower()
        if match := _AGE.match(text):
            return date.today() - timedelta(days=int(match[1]) * _AGE_DAYS[match[2]])
        try:
            return date.fromisoformat(text)
        except ValueError:
            self.fail(f"{value!r} is neither YYYY-MM-DD nor an age like 7d", param, ctx)


def allow_private_option(command: F) -> F:
    """`--allow-private`: fetch private and loopback addresses (or SIGNALKB_ALLOW_PRIVATE)."""
    return click.option(
        "--allow-private", is_flag=True, help="Fetch private and loopback addresses."
    )(command)


def with_private(settings: Settings, allow_private: bool) -> Settings:
    """The settings, with private addresses allowed when the option asks for it."""
    if not allow_private:
        return settings
    return settings.model_copy(update={"allow_private": True})


def filter_options(*, kinds: bool = True) -> Callable[[F], F]:
    """The row filters as options, handed to the command as one `filters: Filters`.

    With `kinds`, `--kind` (repeatable) names the tables; a command whose `--kind` means
    something else (one table to export, to find trends in) leaves it out.
    """
    options = [
        click.option("--min-relevancy", type=click.IntRange(1, 5), default=1, show_default=True),
        click.option(
            "--since", type=DateOrAge(), default=None, help="YYYY-MM-DD or an age like 30d."
        ),
        click.option(
            "--until", type=DateOrAge(), default=None, help="YYYY-MM-DD or an age like 7d."
        ),
        click.option("--site", default=None, help="Only articles from this site."),
        click.option("--technology", default=None, help="Only articles naming this technology."),
        click.option("--theme", default=None, help="Only articles with this theme."),
    ]
    if kinds:
        options.insert(
            0,
            click.option(
                "--kind",
                "filter_kinds",
                type=click.Choice(KINDS),
                multiple=True,
                help="Only this table (repeatable).",
            ),
        )

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def with_filters(
            *args: Any,
            min_relevancy: int,
            since: date | None,
            until: date | None,
            site: str | None,
            technology: str | None,
            theme: str | None,
            filter_kinds: tuple[str, ...] = (),
            **kwargs: Any,
        ) -> Any:
            kwargs["filters"] = Filters.of(
                kinds=filter_kinds,
                min_relevancy=min_relevancy,
                since=since,
                until=until,
                site=site,
                technology=technology,
                theme=theme,
            )
            return command(*args, **kwargs)

        for option in reversed(options):
            with_filters = option(with_filters)
        return cast(F, with_filters)

    return decorate


def json_options(what: str) -> Callable[[F], F]:
    """`--json` (one JSON document: an array of `what`) and `--jsonl` (JSON Lines: one
    object per line), handed to the command as `json_format`: "json", "jsonl" or None."""

    def decorate(command: F) -> F:
        @functools.wraps(command)
        def with_json(*args: Any, as_json: bool, as_jsonl: bool, **kwargs: Any) -> Any:
            if as_json and as_jsonl:
                raise click.UsageError("--json and --jsonl exclude each other")
            kwargs["json_format"] = "json" if as_json else "jsonl" if as_jsonl else None
            return command(*args, **kwargs)

        with_json = click.option(
            "--jsonl", "as_jsonl", is_flag=True, help=f"JSON Lines: one {what} object per line."
        )(with_json)
        with_json = click.option(
            "--json", "as_json", is_flag=True, help=f"One JSON document: an array of {what}s."
        )(with_json)
        return cast(F, with_json)

    return decorate


def echo_json(objects: list[Any], json_format: str) -> None:
    """Print `objects` as one JSON array ("json") or as JSON Lines ("jsonl")."""
    if json_format == "jsonl":
        for obj in objects:
            click.echo(json.dumps(obj, ensure_ascii=False, default=str))
    else:
        click.echo(json.dumps(objects, ensure_ascii=False, indent=1, default=str))
