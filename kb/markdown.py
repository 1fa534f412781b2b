"""Render a record in the Markdown layout of docs/record-format.md (the layout of seed 002).

The output parses back to the same fields with the scorer in `shared/eval/score.py`
(a test checks this on seed 002 itself), so an exported record can be scored.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kb.records import ITEM_TYPES, KINDS, Article, Item

if TYPE_CHECKING:
    import pandas as pd


def item_frame(items: list[Item], item_type: type[Item]) -> pd.DataFrame:
    """The rows of one table as a frame with the layout's column headers."""
    headers = [header for _, header in item_type.columns] + ["relevancy"]
    rows = [
        [_cell(getattr(item, field)) for field, _ in item_type.columns] + [item.relevancy]
        for item in items
    ]
    import pandas as pd  # on first use: `list` and `search` never need it

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


# The layout's column headers mapped to the records' field names.
_HEADER_FIELDS = {
    "10-year": "ten_year",
    "10 year": "ten_year",
    "driving-force": "driving_force",
    "driving force": "driving_force",
}
_SECTIONS = {"keywords", "themes", "other", "summary", *KINDS}


def parse_record_markdown(md: str) -> dict[str, object]:
    """A record in the layout of RECORD-FORMAT.md, parsed back to plain fields.

    The inverse of `record_markdown` (and the reader of analyst-written gold records):
    title, keywords, themes, category, type, summary and, per table, a list of row dicts
    keyed by `Item` field names (`ten_year`, `driving_force`), relevancy as an int when
    the cell holds one. Unknown sections are ignored; a missing table is an empty list.
    """
    rec: dict[str, object] = {
        "title": "",
        "keywords": [],
        "themes": [],
        "category": "",
        "type": "",
        "summary": "",
        **{kind: [] for kind in KINDS},
    }
    head = re.search(r"^#\s+(.+)$", md, re.M)
    if head:
        title = re.sub(r",?\s*\(from page.*$", "", head.group(1))
        rec["title"] = title.replace("__", "").strip(" ,*_")
    for section in re.split(r"^##\s+", md, flags=re.M)[1:]:
        name, _, body = section.partition("\n")
        key = name.strip().lower()
        if key not in _SECTIONS:
            continue
        lines = [line.strip() for line in body.splitlines() if line.strip()]
        if key in ("keywords", "themes"):
            rec[key] = [line[1:].strip() for line in lines if line.startswith(("*", "-"))]
        elif key == "other":
            for line in lines:
                label, sep, value = line.lstrip("*- ").partition(":")
                if sep and label.strip().lower() in ("category", "type"):
                    rec[label.strip().lower()] = value.strip()
        elif key == "summary":
            rec["summary"] = " ".join(lines)
        else:
            rec[key] = _parse_table([line for line in lines if line.startswith("|")])
    return rec


def _parse_table(rows: list[str]) -> list[dict[str, object]]:
    if len(rows) < 2:
        return []

    def cells(row: str) -> list[str]:
        parts = re.split(r"(?<!\\)\|", row.strip().strip("|"))
        return [part.strip().replace("\\|", "|") for part in parts]

    fields = [_HEADER_FIELDS.get(c.lower(), c.lower()) for c in cells(rows[0])]
    out: list[dict[str, object]] = []
    for row in rows[2:]:
        item: dict[str, object] = dict(zip(fields, cells(row), strict=False))
        rel = str(item.get("relevancy", "")).strip()
        if rel.isdigit():
            item["relevancy"] = int(rel)
        out.append(item)
    return out
