"""Every command's `--help` reads cleanly: no doubled spaces, tabs, stray `\\b` or odd indents."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from signalkb.cli import cli

_DOUBLE_SPACE = re.compile(r"\S {2,}\S")
# click's own layout in Options/Commands: the gap before each help text and before "[default: …]"
_COLUMN_GAP = re.compile(r" {2,}")
_EXTRA_GAP = re.compile(r" {2,}\[")


def command_paths(command: click.Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The argument path of `command` and of every subcommand under it."""
    yield path
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            yield from command_paths(sub, (*path, name))


def untidy_lines(help_text: str) -> list[str]:
    """The lines of a help page with doubled spaces between words, tabs or backspaces.

    Outside the Options/Commands lists an odd indentation also counts: click indents
    prose by two spaces, and a docstring indented off by one shows as one space more.
    """
    found = []
    in_list = False
    for line in help_text.splitlines():
        if line in ("Options:", "Commands:"):
            in_list = True
        body = line.strip()
        if in_list and line.startswith("  ") and not line.startswith(" " * 4):
            body = _EXTRA_GAP.sub(" [", _COLUMN_GAP.sub(" ", body, count=1))
        elif in_list:
            body = _EXTRA_GAP.sub(" [", body)
        odd_indent = not in_list and (len(line) - len(line.lstrip(" "))) % 2 == 1
        if "\t" in line or "\b" in line or odd_indent or _DOUBLE_SPACE.search(body):
            found.append(line)
    return found


@pytest.mark.parametrize("path", list(command_paths(cli)), ids=lambda p: " ".join(p) or "cli")
def test_help_has_no_doubled_spaces_or_tabs(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"], terminal_width=100, catch_exceptions=False)
    assert result.exit_code == 0
    assert untidy_lines(result.output) == []


def test_the_checker_finds_what_the_old_ingest_help_had() -> None:
    old = (
        "Usage: cli ingest [OPTIONS]\n\n  Fetch.\n\n   Sources are files  (searched\n"
        "   \b\n     example\n\n"
        "Options:\n  --force  Re-extract.\n  --limit INTEGER  Rows.  [default: 10]\n"
    )
    assert untidy_lines(old) == ["   Sources are files  (searched", "   \b", "     example"]
