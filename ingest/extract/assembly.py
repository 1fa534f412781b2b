"""Assembling the record: clean answers, verbatim evidence, a valid Article.

Pure functions: every row's evidence is checked against the text (kept, repaired or the
row dropped), rows and the record go through the pydantic models, and a record with a
section missing is marked `incomplete` rather than refused.
"""

from __future__ import annotations

from typing import Any

from ingest.extract.text import (
    Sentence,
    best_sentence,
    content_words,
    is_verbatim,
    locate,
    sentences,
    truncate_words,
)
from kb.errors import ExtractionError
from kb.records import ITEM_TYPES, KINDS, Article, Item


def clean_summary(answer: str, *, max_words: int = 150) -> str:
    """One paragraph of plain prose, cut to `max_words` at a sentence end."""
    text = answer.replace("*", "").replace("#", "").replace("`", "")
    text = " ".join(text.split())
    for prefix in ("Summary:", "Here is a summary:", "Here's a summary:"):
        text = text.removeprefix(prefix).strip()
    text = truncate_words(text, max_words)
    if text and text[-1] not in ".!?":
        cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
        text = text[: cut + 1] if cut > 0 else text + "."
    return text


def first_line(text: str) -> str:
    """The first non-empty line, without Markdown heading marks (a title of last resort)."""
    for line in text.splitlines():
        line = line.strip(" #*")
        if line:
            return line[:200]
    return ""


def check_evidence(row: dict[str, Any], text: str, sents: list[Sentence]) -> dict[str, Any] | None:
    """The row with verbatim evidence: kept, cut from the text, replaced by the sentence it
    paraphrases, or None (dropped) when the text holds nothing like it."""
    quote = str(row.get("evidence", ""))
    if quote and is_verbatim(quote, text):
        return row
    found = locate(quote, text) if quote else None
    if found is None:
        probe = quote or f"{row.get('name', '')} {row.get('description', '')}"
        best = best_sentence(probe, sents)
        if best is not None and _overlap(probe, best.text) >= 0.5:
            found = best.text
    return {**row, "evidence": found} if found else None


def _overlap(a: str, b: str) -> float:
    wa = content_words(a)
    return len(wa & content_words(b)) / len(wa) if wa else 0.0


def assemble(record: dict[str, Any], text: str, *, incomplete: bool) -> Article:
    """A valid Article from what was gathered; rows failing the schema or without
    verbatim evidence are dropped, and missing sections set `incomplete`."""
    sents = sentences(text, min_words=3, max_words=1000)
    clean: dict[str, Any] = {k: v for k, v in record.items() if k not in KINDS}
    for kind in KINDS:
        items: list[Item] = []
        for row in record.get(kind, []):
            checked = check_evidence(row, text, sents)
            if checked is None:
                continue
            try:
                items.append(ITEM_TYPES[kind].model_validate(checked))
            except ValueError:
                continue
        clean[kind] = items
    try:
        article = Article.model_validate(clean)
    except ValueError as exc:
        raise ExtractionError(f"cannot assemble a record: {exc}", source=record["url"]) from exc
    missing = article.missing_sections() or not (article.themes and article.category)
    if incomplete or missing:
        article = article.model_copy(update={"incomplete": True})
    return article
