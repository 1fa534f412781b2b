"""The questions SLMExtractor asks, and the small JSON schemas that constrain the answers.

Each question is short and concrete and shows the model only the text it needs: the
smallest models answer those well and lose their way in long, many-part requests.
"""

from __future__ import annotations

from typing import Any

SYSTEM = "You are a careful analyst who tracks trends in artificial intelligence."

TERMS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "terms": {
            "type": "array",
            "items": {"type": "string", "minLength": 2, "maxLength": 40},
            "minItems": 3,
            "maxItems": 6,
        }
    },
    "required": ["terms"],
}

TECH_KINDS = ("technology", "product", "model", "method")
OTHER_KINDS = ("person", "organization", "place", "other")
TECH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"kind": {"type": "string", "enum": [*TECH_KINDS, *OTHER_KINDS]}},
    "required": ["kind"],
}

QUESTIONS: dict[str, str] = {
    "signals": "What emerging trend does this sentence show?",
    "concerns": "What risk or worry does this sentence raise?",
    "behaviors": "What are people or organisations doing here?",
    "issues": "What topic of public debate does this sentence feed?",
}


def summary(title: str, body: str) -> str:
    """Ask for a one-paragraph third-person summary, as free prose."""
    return (
        f"Title: {title}\n\nArticle:\n{body}\n\n"
        "Write a one-paragraph summary of this article (about 100 words), in the third "
        "person, starting with 'The article discusses'."
    )


def keywords(title: str, summary_text: str) -> str:
    """Ask for the article's keywords."""
    return (
        f"Title: {title}\nSummary: {summary_text}\n\n"
        "List 5 keywords of this article: short lower-case noun phrases that appear in it."
    )


def themes(title: str, summary_text: str) -> str:
    """Ask for broad subject areas."""
    return (
        f"Title: {title}\nSummary: {summary_text}\n\n"
        "List 4 broad subject areas of this article, in lower case "
        "(for example: artificial intelligence, business applications, regulation)."
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


def technology(term: str, sentence: str) -> str:
    """Ask for a technology's description, as the sentence gives it."""
    return (
        f"Sentence: {sentence}\n\n"
        f"What is {term}, according to this sentence? Answer in one sentence."
    )


def item(kind: str, sentence: str) -> str:
    """Ask for one table row's description from its evidence sentence, as free prose."""
    return f"Sentence: {sentence}\n\n{QUESTIONS[kind]} Answer in one sentence."


def name(description: str) -> str:
    """Ask for a short name for a row."""
    return (
        f"Sentence: {description}\n\n"
        "Give this a short title of 3 to 6 words. Answer with the title only."
    )


SIGNAL_PARTS: dict[str, str] = {
    "change": "Describe the change in one sentence starting with 'Transition from'.",
    "ten_year": "What might this lead to in ten years? Answer in one sentence.",
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
