"""`Filters`: the one value every filtered read of the rows takes.

Search, `RowIndex.mask`, export, trends and the table pages all take a `Filters`. It is
built once per command or request (the CLI's `filter_options`, the web's `FiltersDep`)
through `Filters.of`, which normalises it there: the tables in their record order (all
five when none is named), text stripped, relevancy at least 1. Adding a filter is two
edits: a field here, and its test in `RowIndex.mask`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from kb.records import KINDS, Kind


@dataclass(frozen=True)
class Filters:
    """Which rows a read keeps (every row by default).

    Attributes:
        kinds: the tables.
        min_relevancy: only rows at least this relevant (1 to 5).
        since, until: only rows of articles published in this range (inclusive).
        site: only rows of articles from this site (host, `www.` ignored).
        technology: only rows of articles that name this technology (GPT 4 = GPT-4).
        theme: only rows of articles with this theme (any case).
    """

    kinds: tuple[Kind, ...] = KINDS
    min_relevancy: int = 1
    since: date | None = None
    until: date | None = None
    site: str = ""
    technology: str = ""
    theme: str = ""

    @classmethod
    def of(
        cls,
        *,
        kinds: Iterable[str] = (),
        min_relevancy: int = 1,
        since: date | None = None,
        until: date | None = None,
        site: str | None = "",
        technology: str | None = "",
        theme: str | None = "",
    ) -> Filters:
        """Filters from what a user gave, normalised (no kinds named: every table)."""
        named = set(kinds)
        return cls(
            kinds=tuple(k for k in KINDS if k in named) or KINDS,
            min_relevancy=max(1, min_relevancy),
            since=since,
            until=until,
            site=(site or "").strip(),
            technology=(technology or "").strip(),
            theme=(theme or "").strip(),
        )

    def only(self, kind: Kind) -> Filters:
        """The same filters over one table."""
        return replace(self, kinds=(kind,))

    @property
    def all_kinds(self) -> bool:
        """True when every table is kept."""
        return set(self.kinds) == set(KINDS)

    def params(self) -> dict[str, Any]:
        """The filters that are set, as JSON-ready query parameters (for links and echoes)."""
        given: dict[str, Any] = {
            "kind": [] if self.all_kinds else list(self.kinds),
            "min_relevancy": self.min_relevancy if self.min_relevancy > 1 else None,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "site": self.site,
            "technology": self.technology,
            "theme": self.theme,
        }
        return given


EVERY_ROW = Filters()
