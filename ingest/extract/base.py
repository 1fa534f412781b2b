"""The two seams of extraction: a chat model backend and an extractor.

`ChatModel` is one small abstract base that every backend implements (llama.cpp, an
OpenAI-compatible server, or a user's own), registered by name in `BACKENDS`.
`Extractor` turns a Document into an Article; `SLMExtractor` does it with any ChatModel.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from ingest.document import Document
from kb.records import Article
from kb.settings import Settings


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: str
    content: str


class ChatModel(ABC):
    """A language model that answers chat messages, optionally constrained to a JSON schema."""

    name: ClassVar[str] = "model"

    @abstractmethod
    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> str:
        """The model's reply; with `json_schema`, a JSON text the backend tried to constrain.

        `repeat_penalty` overrides the backend's penalty on recently used tokens for this
        answer (1.0: none); a backend without one ignores it."""

    @property
    def model_id(self) -> str:
        """Backend and model name, as recorded in each record's `extractor` field."""
        return self.name


class Extractor(Protocol):
    """Turns clean article text into a record."""

    def extract(self, document: Document) -> Article:
        """The record of one article; raises ExtractionError when it cannot give one."""
        ...


BackendFactory = Callable[[Settings], ChatModel]
BACKENDS: dict[str, BackendFactory] = {}


def register_backend(name: str, factory: BackendFactory) -> None:
    """Make a backend available by name (`--backend NAME` / SIGNALKB_BACKEND)."""
    BACKENDS[name] = factory
