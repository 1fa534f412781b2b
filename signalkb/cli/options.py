"""Options and parameter types more than one command takes, defined once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, TypeVar

import click

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
