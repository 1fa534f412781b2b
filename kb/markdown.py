"""Render a record in the Markdown layout of docs/record-format.md (the layout of seed 002).

The output parses back to the same fields with the scorer in `shared/eval/score.py`
(a test checks this on seed 002 itself), so an exported record can be scored.
"""

from __future__ import annotations

import pandas as pd

from kb.records import ITEM_TYPES, KINDS, Article, Item


def item_frame(items: list[Item], item_type: type[Item]) -> pd.DataFrame:
    """The rows of one table as a frame with the layout's column headers."""
    headers = [header for _, header in item_type.columns] + ["relevancy"]
    rows = [
        [_cell(getattr(item, field)) for field, _ in item_type.columns] + [item.relevancy]
        for item in items
    ]
    return pd.DataFrame(rows, columns=headers)


def _cell(value: str) -> str:
    # A pipe would end the cell and a newline the row.
    return " ".join(value.split()).replace("|", "\\|")


def _bullets(values: list[str]) -> str:
    return "\n".join(f"* {_cell(value)}" for value in values)


def table_markdown(items: list[Item], item_type: type[Item]) -> str:
    """One GitHub pipe table, as pandas `to_markdown` writes it."""
    frame = item_frame(items, item_type)
    if frame.empty:
        header = "| " + " | ".join(frame.columns) + " |"
        rule = "|" + "|".join(":--" if c != "relevancy" else "--:" for c in frame.columns) + "|"
        return f"{header}\n{rule}"
    return str(frame.to_markdown(index=False))


def record_markdown(article: Article) -> str:
    """The whole record in the layout of docs/record-format.md."""
    parts = [
        f"# __{_cell(article.title)}__",
        "",
        f"__[External link]({article.url})__",
        "",
        "## Keywords",
        "",
        _bullets(article.keywords),
        "",
        "## Themes",
        "",
        _bullets(article.themes),
        "",
        "## Other",
        "",
        f"* Category: {_cell(article.category)}",
        f"* Type: {_cell(article.type)}",
        "",
        "## Summary",
        "",
        " ".join(article.summary.split()),
        "",
    ]
    for kind in KINDS:
        table = table_markdown(article.items(kind), ITEM_TYPES[kind])
        parts += [f"## {kind.capitalize()}", "", table, ""]
    return "\n".join(parts)
