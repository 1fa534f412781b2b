"""Deterministic fakes for unit tests of the code around the model (never for features).

`ScriptedExtractor` hands back enqueued Articles (or, with none queued, a plain record
built from the document's own sentences); `ScriptedChatModel` answers with enqueued
replies. Both keep a `history` of what they were asked.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from ingest.document import Document
from ingest.extract.base import ChatModel, Message
from ingest.extract.text import sentences
from kb.errors import BackendError, ExtractionError
from kb.records import Article, article_id_for


class ScriptedExtractor:
    """An Extractor that returns queued records, in order."""

    def __init__(self, *articles: Article) -> None:
        self.queue: deque[Article] = deque(articles)
        self.history: list[Document] = []

    def enqueue(self, article: Article) -> None:
        """Queue the record returned by the next `extract` call."""
        self.queue.append(article)

    def extract(self, document: Document) -> Article:
        """The next queued record, or a plain record of the document when none is queued."""
        self.history.append(document)
        if self.queue:
            return self.queue.popleft()
        return echo_record(document)


def echo_record(document: Document) -> Article:
    """A complete record whose every row quotes the document's first sentences."""
    sents = sentences(document.text)
    if not sents:
        raise ExtractionError("the article has no sentences", source=document.url)
    first = sents[0].text
    title = document.title or first[:80]

    def row(i: int) -> dict[str, Any]:
        s = sents[i % len(sents)].text
        return {"name": " ".join(s.split()[:4]), "description": s, "relevancy": 3, "evidence": s}

    signal = {**row(0), "change": first, "ten_year": first, "driving_force": first}
    return Article.model_validate(
        {
            "id": article_id_for(document.url),
            "url": document.url,
            "title": title,
            "summary": " ".join(s.text for s in sents[:3]),
            "keywords": sorted({w.lower() for w in first.split() if len(w) > 6})[:5] or ["article"],
            "themes": ["artificial intelligence"],
            "category": "technology",
            "type": "blog post",
            "signals": [signal],
            "concerns": [row(1)],
            "behaviors": [row(2)],
            "technologies": [row(3)],
            "issues": [row(4)],
            "extractor": "scripted",
        }
    )


class ScriptedChatModel(ChatModel):
    """A ChatModel that answers with queued replies (or a function of the messages)."""

    name: ClassVar[str] = "scripted"

    def __init__(
        self, *replies: str, responder: Callable[[list[Message], Any], str] | None = None
    ) -> None:
        self.replies: deque[str] = deque(replies)
        self.responder = responder
        self.history: list[tuple[list[Message], dict[str, Any] | None]] = []

    def enqueue(self, reply: str) -> None:
        """Queue the next reply."""
        self.replies.append(reply)

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> str:
        """The next queued reply, else the responder's answer; BackendError when neither."""
        self.history.append((messages, json_schema))
        if self.replies:
            return self.replies.popleft()
        if self.responder is not None:
            return self.responder(messages, json_schema)
        raise BackendError("the scripted model has no reply queued", source=self.name)
