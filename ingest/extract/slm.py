"""`SLMExtractor`: a complete, grounded record from a small language model.

The smallest models cannot write a whole record in one answer (see PARTS.md), so the work
is split into small concrete questions around candidates mined from the text:

1. the text is split into chunks that fit the model; each chunk is summarised as free
   prose, and the chunk summaries are merged into one paragraph;
2. keywords are mined noun phrases and names, themes come from a list of broad subject
   areas; both are ranked by MiniLM closeness to the title and summary;
3. evidence sentences are chosen first (cue words plus MiniLM closeness to what each table
   holds, per chunk, then merged and de-duplicated across chunks), the four item tables
   taking turns so that one sentence serves at most two of them; the model names each
   item, and describes it only where its words stay within the article;
4. technologies are mined names and tech phrases that the model confirms are a
   technology, product, model or method;
5. every row's evidence is checked verbatim against the text (repaired or dropped), and
   relevancy follows the RECORD-FORMAT.md rubric from the row's closeness to the article's
   main subject (5 = central).

A section that cannot be filled, or a time limit reached, leaves the record `incomplete`
with what there is; the record handed back always validates.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any, cast

from ingest.document import Document
from ingest.extract import prompts
from ingest.extract.base import ChatModel, Message
from ingest.extract.schema import coerce_field, errors
from ingest.extract.text import (
    Sentence,
    best_sentence,
    content_words,
    first_sentence,
    grounded,
    is_name_list,
    is_speaker,
    is_verbatim,
    key_phrase,
    locate,
    looks_named,
    named_terms,
    noun_phrases,
    plain,
    sentences,
    split_chunks,
    split_label,
    tech_phrases,
    title_case,
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
# The tables whose rows are built from evidence sentences (technologies come from names).
ROW_TABLES: tuple[Kind, ...] = ("signals", "concerns", "behaviors", "issues")
# What each table holds, in words MiniLM can compare evidence sentences with.
PROTOTYPES: dict[str, str] = {
    "signals": "an emerging trend: something new is growing, rising, shifting or spreading",
    "concerns": "a risk, danger, harm, cost or problem that people worry about",
    "behaviors": "companies, people or organisations are using, adopting, building or doing it",
    "issues": "a topic of public debate: regulation, ethics, policy, transparency, access",
    "technologies": "a technology, product, AI model, tool, dataset or method",
}
CUES: dict[str, tuple[str, ...]] = {
    "signals": (
        "emerg", "grow", "trend", "shift", "rise", "rising", "increas", "new ", "future",
        "transform", "becom", "rapid", "alternative", "first", "more ",
    ),
    "concerns": (
        "risk", "concern", "bias", "halluc", "expensive", "cost", "danger", "harm", "fake",
        "hoax", "misinform", "threat", "challenge", "problem", "fail", "unsafe", "safety",
        "copyright", "privacy", "lack", "rarely", "delay", "disrupt", "worr",
    ),
    "behaviors": (
        "use ", "using", "adopt", "deploy", "build", "train", "fine-tun", "tuned", "creat",
        "shar", "invest", "evaluat", "release", "compan", "business", "people", "team",
        "urged", "halted", "stopped",
    ),
    "issues": (
        "regulat", "law", "act ", "policy", "policymaker", "transparen", "ethic", "debate",
        "accountab", "comply", "compliance", "access", "govern", "sustainab", "impact",
        "public", "trust", "open", "disclos",
    ),
}  # fmt: skip


@dataclass
class Budget:
    """The per-article time limit: checked before each model call."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        """Monotonic time at which the article's extraction must stop."""
        return self.start + self.seconds

    def left(self) -> float:
        """Seconds left."""
        return self.deadline - time.monotonic()


class TimeUp(Exception):
    """Internal: the per-article time limit passed; the record is finished as it is."""


@dataclass
class Context:
    """What one extraction works from: the text, its sentences and their vectors."""

    title: str
    text: str
    chunks: list[str]
    sents: list[Sentence]
    chunk_of: list[int]
    vectors: list[list[float]]
    summary: str = ""
    focus: list[float] = field(default_factory=list)
    evidence: dict[str, list[Sentence]] = field(default_factory=dict)


class SLMExtractor:
    """Turns a Document into an Article by asking a ChatModel small questions."""

    def __init__(
        self,
        model: ChatModel,
        *,
        timeout: float = 300.0,
        embedder: Embedder | None = None,
        rows_per_table: int = 4,
        tech_rows: int = 6,
        chunk_words: int = 900,
        max_chunks: int = 6,
        max_sentences: int = 400,
        describe_rows: bool = False,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.embedder: Embedder = embedder or cast(Embedder, MiniLMEmbedder())
        self.rows_per_table = rows_per_table
        self.tech_rows = tech_rows
        self.chunk_words = chunk_words
        self.max_chunks = max_chunks
        self.max_sentences = max_sentences
        self.describe_rows = describe_rows
        self._budget = Budget(timeout)

    # -- model calls ---------------------------------------------------------------------

    def _complete(self, messages: list[Message], **kwargs: Any) -> str:
        if self._budget.left() <= 0:
            raise TimeUp
        if hasattr(self.model, "deadline"):
            # Backends that stream (llama.cpp) stop a generation part-way at the deadline.
            self.model.deadline = self._budget.deadline
        return self.model.complete(messages, **kwargs)

    def _ask(self, prompt: str, *, max_tokens: int, prefill: str = "") -> str:
        """A free-text answer. A base model (no chat template) is handed `prefill` as the
        start of its answer to continue; a chat model is asked for it in the prompt."""
        messages = [Message("system", prompts.SYSTEM), Message("user", prompt)]
        if prefill and not getattr(self.model, "chat", True):
            messages.append(Message("assistant", prefill))
            return f"{prefill} {self._complete(messages, max_tokens=max_tokens).strip()}"
        return self._complete(messages, max_tokens=max_tokens).strip()

    def _line(self, prompt: str, *, max_tokens: int) -> str:
        """A one-sentence free-text answer, with chatter like "This sentence ..." cut."""
        return first_sentence(self._ask(prompt, max_tokens=max_tokens))

    def ask_json(self, prompt: str, schema: dict[str, Any], *, max_tokens: int) -> dict[str, Any]:
        """A JSON answer checked against `schema`: asked, retried once with the errors, then
        repaired field by field with plain questions. Returns the valid fields found."""
        messages = [Message("system", prompts.SYSTEM), Message("user", prompt)]
        raw = self._complete(messages, json_schema=schema, max_tokens=max_tokens)
        value, problems = _parse(raw, schema)
        if problems:
            retry = [
                *messages,
                Message("assistant", raw),
                Message("user", prompts.retry(problems, schema)),
            ]
            raw = self._complete(retry, json_schema=schema, max_tokens=max_tokens)
            value, problems = _parse(raw, schema)
        if problems:
            value = {k: v for k, v in value.items() if not errors({k: v}, _only(schema, k))}
            for key, sub in schema.get("properties", {}).items():
                if key not in value:
                    answer = self._ask(prompts.field(prompt, key, sub), max_tokens=40)
                    fixed = coerce_field(answer, sub)
                    if fixed is not None:
                        value[key] = fixed
        return value

    # -- the record ----------------------------------------------------------------------

    def extract(self, document: Document) -> Article:
        """The record of one article; every section filled, or `incomplete` set."""
        text = document.text or ""
        if not text.strip():
            raise ExtractionError("the article has no text to extract from", source=document.url)
        self._budget = Budget(self.timeout)
        title = document.title.strip() or _first_line(text) or document.url
        record: dict[str, Any] = {
            "id": article_id_for(document.url),
            "url": document.url,
            "title": title[:500],
            "extractor": self.model.model_id,
        }
        timed_out = False
        try:
            chunks = split_chunks(text, self.chunk_words)[: self.max_chunks]
            record["summary"] = self._summary(title, chunks)
            ctx = self._context(title, text, chunks)
            ctx.summary = record["summary"]
            ctx.focus = self._embed([f"{title}. {ctx.summary}"])[0]
            record["keywords"] = self._keywords(ctx)
            record["themes"] = self._rank(ctx.focus, list(THEMES))[:4]
            record["category"], record["type"] = self._category_type(ctx)
            record["technologies"] = self._technologies(ctx)
            ctx.evidence = self._allocate(ctx)
            for kind in ROW_TABLES:
                record[kind] = self._rows(kind, ctx)
        except TimeUp:
            timed_out = True
        finally:
            if hasattr(self.model, "deadline"):
                self.model.deadline = None
        return _assemble(record, text, incomplete=timed_out)

    def _context(self, title: str, text: str, chunks: list[str]) -> Context:
        sents: list[Sentence] = []
        chunk_of: list[int] = []
        for i, chunk in enumerate(chunks):
            for s in sentences(chunk):
                sents.append(Sentence(s.text, len(sents)))
                chunk_of.append(i)
        if len(sents) > self.max_sentences:
            sents, chunk_of = sents[: self.max_sentences], chunk_of[: self.max_sentences]
        vectors = self._embed([s.text for s in sents])
        return Context(title, text, chunks, sents, chunk_of, vectors)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts) if texts else []

    def _rank(self, query: list[float], candidates: list[str]) -> list[str]:
        """Candidates ordered by cosine to `query`, most similar first."""
        vectors = self._embed(candidates)
        order = sorted(range(len(candidates)), key=lambda i: -_dot(query, vectors[i]))
        return [candidates[i] for i in order]

    def _summary(self, title: str, chunks: list[str]) -> str:
        parts: list[str] = []
        try:
            for chunk in chunks:
                if parts and self._budget.left() < self.timeout / 2:
                    break  # keep time for the tables; later chunks still feed them
                body = truncate_words(chunk, self.chunk_words)
                answer = self._ask(
                    prompts.summary(title, body), max_tokens=200, prefill=prompts.SUMMARY_START
                )
                parts.append(clean_summary(answer))
        except TimeUp:
            if not parts:
                raise
        parts = [p for p in parts if p]
        if len(parts) <= 1:
            return parts[0] if parts else ""
        try:
            merged = self._ask(
                prompts.merge_summaries(title, parts), max_tokens=200, prefill=prompts.SUMMARY_START
            )
        except TimeUp:
            return parts[0]  # the next question stops the extraction
        return clean_summary(merged) or parts[0]

    def _keywords(self, ctx: Context) -> list[str]:
        counts = dict(noun_phrases(ctx.text))
        phrases = list(counts)[:60]
        names = [t for t, _ in named_terms(ctx.text)[:20]]
        candidates = _unique([*phrases, *(n.lower() for n in names)])
        if not candidates:
            return []
        vectors = self._embed(candidates)
        scores = {
            c: _dot(ctx.focus, v) + 0.05 * math.log1p(counts.get(c, 1))
            for c, v in zip(candidates, vectors, strict=True)
        }
        keywords: list[str] = []
        for phrase in sorted(candidates, key=lambda c: -scores[c]):
            if not any(phrase in k or k in phrase for k in keywords):
                keywords.append(phrase)
            if len(keywords) >= 6:
                break
        return keywords

    def _category_type(self, ctx: Context) -> tuple[str, str]:
        schema = prompts.category_schema(CATEGORIES, TYPES)
        answer = self.ask_json(prompts.category(ctx.title, ctx.summary), schema, max_tokens=30)
        return str(answer.get("category", "")), str(answer.get("type", ""))

    def _technologies(self, ctx: Context) -> list[dict[str, Any]]:
        counts: dict[str, int] = {}
        for term, n in named_terms(ctx.text):
            counts[term] = counts.get(term, 0) + n
        for term, n in tech_phrases(ctx.text):
            counts.setdefault(term, n)
        candidates = [t for t in _merge_acronyms(counts) if t.lower() not in GENERIC_TERMS]
        candidates = candidates[:40]
        # Rank by looking like a technology (MiniLM closeness to what the table holds, a
        # model-like name) and by mentions, so people and places come last.
        proto = self._embed([PROTOTYPES["technologies"]])[0]
        vectors = self._embed(candidates)
        score = {
            term: _dot(proto, vec)
            + 0.15 * math.log1p(counts.get(term.split(" (")[0], 1))
            + (0.2 if looks_named(term) else 0.0)
            for term, vec in zip(candidates, vectors, strict=True)
        }
        candidates = _distinct(sorted(candidates, key=lambda t: -score[t]))
        rows: list[dict[str, Any]] = []
        for term in candidates[: self.tech_rows * 2]:
            if len(rows) >= self.tech_rows:
                break
            evidence = next((s for s in ctx.sents if term.lower() in s.text.lower()), None)
            if evidence is None or is_speaker(term.split(" (")[0], ctx.text):
                continue
            if is_name_list(evidence.text) and not looks_named(term):
                continue  # a byline's names are people
            answer = self.ask_json(
                prompts.technology_kind(term, evidence.text), prompts.TECH_SCHEMA, max_tokens=12
            )
            if answer.get("kind") not in prompts.TECH_KINDS:
                continue
            _, body = split_label(plain(evidence.text))
            description = body
            if self.describe_rows:
                said = self._line(prompts.technology(term, evidence.text), max_tokens=60)
                description = said if grounded(said, ctx.text) else body
            row: dict[str, Any] = {
                "name": term,
                "description": description,
                "evidence": evidence.text,
            }
            row["relevancy"] = self._relevancy(ctx, row, counts.get(term, 1))
            rows.append(row)
        return rows

    def _rows(self, kind: Kind, ctx: Context) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for sent in ctx.evidence.get(kind, []):
            row = self._row(kind, sent, ctx)
            row["relevancy"] = self._relevancy(ctx, row, 1)
            if not _same_row(row, rows):
                rows.append(row)
        return rows

    def _fit(self, kind: str, ctx: Context) -> list[float]:
        """How well each sentence fits a table: cue words, closeness to what the table holds
        and closeness to the article's subject."""
        proto = self._embed([PROTOTYPES[kind]])[0]
        fit: list[float] = []
        for i, s in enumerate(ctx.sents):
            low = s.text.lower()
            cues = sum(1 for c in CUES.get(kind, ()) if c in low)
            fit.append(
                0.15 * min(cues, 3)
                + _dot(proto, ctx.vectors[i])
                + 0.5 * _dot(ctx.focus, ctx.vectors[i])
                - _weak_evidence(s.text)
            )
        return fit

    def _allocate(self, ctx: Context) -> dict[str, list[Sentence]]:
        """Evidence sentences for the four item tables, chosen together.

        The tables take turns, each taking its best-fitting sentence still free, so one
        sentence serves at most two tables; within a table, near-duplicates (cosine >= 0.8) are
        skipped, and each chunk offers at most `rows_per_table` sentences, so a long
        article's later parts are heard too.
        """
        if not ctx.sents:
            return {}
        kinds = ROW_TABLES
        fits = {kind: self._fit(kind, ctx) for kind in kinds}
        pools: dict[str, list[int]] = {}
        for kind in kinds:
            per_chunk: dict[int, list[int]] = {}
            for i in sorted(range(len(ctx.sents)), key=lambda i: -fits[kind][i]):
                per_chunk.setdefault(ctx.chunk_of[i], []).append(i)
            pool = [i for chunk in per_chunk.values() for i in chunk[: self.rows_per_table]]
            pools[kind] = sorted(pool, key=lambda i: -fits[kind][i])
        uses: dict[int, int] = {}
        picked: dict[str, list[int]] = {kind: [] for kind in kinds}
        for _ in range(self.rows_per_table):
            for kind in kinds:
                chosen = next(
                    (
                        i
                        for i in pools[kind]
                        if uses.get(i, 0) < MAX_TABLES_PER_SENTENCE
                        and all(_dot(ctx.vectors[i], ctx.vectors[j]) < 0.8 for j in picked[kind])
                    ),
                    None,
                )
                if chosen is not None:
                    picked[kind].append(chosen)
                    uses[chosen] = uses.get(chosen, 0) + 1
        return {kind: [ctx.sents[i] for i in sorted(picked[kind])] for kind in kinds}

    def _row(self, kind: Kind, sent: Sentence, ctx: Context) -> dict[str, Any]:
        """One table row from one evidence sentence."""
        label, body = split_label(plain(sent.text))
        description = body
        if self.describe_rows:
            said = self._line(prompts.item(kind, sent.text), max_tokens=60)
            description = said if grounded(said, ctx.text) else body
        name = label
        if not name:
            titled = first_sentence(self._ask(prompts.name(kind, body), max_tokens=16))
            name = titled.rstrip(".") if _good_name(titled, body, ctx.text) else key_phrase(body)
        row: dict[str, Any] = {
            "name": title_case(name),
            "description": description,
            "evidence": sent.text,
        }
        if kind == "signals":
            for key in ("change", "driving_force"):
                said = self._line(prompts.signal_part(key, body), max_tokens=40)
                row[key] = said if grounded(said, ctx.text) else prompts.fallback(key, row)
            row["ten_year"] = prompts.fallback("ten_year", row)
        return row

    def _relevancy(self, ctx: Context, row: dict[str, Any], mentions: int) -> int:
        # Rubric: 5 = central to the article and important; closeness to the title and
        # summary stands for "central", repeated mention adds weight.
        vec = self._embed([f"{row['name']}. {row['description']}"])[0]
        closeness = _dot(ctx.focus, vec) + 0.05 * min(mentions, 4)
        if closeness >= 0.6:
            return 5
        if closeness >= 0.3:
            return 4
        return 3


# A sentence central to the article often shows, say, both a trend and a behaviour; in
# more tables than two it stops telling the tables apart.
MAX_TABLES_PER_SENTENCE = 2
GENERIC_TERMS = frozenset({"ai", "it", "us", "eu", "uk", "gmt", "bbc", "ceo"})


def _merge_acronyms(counts: dict[str, int]) -> list[str]:
    """Terms by count, with "Small Language Models" and "SLMs" joined as one row."""
    terms = sorted(counts, key=lambda t: -counts[t])
    merged: list[str] = []
    dropped: set[str] = set()
    for term in terms:
        if term in dropped:
            continue
        initials = "".join(w[0] for w in term.split() if w[:1].isupper())
        if len(initials) >= 2:
            for other in terms:
                if other.rstrip("s") == initials and other != term:
                    counts[term] += counts[other]
                    dropped.add(other)
                    term = f"{term} ({other})"
                    break
        merged.append(term)
    return sorted(merged, key=lambda t: -counts.get(t.split(" (")[0], counts.get(t, 0)))


def _distinct(terms: list[str]) -> list[str]:
    """Terms minus those that contain, or are contained in, a better-ranked one."""
    kept: list[str] = []
    keys: list[str] = []
    for term in terms:
        words = [w.rstrip("s") for w in re.findall(r"[a-z0-9]+", term.lower())]
        key = " ".join(words)
        # "Open-Orca" and "OpenOrca" are one name.
        joined = "".join(words)
        if key and not any(key in k or k in key or joined == k.replace(" ", "") for k in keys):
            kept.append(term)
            keys.append(key)
    return kept


_CALL_TO_ACTION = re.compile(
    r"^(?:if you(?:'d| would)? like|want to|check out|click|subscribe|sign up|follow us|"
    r"join us|read more|learn more|share this|download|don't miss)\b",
    re.I,
)


def _weak_evidence(sentence: str) -> float:
    """How much worse a sentence is as a row's evidence than its closeness says: a call to
    action, a question or a lead-in to a link or list says little on its own."""
    said = plain(sentence).strip()
    if _CALL_TO_ACTION.match(said):
        return 0.5
    if said.endswith((":", "?")) or len(said.split()) < 6:
        return 0.3
    return 0.0


def _good_name(name: str, body: str, text: str) -> bool:
    """A model-written title is kept when it is short, not chatter ("The topic is ..."),
    and at least half of its words come from its own sentence."""
    words = name.rstrip(".").split()
    if not 2 <= len(words) <= 8 or name.lower().startswith(_CHATTY_NAMES):
        return False
    own = content_words(name)
    shared = own & content_words(body)
    return len(shared) * 2 >= len(own) > 0 and grounded(name, text, min_overlap=0.3)


_CHATTY_NAMES = ("the trend", "the risk", "the topic", "the title", "title", "this", "the ai")


def _dot(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _same_row(row: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    name = content_words(str(row["name"]))
    return any(
        (name and content_words(str(r["name"])) == name) or r["evidence"] == row["evidence"]
        for r in rows
    )


def _only(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: schema["properties"].get(key, {})}}


def _parse(raw: str, schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        start, end = raw.find("{"), raw.rfind("}")
        try:
            value = json.loads(raw[start : end + 1]) if 0 <= start < end else None
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        return {}, ["the answer is not a JSON object"]
    return value, errors(value, schema)


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


def _first_line(text: str) -> str:
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


def _assemble(record: dict[str, Any], text: str, *, incomplete: bool) -> Article:
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


__all__ = ["SLMExtractor", "check_evidence", "clean_summary"]
