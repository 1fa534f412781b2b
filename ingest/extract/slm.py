"""`SLMExtractor`: a complete, grounded record from a small language model.

The smallest models cannot write a whole record in one answer, so the work is split into
small concrete questions (see /work/shared/PARTS.md):

1. the summary is asked for as free prose and cleaned up afterwards;
2. keywords, themes, category and type are short schema-constrained answers, and
   keywords are checked against the text;
3. for the tables, candidate evidence is mined from the text first (named terms for
   technologies, sentences that read like a change, a risk, an action or a debate for the
   other four), and the model names and describes one item per evidence sentence;
4. every row keeps its evidence sentence verbatim; relevancy follows from how central the
   row's evidence is to the article (the RECORD-FORMAT.md rubric: 5 = central).

A section that cannot be filled leaves the record `incomplete`, never invalid.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from ingest.document import Document
from ingest.extract import prompts
from ingest.extract.base import ChatModel, Message
from ingest.extract.text import (
    Sentence,
    content_words,
    first_sentence,
    grounded,
    named_terms,
    noun_phrases,
    sentences,
    short_name,
    split_label,
    truncate_words,
)
from kb.embed import Embedder, MiniLMEmbedder
from kb.errors import ExtractionError
from kb.records import ITEM_TYPES, KINDS, Article, Item, Kind, article_id_for

CATEGORIES = ("technology", "business", "science", "policy", "society", "research", "culture")
TYPES = ("blog post", "news", "research paper", "opinion", "documentation", "report", "tutorial")
# Broad subject areas for the themes section, ranked by closeness to the summary.
THEMES = (
    "artificial intelligence",
    "machine learning",
    "language models",
    "natural language processing",
    "generative ai",
    "computer vision",
    "robotics",
    "ai safety",
    "ai ethics",
    "ai regulation",
    "public policy",
    "law and compliance",
    "privacy",
    "cybersecurity",
    "misinformation",
    "media and journalism",
    "business applications",
    "enterprise software",
    "economics",
    "labor and employment",
    "education",
    "healthcare",
    "science and research",
    "open source",
    "software development",
    "hardware and chips",
    "cloud computing",
    "edge computing",
    "sustainability",
    "energy",
    "transportation",
    "infrastructure",
    "finance",
    "society",
    "culture and creativity",
    "geopolitics",
    "startups and investment",
    "data and datasets",
    "benchmarks and evaluation",
    "model training",
    "human-computer interaction",
)


@dataclass
class Budget:
    """The per-article time limit: checked before each model call."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        """Monotonic time at which the article's extraction must stop."""
        return self.start + self.seconds

    def expired(self) -> bool:
        """Whether the time limit has passed."""
        return time.monotonic() > self.deadline


class TimeUp(Exception):
    """Internal: the per-article time limit passed; the record is finished as it is."""


class SLMExtractor:
    """Turns a Document into an Article by asking a ChatModel small questions."""

    def __init__(
        self,
        model: ChatModel,
        *,
        timeout: float = 300.0,
        rows_per_table: int = 4,
        max_prompt_words: int = 1500,
        embedder: Embedder | None = None,
    ) -> None:
        self.model = model
        self.embedder: Embedder = embedder or MiniLMEmbedder()
        self._text = ""
        self.timeout = timeout
        self.rows_per_table = rows_per_table
        self.max_prompt_words = max_prompt_words
        self._budget = Budget(timeout)

    # -- model calls ---------------------------------------------------------------------

    def _ask(self, prompt: str, *, max_tokens: int, system: str = prompts.SYSTEM) -> str:
        if self._budget.expired():
            raise TimeUp
        self._arm_deadline()
        messages = [Message("system", system), Message("user", prompt)]
        return self.model.complete(messages, max_tokens=max_tokens).strip()

    def _ask_json(self, prompt: str, schema: dict[str, Any], *, max_tokens: int) -> dict[str, Any]:
        if self._budget.expired():
            raise TimeUp
        self._arm_deadline()
        messages = [Message("system", prompts.SYSTEM), Message("user", prompt)]
        raw = self.model.complete(messages, json_schema=schema, max_tokens=max_tokens)
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = _salvage_json(raw)
        return value if isinstance(value, dict) else {}

    def _arm_deadline(self) -> None:
        # Backends that can stop mid-generation (llama.cpp) read this attribute.
        if hasattr(self.model, "deadline"):
            self.model.deadline = self._budget.deadline

    # -- the record ----------------------------------------------------------------------

    def extract(self, document: Document) -> Article:
        """The record of one article; every section filled, or `incomplete` set."""
        text = document.text or ""
        if not text.strip():
            raise ExtractionError("the article has no text to extract from", source=document.url)
        self._budget = Budget(self.timeout)
        self._text = text
        title = document.title.strip() or _first_line(text) or document.url
        record: dict[str, Any] = {
            "id": article_id_for(document.url),
            "url": document.url,
            "title": title[:500],
            "extractor": self.model.model_id,
        }
        sents = sentences(text)
        body = truncate_words(text, self.max_prompt_words)
        try:
            record["summary"] = self._summary(title, body)
            record["keywords"] = self._keywords(title, record["summary"], text)
            record["themes"] = self._themes(title, record["summary"])
            record["category"], record["type"] = self._category_type(title, record["summary"])
            record["technologies"] = self._technologies(text, sents)
            for kind in ("signals", "concerns", "behaviors", "issues"):
                record[kind] = self._rows(kind, sents, title)
        except TimeUp:
            pass
        finally:
            if hasattr(self.model, "deadline"):
                self.model.deadline = None
        return _assemble(record)

    def _summary(self, title: str, body: str) -> str:
        answer = self._ask(prompts.summary(title, body), max_tokens=220)
        return clean_summary(answer)

    def _keywords(self, title: str, summary: str, text: str) -> list[str]:
        candidates = [p for p, _ in noun_phrases(text)[:60]]
        candidates += [t.lower() for t, _ in named_terms(text)[:20]]
        ranked = self._rank(f"{title}. {summary}", _unique(candidates))
        keywords: list[str] = []
        for phrase in ranked:
            if not any(phrase in k or k in phrase for k in keywords):
                keywords.append(phrase)
            if len(keywords) >= 6:
                break
        return keywords

    def _themes(self, title: str, summary: str) -> list[str]:
        return self._rank(f"{title}. {summary}", list(THEMES))[:4]

    def _rank(self, query: str, candidates: list[str]) -> list[str]:
        """Candidates ordered by MiniLM cosine to `query`, most similar first."""
        if not candidates:
            return []
        vectors = self.embedder.embed([query, *candidates])
        q = vectors[0]
        scores = [sum(a * b for a, b in zip(q, v, strict=True)) for v in vectors[1:]]
        order = sorted(range(len(candidates)), key=lambda i: -scores[i])
        return [candidates[i] for i in order]

    def _category_type(self, title: str, summary: str) -> tuple[str, str]:
        schema = prompts.category_schema(CATEGORIES, TYPES)
        answer = self._ask_json(prompts.category(title, summary), schema, max_tokens=40)
        return str(answer.get("category", "")), str(answer.get("type", ""))

    def _technologies(self, text: str, sents: list[Sentence]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for term, count in named_terms(text)[: self.rows_per_table * 3]:
            if len(rows) >= self.rows_per_table:
                break
            evidence = next((s for s in sents if term in s.text), None)
            if evidence is None:
                continue
            answer = self._ask_json(
                prompts.technology_kind(term, evidence.text), prompts.TECH_SCHEMA, max_tokens=12
            )
            if str(answer.get("kind", "")) not in prompts.TECH_KINDS:
                continue
            described = self._line(prompts.technology(term, evidence.text), max_tokens=60)
            _, body = split_label(evidence.text)
            rows.append(
                {
                    "name": term,
                    "description": described if grounded(described, text) else body,
                    "relevancy": _relevancy(count, evidence, len(sents)),
                    "evidence": evidence.text,
                }
            )
        return rows

    def _rows(self, kind: Kind, sents: list[Sentence], title: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        central = content_words(title)
        for sent in pick_sentences(kind, sents, self.rows_per_table):
            row = self._row(kind, sent)
            overlap = len(central & content_words(sent.text))
            row["relevancy"] = _relevancy(1 + overlap, sent, len(sents))
            if not _same_row(row, rows):
                rows.append(row)
        return rows

    def _row(self, kind: Kind, sent: Sentence) -> dict[str, Any]:
        """One table row from one evidence sentence: model prose, kept only when grounded."""
        label, body = split_label(sent.text)
        described = self._line(prompts.item(kind, sent.text), max_tokens=60)
        description = described if grounded(described, self._text) else body
        named = self._line(prompts.name(description), max_tokens=16)
        name = named if grounded(named, self._text) and len(named.split()) <= 8 else ""
        row: dict[str, Any] = {
            "name": label or name or short_name(body),
            "description": description,
            "evidence": sent.text,
        }
        if kind == "signals":
            for key in ("change", "ten_year", "driving_force"):
                answer = self._line(prompts.signal_part(key, description), max_tokens=50)
                row[key] = answer if grounded(answer, self._text) else prompts.fallback(key, row)
        return row

    def _line(self, prompt: str, *, max_tokens: int) -> str:
        """A one-sentence free-text answer, with chatter like "This sentence ..." cut."""
        answer = self._ask(prompt, max_tokens=max_tokens)
        return first_sentence(answer)


CUES: dict[str, tuple[str, ...]] = {
    "signals": (
        "emerg",
        "grow",
        "trend",
        "shift",
        "rise",
        "rising",
        "increas",
        "new",
        "future",
        "transform",
        "adopt",
        "becom",
        "more ",
        "first",
        "rapid",
        "alternative",
        "change",
    ),
    "concerns": (
        "risk",
        "concern",
        "bias",
        "halluc",
        "expensive",
        "cost",
        "danger",
        "harm",
        "fake",
        "hoax",
        "misinform",
        "threat",
        "challenge",
        "problem",
        "fail",
        "unsafe",
        "safety",
        "copyright",
        "privacy",
        "lack",
        "not comply",
        "do not",
        "rarely",
        "delay",
    ),
    "behaviors": (
        "use",
        "using",
        "adopt",
        "deploy",
        "build",
        "train",
        "fine-tun",
        "tun",
        "creat",
        "shar",
        "invest",
        "evaluat",
        "release",
        "compan",
        "business",
        "people",
        "team",
        "urged",
        "halted",
        "stopped",
        "reported",
    ),
    "issues": (
        "regulat",
        "law",
        "act",
        "policy",
        "policymaker",
        "transparen",
        "ethic",
        "debate",
        "accountab",
        "comply",
        "compliance",
        "access",
        "govern",
        "sustainab",
        "impact",
        "public",
        "trust",
        "open",
        "disclos",
    ),
}


def pick_sentences(kind: str, sents: list[Sentence], n: int) -> list[Sentence]:
    """The `n` sentences that read most like evidence for a table, in article order."""
    cues = CUES.get(kind, ())
    scored = []
    for s in sents:
        low = s.text.lower()
        hits = sum(1 for c in cues if c in low)
        if hits:
            scored.append((hits - s.index / (10 * max(len(sents), 1)), s))
    scored.sort(key=lambda x: -x[0])
    picked = [s for _, s in scored[:n]]
    if not picked:
        picked = sents[:n]
    return sorted(picked, key=lambda s: s.index)


def _relevancy(weight: int, sent: Sentence, n_sents: int) -> int:
    # Rubric: 5 = central and important. Mentioned often or early → central.
    early = sent.index < max(3, n_sents // 4)
    if weight >= 3 or (weight >= 2 and early):
        return 5
    if weight >= 2 or early:
        return 4
    return 3


def _unique(values: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def _same_row(row: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    name = content_words(str(row["name"]))
    return any(
        name and content_words(str(r["name"])) == name or r["evidence"] == row["evidence"]
        for r in rows
    )


def _sentence(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    return " ".join(value.split()).strip(" \"'")[:1000]


def clean_summary(answer: str, *, max_words: int = 150) -> str:
    """One paragraph of plain prose, cut to `max_words` at a sentence end."""
    text = re.sub(r"^\s*(?:summary|here is[^:]*):\s*", "", answer, flags=re.I)
    text = re.sub(r"[*#`]+", "", text)
    text = " ".join(text.split())
    text = truncate_words(text, max_words)
    if text and text[-1] not in ".!?":
        cut = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
        text = text[: cut + 1] if cut > 0 else text + "."
    return text


def _first_line(text: str) -> str:
    for line in text.splitlines():
        line = line.strip(" #*")
        if line:
            return line[:200]
    return ""


def _salvage_json(raw: str) -> Any:
    start, end = raw.find("{"), raw.rfind("}")
    if 0 <= start < end:
        try:
            return json.loads(raw[start : end + 1])
        except json.JSONDecodeError:
            return {}
    return {}


def _assemble(record: dict[str, Any]) -> Article:
    """A valid Article from what was gathered; rows that fail the schema are dropped."""
    clean: dict[str, Any] = {k: v for k, v in record.items() if k not in KINDS}
    for kind in KINDS:
        items: list[Item] = []
        for row in record.get(kind, []):
            try:
                items.append(ITEM_TYPES[kind].model_validate(row))
            except ValueError:
                continue
        clean[kind] = items
    try:
        article = Article.model_validate(clean)
    except ValueError as exc:
        raise ExtractionError(f"cannot assemble a record: {exc}", source=record["url"]) from exc
    if article.missing_sections():
        article = article.model_copy(update={"incomplete": True})
    return article


__all__ = ["SLMExtractor", "clean_summary", "pick_sentences"]
