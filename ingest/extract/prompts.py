"""The questions SLMExtractor asks, and the small JSON schemas that constrain the answers.

Each question is short and concrete and shows the model only the text it needs: the
smallest models answer those well and lose their way in long, many-part requests.
"""

from __future__ import annotations

import json
from typing import Any

SYSTEM = "You are a careful analyst who tracks trends in artificial intelligence."
SUMMARY_START = "The article discusses"

TECH_KINDS = ("technology", "product", "model", "method")
OTHER_KINDS = ("person", "organization", "place", "other")
TECH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"kind": {"type": "string", "enum": [*TECH_KINDS, *OTHER_KINDS]}},
    "required": ["kind"],
}


def summary(title: str, body: str) -> str:
    """Ask for a one-paragraph third-person summary, as free prose."""
    return (
        f"Title: {title}\n\nArticle:\n{body}\n\n"
        "Write a one-paragraph summary of this article (about 100 words), in the third "
        "person, starting with 'The article discusses'."
    )


def category(title: str, summary_text: str) -> str:
    """Ask for the category and the type of text."""
    return (
        f"Title: {title}\nSummary: {summary_text}\n\n"
        "What is the category of this article, and what type of text is it?"
    )


def category_schema(categories: tuple[str, ...], types: tuple[str, ...]) -> dict[str, Any]:
    """Schema for the category/type answer."""
    return {
        "type": "object",
        "properties": {
            "category": {"type": "string", "enum": list(categories)},
            "type": {"type": "string", "enum": list(types)},
        },
        "required": ["category", "type"],
    }


def technology_kind(term: str, sentence: str) -> str:
    """Ask what kind of thing a named term is."""
    return (
        f"Sentence: {sentence}\n\n"
        f'In this sentence, is "{term}" a technology, product, model, method, person, '
        "organization, place or other?"
    )


NAME_HINTS: dict[str, str] = {
    "signals": "the trend",
    "concerns": "the risk",
    "behaviors": "what is being done",
    "issues": "the topic",
}


def name(kind: str, sentence: str) -> str:
    """Ask for a short name for a row."""
    return (
        f"Sentence: {sentence}\n\n"
        f"Give {NAME_HINTS[kind]} in this sentence a short title of 3 to 6 words. "
        "Answer with the title only."
    )


def merge_summaries(title: str, parts: list[str]) -> str:
    """Ask to merge the summaries of an article's chunks into one paragraph."""
    joined = "\n".join(f"- {p}" for p in parts)
    return (
        f"Title: {title}\n\nSummaries of the parts of the article:\n{joined}\n\n"
        "Write one paragraph (about 100 words) that summarises the whole article, in the "
        "third person, starting with 'The article discusses'."
    )


def retry(problems: list[str], schema: dict[str, Any]) -> str:
    """Ask again after an answer that failed the schema, naming what was wrong."""
    return (
        "That answer is not valid: " + "; ".join(problems[:5]) + ".\n"
        "Answer again with only a JSON object matching this schema: " + json.dumps(schema)
    )


def field(prompt: str, key: str, schema: dict[str, Any]) -> str:
    """Ask for one field on its own (field-by-field repair)."""
    choices = f" Choose one of: {', '.join(schema['enum'])}." if "enum" in schema else ""
    return f"{prompt}\n\nAnswer with the {key.replace('_', ' ')} only.{choices}"


SIGNAL_PARTS: dict[str, str] = {
    "change": "Describe the change in one sentence starting with 'Transition from'.",
    "driving_force": "What is driving this change? Answer in one short sentence.",
}


def signal_part(key: str, description: str) -> str:
    """Ask for the change, ten-year outlook or driving force of a signal."""
    return f"Trend: {description}\n\n{SIGNAL_PARTS[key]}"


def fallback(key: str, row: dict[str, Any]) -> str:
    """A plain wording of a signal column when the model's answer was not grounded."""
    topic = str(row["name"]).rstrip(".")
    lowered = topic[:1].lower() + topic[1:]
    if key == "change":
        return f"Transition towards {lowered}."
    if key == "ten_year":
        return f"In ten years, {lowered} may be commonplace."
    return str(row["description"])
