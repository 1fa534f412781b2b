"""The record layout: seed 002 survives a round trip through record_markdown and the scorer."""

from __future__ import annotations

from typing import Any

import pytest

from kb.markdown import record_markdown
from kb.records import ITEM_TYPES, KINDS, Article
from tests.kb_fixtures import SEED_RECORD, load_scorer, make_article

scorer = load_scorer()
needs_shared = pytest.mark.skipif(scorer is None, reason="shared/eval is not beside the repo")


def article_from_parsed(parsed: dict[str, Any], url: str) -> Article:
    """An Article holding the fields the scorer parsed out of a record."""

    def item(kind: str, row: dict[str, str]) -> dict[str, Any]:
        fields = {field: row[header] for field, header in ITEM_TYPES[kind].columns}  # type: ignore[index]
        return {**fields, "relevancy": int(row["relevancy"])}

    return Article(
        id="seed002",
        url=url,
        title=parsed["title"],
        keywords=parsed["keywords"],
        themes=parsed["themes"],
        category="technology",
        type="blog post",
        summary=parsed["summary"],
        **{kind: [item(kind, row) for row in parsed[kind]] for kind in KINDS},
    )


@needs_shared
def test_seed_record_round_trips_through_the_scorer() -> None:
    seed = SEED_RECORD.read_text(encoding="utf-8")
    parsed = scorer.parse(seed)
    assert all(parsed[kind] for kind in KINDS)
    url = "https://newsletter.nocode.ai/p/emergence-small-language-models"
    markdown = record_markdown(article_from_parsed(parsed, url))
    assert scorer.parse(markdown) == parsed
    # The tables are the seed's own lines, padding included (the seed pads one row with
    # mojibake differently, so only ASCII rows are compared).
    seed_lines = set(seed.splitlines())
    table_lines = [line for line in markdown.splitlines() if line.startswith("|")]
    table_lines = [line for line in table_lines if line.isascii()]
    assert table_lines and all(line in seed_lines for line in table_lines)
    assert f"__[External link]({url})__" in markdown


def test_layout_sections_in_order() -> None:
    markdown = record_markdown(make_article("energy"))
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        "# __Data centres strain the power grid__",
        "## Keywords",
        "## Themes",
        "## Other",
        "## Summary",
        "## Signals",
        "## Concerns",
        "## Behaviors",
        "## Technologies",
        "## Issues",
    ]
    assert "| name | description | change | 10-year | driving-force | relevancy |" in (
        " ".join(markdown.split("\n## Signals\n")[1].split("\n")[1].split())
    )


@needs_shared
def test_pipes_and_newlines_stay_inside_cells() -> None:
    article = make_article("slm")
    odd = article.concerns[0].model_copy(update={"description": "either | or\nnext line"})
    parsed = scorer.parse(record_markdown(article.model_copy(update={"concerns": [odd]})))
    assert parsed["concerns"] == [
        {"name": odd.name, "description": "either \\| or next line", "relevancy": "3"}
    ]


@needs_shared
def test_empty_tables_keep_their_headers() -> None:
    article = make_article("robots", behaviors=[], issues=[])
    markdown = record_markdown(article)
    assert "## Behaviors\n\n| name | description | relevancy |\n|:--|:--|--:|" in markdown
    parsed = scorer.parse(markdown)
    assert parsed["behaviors"] == [] and len(parsed["signals"]) == 1
