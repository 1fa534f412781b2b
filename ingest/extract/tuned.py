"""`TunedExtractor`: a record written by a fine-tuned model, then grounded in the article.

The model (SmolLM2 with the LoRA adapter `signalkb tune` wrote; the default model) answers
the seven tasks of `ingest/extract/tasks.py` in the formats it learned: summary, terms, and
the five tables. Its rows abstract, as an analyst's do, so every one is then checked
against the article (`ingest/extract/grounding.py`): a row is kept only with a verbatim
evidence sentence that supports it and no name or number the article lacks; repeats
across tables are merged; summary sentences naming what the article lacks are dropped.
A table left empty is read again from the sentences that fit it best, then (concerns,
behaviors, issues) filled from those sentences; technologies the article names and the
model missed are added. `last_report` tells what was dropped and filled.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast

from ingest.document import Document
from ingest.extract import tasks
from ingest.extract.base import ChatModel, Message
from ingest.extract.candidates import (
    mined_technologies,
    relevancy,
    sentence_fit,
    technology_evidence,
    weak_evidence,
)
from ingest.extract.grounding import (
    ArticleSentences,
    GroundingReport,
    evidence_for,
    ground_rows,
    ground_summary,
    is_technology,
    named_technologies,
)
from ingest.extract.steps import step
from ingest.extract.text import cell_text, key_phrase, split_label, title_case
from ingest.extract.vocabulary import PROTOTYPES
from kb.embed import Embedder, MiniLMEmbedder
from kb.errors import ExtractionError
from kb.records import ITEM_TYPES, KINDS, Article, Item, Kind, Technology, article_id_for

TABLE_TASKS: tuple[Kind, ...] = ("signals", "concerns", "behaviors", "issues", "technologies")
MAX_TECHNOLOGIES = 8
MAX_TERMS = 8
MIN_SUMMARY_WORDS = 12
SENTENCE_TABLES: tuple[Kind, ...] = ("concerns", "behaviors", "issues")
SENTENCE_ROWS = 2  # rows a table still empty after two readings takes from the sentences


@dataclass
class ExtractionReport:
    """What grounding removed from one record, for `signalkb eval` and the logs."""

    rows_written: int = 0
    rows_dropped: dict[str, int] = field(default_factory=dict)
    summary_sentences_dropped: int = 0
    technologies_added: int = 0
    tables_asked_again: int = 0
    tables_from_sentences: int = 0
    seconds: float = 0.0


class TunedExtractor:
    """Turns a Document into an Article with a model tuned on the task formats."""

    def __init__(
        self,
        model: ChatModel,
        *,
        timeout: float = 300.0,
        embedder: Embedder | None = None,
        max_words: int = tasks.ARTICLE_WORDS,
    ) -> None:
        self.model = model
        self.timeout = timeout
        self.embedder: Embedder = embedder or cast(Embedder, MiniLMEmbedder())
        self.max_words = max_words
        self.last_report = ExtractionReport()

    def extract(self, document: Document) -> Article:
        """The record of one article; every kept row grounded, `incomplete` when a section
        is empty or time ran out.

        A table that grounding leaves empty is asked for once more, with the article's
        sentences that fit that table best as the text (`_focused_text`), and grounded the
        same way. A concerns, behaviors or issues table still empty then takes its rows
        from the article's sentences (`_rows_from_sentences`), as the untuned path does."""
        text = document.text or ""
        if not text.strip():
            raise ExtractionError("the article has no text to extract from", source=document.url)
        start = time.monotonic()
        deadline = start + self.timeout
        answers: dict[str, str] = {}
        timed_out = False
        retried: list[str] = []
        try:
            for name in tasks.TASK_NAMES:
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                step(name)
                answers[name] = self._ask(name, text, deadline)
            step("grounding")
            sents = ArticleSentences.of(text, self._embed)
            article = self._assemble(document, text, answers, sents, incomplete=timed_out)
            empty = [] if timed_out else [k for k in TABLE_TASKS if not article.items(k)]
            # the subject the empty tables' sentences are chosen by (the summary stays)
            focus = self._embed([f"{article.title}. {article.summary}"])[0] if empty else []
            for kind in empty:
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                step(f"{kind}, again")
                focused = self._focused_text(kind, sents, focus)
                answers[kind] = self._ask(kind, focused, deadline)
                retried.append(kind)
            if retried:
                article = self._assemble(document, text, answers, sents, incomplete=timed_out)
            still_empty = [k for k in SENTENCE_TABLES if not article.items(k)]
            if still_empty and not timed_out:
                article = self._rows_from_sentences(article, still_empty, sents, focus)
            elif timed_out:
                article = article.model_copy(update={"incomplete": True})
        finally:
            if hasattr(self.model, "deadline"):
                self.model.deadline = None
        self.last_report.tables_asked_again = len(retried)
        self.last_report.seconds = time.monotonic() - start
        return article

    def _ask(self, task: str, text: str, deadline: float) -> str:
        if hasattr(self.model, "deadline"):
            self.model.deadline = deadline
        chat = tasks.messages(task, text, max_words=self.max_words)
        messages = [Message(m["role"], m["content"]) for m in chat]
        spec = tasks.get_task(task)
        return self.model.complete(
            messages, max_tokens=spec.max_tokens, repeat_penalty=spec.repeat_penalty
        )

    def _fit(self, kind: Kind, sents: ArticleSentences, focus: list[float]) -> list[float]:
        """How well each sentence fits `kind`: cue words, closeness to what the table holds
        and to the article's subject (`candidates.sentence_fit`)."""
        proto = self._embed([PROTOTYPES[kind]])[0]
        return sentence_fit(kind, sents.sentences, sents.matrix.tolist(), proto, focus)

    def _focused_text(self, kind: Kind, sents: ArticleSentences, focus: list[float]) -> str:
        """The article's sentences that fit `kind` best, up to the task's word budget, in
        the article's order: the second reading looks where that table's rows would be, all
        through the article rather than in its opening only."""
        fit = self._fit(kind, sents, focus)
        chosen: list[int] = []
        words = 0
        for i in sorted(range(len(fit)), key=lambda i: -fit[i]):
            n = sents.sentences[i].words
            if words + n > self.max_words:
                continue
            chosen.append(i)
            words += n
        return "\n".join(sents.sentences[i].text for i in sorted(chosen))

    def _rows_from_sentences(
        self, article: Article, kinds: list[Kind], sents: ArticleSentences, focus: list[float]
    ) -> Article:
        """`article` with rows for the empty `kinds` taken from its best-fitting sentences
        that no row already quotes: named by the sentence's own label or key phrase, the
        sentence as description and evidence, relevancy by closeness to the subject
        (`focus`, the vector of title and summary)."""
        quoted = {item.evidence for kind in KINDS for item in article.items(kind)}
        filled: dict[str, Any] = {}
        for kind in kinds:
            fit = self._fit(kind, sents, focus)
            rows: list[Item] = []
            for i in sorted(range(len(fit)), key=lambda i: -fit[i]):
                if len(rows) >= SENTENCE_ROWS:
                    break
                sentence = sents.sentences[i]
                if sentence.text in quoted or weak_evidence(sentence.text):
                    continue
                label, body = split_label(cell_text(sentence.text))
                rows.append(
                    ITEM_TYPES[kind](
                        name=title_case(label or key_phrase(body)),
                        description=body,
                        relevancy=relevancy(focus, sents.matrix[i].tolist(), 1),
                        evidence=sentence.text,
                    )
                )
                quoted.add(sentence.text)
            filled[kind] = rows
        self.last_report.tables_from_sentences = sum(1 for rows in filled.values() if rows)
        return _flag_incomplete(article.model_copy(update=filled), timed_out=False)

    def _assemble(
        self,
        document: Document,
        text: str,
        answers: dict[str, str],
        article_sents: ArticleSentences,
        *,
        incomplete: bool,
    ) -> Article:
        report = ExtractionReport()
        summary = tasks.parse("summary", answers.get("summary", ""))["summary"]
        summary, dropped_sentences = ground_summary(summary, text)
        report.summary_sentences_dropped = len(dropped_sentences)
        if len(summary.split()) < MIN_SUMMARY_WORDS:  # chatter or a refusal, not a summary
            summary = ""
        terms: dict[str, Any] = tasks.parse("terms", answers.get("terms", ""))
        rows: dict[Kind, list[Item]] = {kind: [] for kind in KINDS}
        for kind in TABLE_TASKS:
            for row in tasks.parse(kind, answers.get(kind, "")):
                try:
                    rows[kind].append(ITEM_TYPES[kind].model_validate(row))
                except ValueError:
                    continue
        report.rows_written = sum(len(items) for items in rows.values())
        grounded: GroundingReport = ground_rows(rows, text, self._embed, sentences=article_sents)
        report.rows_dropped = grounded.counts
        technologies = list(grounded.rows["technologies"])
        added = self._missed_technologies(technologies, text, article_sents)
        technologies += added
        report.technologies_added = len(added)
        title = document.title.strip() or text.strip().splitlines()[0][:200] or document.url
        record = {
            "id": article_id_for(document.url),
            "url": document.url,
            "title": title[:500],
            "extractor": self.model.model_id,
            "summary": summary,
            "keywords": terms["keywords"][:MAX_TERMS],
            "themes": terms["themes"][:MAX_TERMS],
            "category": terms["category"],
            "type": terms["type"],
            **{kind: grounded.rows[kind] for kind in KINDS if kind != "technologies"},
            "technologies": technologies[:MAX_TECHNOLOGIES],
        }
        try:
            article = Article.model_validate(record)
        except ValueError as exc:
            raise ExtractionError(f"cannot assemble a record: {exc}", source=document.url) from exc
        self.last_report = report
        return _flag_incomplete(article, timed_out=incomplete)

    def _missed_technologies(
        self, found: list[Item], text: str, sents: ArticleSentences
    ) -> list[Item]:
        """Technologies the article names that the model left out, each with the sentence
        that names it as evidence and description: first the names `named_technologies`
        finds by pattern, then the mined names and tech phrases that look most like a
        technology (`rank_technologies`), when they pass the same checks (no date, place,
        person or bare company; not a speaker or a byline)."""
        ranked, _ = mined_technologies(text, self._embed)
        mined = [
            term
            for term in ranked
            if is_technology(term.split(" (")[0], text)
            and technology_evidence(term, sents.sentences, text) is not None
        ]
        have = {item.name.lower() for item in found}
        added: list[Item] = []
        for name in named_technologies(text) + mined:
            if len(found) + len(added) >= MAX_TECHNOLOGIES:
                break
            if any(name.lower() in h or h in name.lower() for h in have):
                continue
            sentence = next((s for s in sents.sentences if name.lower() in s.text.lower()), None)
            if sentence is None:  # named only across a sentence break: the closest sentence
                evidence = evidence_for(name, sents, self._embed, min_score=0.0)
                if evidence is None:
                    continue
                sentence = evidence.sentence
            added.append(
                Technology(
                    name=name,
                    description=cell_text(sentence.text, name)[:300],
                    relevancy=3,
                    evidence=sentence.text,
                )
            )
            have.add(name.lower())
        return added

    def _embed(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts) if texts else []


def _flag_incomplete(article: Article, *, timed_out: bool) -> Article:
    """`article` marked `incomplete` when time ran out, a section is empty or the category
    or type is missing; else marked complete."""
    complete = not timed_out and not article.missing_sections()
    complete = complete and bool(article.category and article.type)
    return article.model_copy(update={"incomplete": not complete})
