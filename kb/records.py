"""The article record (docs/record-format.md) as pydantic models.

Model output and imported JSON go through these before anything is stored: unknown
fields are rejected and relevancy is an integer from 1 to 5.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Kind = Literal["signals", "concerns", "behaviors", "technologies", "issues"]
KINDS: tuple[Kind, ...] = ("signals", "concerns", "behaviors", "technologies", "issues")


class Item(BaseModel):
    """A row of one of the five tables."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("name", "name"),
        ("description", "description"),
    )

    name: str = Field(min_length=1, max_length=300)
    description: str = Field(min_length=1, max_length=2000)
    relevancy: int = Field(ge=1, le=5)
    evidence: str = Field(default="", max_length=2000, description="verbatim quote of the article")

    def text(self) -> str:
        """The text embedded for search: name and description."""
        return f"{self.name}. {self.description}"


class Signal(Item):
    """An emerging change the article gives evidence of."""

    columns: ClassVar[tuple[tuple[str, str], ...]] = (
        ("name", "name"),
        ("description", "description"),
        ("change", "change"),
        ("ten_year", "10-year"),
        ("driving_force", "driving-force"),
    )

    change: str = Field(min_length=1, max_length=1000)
    ten_year: str = Field(min_length=1, max_length=1000)
    driving_force: str = Field(min_length=1, max_length=1000)


class Concern(Item):
    """A risk or worry the article raises or implies."""


class Behavior(Item):
    """What people or organisations are observed to be doing."""


class Technology(Item):
    """A named technology, product, model or method."""


class Issue(Item):
    """A topic of debate or attention the article feeds."""


ITEM_TYPES: dict[Kind, type[Item]] = {
    "signals": Signal,
    "concerns": Concern,
    "behaviors": Behavior,
    "technologies": Technology,
    "issues": Issue,
}


def article_id_for(url: str) -> str:
    """A stable 16-hex-digit id for an article's canonical URL (or file: path)."""
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]


def text_hash(text: str) -> str:
    """Content hash of an article's text, to tell a changed page from an unchanged one."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:32]


class Article(BaseModel):
    """One ingested article: its metadata, the extracted record and its source text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=1)
    url: str = Field(min_length=1)
    title: str = Field(min_length=1)
    site: str = ""
    author: str = ""
    published: date | None = None
    language: str = ""
    keywords: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    category: str = ""
    type: str = ""
    summary: str = ""
    signals: list[Signal] = Field(default_factory=list)
    concerns: list[Concern] = Field(default_factory=list)
    behaviors: list[Behavior] = Field(default_factory=list)
    technologies: list[Technology] = Field(default_factory=list)
    issues: list[Issue] = Field(default_factory=list)
    incomplete: bool = Field(default=False, description="some section could not be filled")
    extractor: str = Field(default="", description="backend and model that wrote the record")
    text: str = Field(default="", description="the clean article text the record came from")
    text_hash: str = ""
    ingested_at: datetime | None = None

    @field_validator("keywords", "themes")
    @classmethod
    def _clean_terms(cls, terms: list[str]) -> list[str]:
        seen: list[str] = []
        for term in terms:
            term = " ".join(term.split())
            if term and term.lower() not in (s.lower() for s in seen):
                seen.append(term)
        return seen

    def items(self, kind: Kind) -> list[Item]:
        """The rows of one table."""
        return list(getattr(self, kind))

    def all_items(self) -> list[tuple[Kind, int, Item]]:
        """Every row of every table as (kind, position, item)."""
        return [(kind, i, item) for kind in KINDS for i, item in enumerate(self.items(kind))]

    def missing_sections(self) -> list[str]:
        """Names of the sections that are empty."""
        sections = ["summary", "keywords", *KINDS]
        return [name for name in sections if not getattr(self, name)]
