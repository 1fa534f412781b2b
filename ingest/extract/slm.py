"""`SLMExtractor`: a complete, grounded record from a small language model.

The smallest models cannot write a whole record in one answer (docs/quality.md), so the
work is split into small concrete questions around candidates mined from the text:

1. the text is split into chunks that fit the model; each chunk is summarised as free
   prose, and the chunk summaries are merged into one paragraph;
2. keywords are mined noun phrases and names, themes come from a list of broad subject
   areas; both are ranked by MiniLM closeness to the title and summary;
3. evidence sentences are chosen first (cue words plus MiniLM closeness to what each table
   holds, per chunk, then merged and de-duplicated across chunks), the four item tables
   taking turns so that one sentence serves at most two of them; the model names each
   item, and its description is the sentence itself;
4. technologies are mined names and tech phrases that the model confirms are a
   technology, product, model or method;
5. every row's evidence is checked verbatim against the text (repaired or dropped), and
   relevancy follows the rubric of docs/record-format.md from the row's closeness to the
   article's main subject (5 = central).

A section that cannot be filled, or a time limit reached, leaves the record `incomplete`
with what there is; the record handed back always validates.

This module runs those steps; the parts live beside it: `vocabulary` (the fixed word
lists), `asking` (the model, the time budget, JSON repair), `candidates` (what to ask
about, pure) and `assembly` (the checked, valid record, pure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from ingest.document import Document
from ingest.extract import prompts
from ingest.extract.asking import Asker, Budget, TimeUp
from ingest.extract.assembly import assemble, clean_summary, first_line
from ingest.extract.base import ChatModel
from ingest.extract.candidates import (
    allocate,
    dot,
    good_name,
    keyword_candidates,
    mined_technologies,
    pick_keywords,
    relevancy,
    same_row,
    sentence_fit,
    technology_evidence,
)
from ingest.extract.steps import step
from ingest.extract.text import (
    Sentence,
    cell_text,
    first_sentence,
    grounded,
    key_phrase,
    sentences,
    split_chunks,
    split_label,
    title_case,
    truncate_words,
)
from ingest.extract.vocabulary import CATEGORIES, PROTOTYPES, ROW_TABLES, THEMES, TYPES
from kb.embed import Embedder, MiniLMEmbedder
from kb.errors import ExtractionError
from kb.records import Article, Kind, article_id_for


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
    evidence: dict[Kind, list[Sentence]] = field(default_factory=dict)


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
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.embedder: Embedder = embedder or cast(Embedder, MiniLMEmbedder())
        self.rows_per_table = rows_per_table
        self.tech_rows = tech_rows
        self.chunk_words = chunk_words
        self.max_chunks = max_chunks
        self.max_sentences = max_sentences
        self._asker = Asker(model, Budget(timeout))

    def extract(self, document: Document) -> Article:
        """The record of one article; every section filled, or `incomplete` set."""
        text = document.text or ""
        if not text.strip():
            raise ExtractionError("the article has no text to extract from", source=document.url)
        self._asker = Asker(self.model, Budget(self.timeout))
        title = document.title.strip() or first_line(text) or document.url
        record: dict[str, Any] = {
            "id": article_id_for(document.url),
            "url": document.url,
            "title": title[:500],
            "extractor": self.model.model_id,
        }
        timed_out = False
        try:
            chunks = split_chunks(text, self.chunk_words)[: self.max_chunks]
            step("summary")
            record["summary"] = self._summary(title, chunks)
            ctx = self._context(title, text, chunks)
            ctx.summary = record["summary"]
            ctx.focus = self._embed([f"{title}. {ctx.summary}"])[0]
            step("keywords")
            record["keywords"] = self._keywords(ctx)
            record["themes"] = self._rank(ctx.focus, list(THEMES))[:4]
            record["category"], record["type"] = self._category_type(ctx)
            step("technologies")
            record["technologies"] = self._technologies(ctx)
            ctx.evidence = self._allocate(ctx)
            for kind in ROW_TABLES:
                step(kind)
                record[kind] = self._rows(kind, ctx)
        except TimeUp:
            timed_out = True
        finally:
            if hasattr(self.model, "deadline"):
                self.model.deadline = None
        return assemble(record, text, incomplete=timed_out)

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
        order = sorted(range(len(candidates)), key=lambda i: -dot(query, vectors[i]))
        return [candidates[i] for i in order]

    def _summary(self, title: str, chunks: list[str]) -> str:
        ask = self._asker.ask
        parts: list[str] = []
        try:
            for chunk in chunks:
                if parts and self._asker.budget.left() < self.timeout / 2:
                    break  # keep time for the tables; later chunks still feed them
                body = truncate_words(chunk, self.chunk_words)
                answer = ask(
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
            merged = ask(
                prompts.merge_summaries(title, parts), max_tokens=200, prefill=prompts.SUMMARY_START
            )
        except TimeUp:
            return parts[0]  # the next question stops the extraction
        return clean_summary(merged) or parts[0]

    def _keywords(self, ctx: Context) -> list[str]:
        candidates, counts = keyword_candidates(ctx.text)
        if not candidates:
            return []
        return pick_keywords(candidates, self._embed(candidates), ctx.focus, counts)

    def _category_type(self, ctx: Context) -> tuple[str, str]:
        schema = prompts.category_schema(CATEGORIES, TYPES)
        question = prompts.category(ctx.title, ctx.summary)
        answer = self._asker.ask_json(question, schema, max_tokens=30)
        return str(answer.get("category", "")), str(answer.get("type", ""))

    def _technologies(self, ctx: Context) -> list[dict[str, Any]]:
        ranked, counts = mined_technologies(ctx.text, self._embed)
        rows: list[dict[str, Any]] = []
        for term in ranked[: self.tech_rows * 2]:
            if len(rows) >= self.tech_rows:
                break
            evidence = technology_evidence(term, ctx.sents, ctx.text)
            if evidence is None:
                continue
            answer = self._asker.ask_json(
                prompts.technology_kind(term, evidence.text), prompts.TECH_SCHEMA, max_tokens=12
            )
            if answer.get("kind") not in prompts.TECH_KINDS:
                continue
            _, body = split_label(cell_text(evidence.text, term))
            row: dict[str, Any] = {"name": term, "description": body, "evidence": evidence.text}
            row["relevancy"] = self._relevancy(ctx, row, counts.get(term, 1))
            rows.append(row)
        return rows

    def _allocate(self, ctx: Context) -> dict[Kind, list[Sentence]]:
        """Evidence sentences for the four item tables (`candidates.allocate`)."""
        if not ctx.sents:
            return {}
        fits = {
            kind: sentence_fit(
                kind, ctx.sents, ctx.vectors, self._embed([PROTOTYPES[kind]])[0], ctx.focus
            )
            for kind in ROW_TABLES
        }
        chosen = allocate(fits, ctx.chunk_of, ctx.vectors, self.rows_per_table)
        return {kind: [ctx.sents[i] for i in at] for kind, at in chosen.items()}

    def _rows(self, kind: Kind, ctx: Context) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for sent in ctx.evidence.get(kind, []):
            row = self._row(kind, sent, ctx)
            row["relevancy"] = self._relevancy(ctx, row, 1)
            if not same_row(row, rows):
                rows.append(row)
        return rows

    def _row(self, kind: Kind, sent: Sentence, ctx: Context) -> dict[str, Any]:
        """One table row from one evidence sentence."""
        label, body = split_label(cell_text(sent.text))
        name = label
        if not name:
            titled = first_sentence(self._asker.ask(prompts.name(kind, body), max_tokens=16))
            name = titled.rstrip(".") if good_name(titled, body, ctx.text) else key_phrase(body)
        row: dict[str, Any] = {"name": title_case(name), "description": body, "evidence": sent.text}
        if kind == "signals":
            for key in ("change", "driving_force"):
                said = self._asker.line(prompts.signal_part(key, body), max_tokens=40)
                row[key] = said if grounded(said, ctx.text) else prompts.fallback(key, row)
            row["ten_year"] = prompts.fallback("ten_year", row)
        return row

    def _relevancy(self, ctx: Context, row: dict[str, Any], mentions: int) -> int:
        vec = self._embed([f"{row['name']}. {row['description']}"])[0]
        return relevancy(ctx.focus, vec, mentions)


__all__ = ["SLMExtractor"]
