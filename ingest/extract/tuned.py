"""`TunedExtractor`: a record written by a fine-tuned model, then grounded in the article.

The model (SmolLM2 with the LoRA adapter `signalkb tune` wrote) answers the seven tasks of
`ingest/extract/tasks.py` in the formats it learned: summary, terms, and the five tables.
Its rows abstract, as an analyst's do, so every one is then checked against the article
(`ingest/extract/grounding.py`): a row is kept only with a verbatim evidence sentence that
supports it and no name or number the article lacks; repeats across tables are merged;
summary sentences naming what the article lacks are dropped; technologies the article
names and the model missed are added. `last_report` tells what was dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, cast

from ingest.document import Document
from ingest.extract import tasks
from ingest.extract.base import ChatModel, Message
from ingest.extract.grounding import (
    ArticleSentences,
    GroundingReport,
    evidence_for,
    ground_rows,
    ground_summary,
    named_technologies,
)
from ingest.extract.steps import step
from kb.embed import Embedder, MiniLMEmbedder
from kb.errors import ExtractionError
from kb.records import ITEM_TYPES, KINDS, Article, Item, Kind, Technology, article_id_for

TABLE_TASKS: tuple[Kind, ...] = ("signals", "concerns", "behaviors", "issues", "technologies")
MAX_TECHNOLOGIES = 8
MAX_TERMS = 8
MIN_SUMMARY_WORDS = 12
RETRY_PENALTY = 1.3  # the second reading of a table grounding left empty


@dataclass
class ExtractionReport:
    """What grounding removed from one record, for `signalkb eval` and the logs."""

    rows_written: int = 0
    rows_dropped: dict[str, int] = field(default_factory=dict)
    summary_sentences_dropped: int = 0
    technologies_added: int = 0
    tables_asked_again: int = 0
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

        A table that grounding leaves empty is asked for once more, decoded with a stronger
        repeat penalty (another reading of the same article), and grounded the same way."""
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
            for kind in empty:
                if time.monotonic() >= deadline:
                    timed_out = True
                    break
                step(f"{kind}, again")
                answers[kind] = self._ask(kind, text, deadline, repeat_penalty=RETRY_PENALTY)
                retried.append(kind)
            if retried:
                article = self._assemble(document, text, answers, sents, incomplete=timed_out)
            elif timed_out:
                article = article.model_copy(update={"incomplete": True})
        finally:
            if hasattr(self.model, "deadline"):
                self.model.deadline = None
        self.last_report.tables_asked_again = len(retried)
        self.last_report.seconds = time.monotonic() - start
        return article

    def _ask(
        self, task: str, text: str, deadline: float, *, repeat_penalty: float | None = None
    ) -> str:
        if hasattr(self.model, "deadline"):
            self.model.deadline = deadline
        chat = tasks.messages(task, text, max_words=self.max_words)
        messages = [Message(m["role"], m["content"]) for m in chat]
        spec = tasks.get_task(task)
        return self.model.complete(
            messages,
            max_tokens=spec.max_tokens,
            repeat_penalty=spec.repeat_penalty if repeat_penalty is None else repeat_penalty,
        )

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
        if incomplete or article.missing_sections() or not (article.category and article.type):
            article = article.model_copy(update={"incomplete": True})
        return article

    def _missed_technologies(
        self, found: list[Item], text: str, sents: ArticleSentences
    ) -> list[Item]:
        """Technologies the article names that the model left out, each with the sentence
        that names it as evidence and description."""
        have = {item.name.lower() for item in found}
        added: list[Item] = []
        for name in named_technologies(text):
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
                    description=sentence.text[:300],
                    relevancy=3,
                    evidence=sentence.text,
                )
            )
            have.add(name.lower())
        return added

    def _embed(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed(texts) if texts else []
