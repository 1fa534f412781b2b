"""What a local text file says about itself: YAML front matter, a byline, its dates.

`split_front_matter` reads the `---` block at the top of a Markdown file (title,
author, date, canonical URL, description). `split_byline` finds a "By X | 28 January
2026" line near the top of a plain text. Both hand back the text without what they
read; neither ever fails on a file, it only finds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

import yaml

from ingest.html import parse_date
from ingest.urls import normalize_url


@dataclass
class FileMeta:
    """Metadata a file states about itself; empty fields were not stated."""

    title: str = ""
    author: str = ""
    published: date | None = None
    url: str = ""
    description: str = ""


_FRONT_MATTER = re.compile(
    r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S
)
_SIMPLE_KEY = re.compile(r"^([A-Za-z_][\w-]*)[ \t]*:[ \t]*(.*?)[ \t]*$")
_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>[A-Za-z]{3,9})\.?"
_DAY = r"(?P<day>\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>\d{4})"
_HUMAN_DATES = (
    re.compile(rf"{_DAY}\s+{_MONTH},?\s+{_YEAR}\b"),
    re.compile(rf"{_MONTH}\s+{_DAY},?\s+{_YEAR}\b"),
)
_BYLINE = re.compile(r"^[*_]*\s*by\s+(?P<rest>.+?)\s*[*_]*$", re.I)
_BYLINE_SEPARATOR = re.compile(r"\s*(?:[|,·•]|\s[-–—]\s|[–—])\s*")
_NAME_WORD = r"(?:[A-Z\u00c0-\u00de][\w.'’-]*|and|&|van|von|de|da|del|der|la|le)"
_NAME = re.compile(rf"{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,5}}")
_BYLINE_SEARCH_LINES = 5


def parse_loose_date(value: object) -> date | None:
    """A date from a date/datetime or a string such as 2026-01-28, 28 Jan 2026, January 28, 2026."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    found = parse_date(text)
    if found is not None:
        return found
    for pattern in _HUMAN_DATES:
        match = pattern.match(text)
        month = _MONTHS.get(match["month"].lower()) if match else None
        if match and month:
            try:
                return date(int(match["year"]), month, int(match["day"]))
            except ValueError:
                return None
    return None


def _plain(value: Any) -> str:
    """A front-matter value as one line of text: names of a list or mapping, joined."""
    if isinstance(value, dict):
        return _plain(value.get("name", ""))
    if isinstance(value, list):
        return ", ".join(name for name in (_plain(v) for v in value) if name)
    if value is None or isinstance(value, bool):
        return ""
    return " ".join(str(value).split())


def _simple_front_matter(block: str) -> dict[str, str]:
    """`key: value` lines, for front matter that is not valid YAML (e.g. an unquoted colon)."""
    found: dict[str, str] = {}
    for line in block.splitlines():
        match = _SIMPLE_KEY.match(line)
        if match:
            value = match[2]
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            found[match[1]] = value
    return found


def _canonical(value: str) -> str:
    """The normalised URL when `value` is an absolute http(s) URL, else ""."""
    parts = urlsplit(value.strip())
    if parts.scheme.lower() in ("http", "https") and parts.netloc:
        return normalize_url(value.strip())
    return ""


def split_front_matter(raw: str) -> tuple[FileMeta, str]:
    """The metadata of a Markdown file's front matter, and the text without it.

    A block that is neither YAML mapping nor `key: value` lines is left in the text.
    """
    match = _FRONT_MATTER.match(raw)
    if not match:
        return FileMeta(), raw
    try:
        loaded = yaml.safe_load(match[1])
    except yaml.YAMLError:
        loaded = None
    fields: dict[str, Any] = loaded if isinstance(loaded, dict) else _simple_front_matter(match[1])
    if not fields:
        return FileMeta(), raw
    fields = {str(key).lower(): value for key, value in fields.items()}

    def first(*keys: str) -> Any:
        return next((fields[k] for k in keys if fields.get(k) not in (None, "")), None)

    meta = FileMeta(
        title=_plain(first("title")),
        author=_plain(first("author", "authors")),
        published=parse_loose_date(first("published", "date", "pubdate", "published_at")),
        url=_canonical(_plain(first("canonical_url", "canonical", "url"))),
        description=_plain(first("description")),
    )
    return meta, raw[match.end() :]


def _parse_byline(line: str) -> tuple[str, date | None] | None:
    """(author, date) when `line` is a byline such as "By Jane Doe | 28 January 2026"."""
    match = _BYLINE.match(line.strip())
    if not match or len(line) > 120:
        return None
    author, *rest = _BYLINE_SEPARATOR.split(match["rest"], maxsplit=1)
    published = parse_loose_date(rest[0]) if rest else None
    # "By March, most clinics..." is a sentence: after the name only a date may follow
    if not _NAME.fullmatch(author) or (rest and published is None):
        return None
    return author, published


def split_byline(text: str) -> tuple[FileMeta, str]:
    """The author and date of a byline among the first lines, and the text without that line."""
    lines = text.split("\n")
    seen = 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        found = _parse_byline(line)
        if found:
            author, published = found
            rest = "\n".join(lines[:index] + lines[index + 1 :])
            return FileMeta(author=author, published=published), rest
        seen += 1
        if seen >= _BYLINE_SEARCH_LINES:
            break
    return FileMeta(), text
