"""Text → record: chat model backends and the extractors built on them.

Backends register by name in `BACKENDS` (the same way a user's own backend would):
"llamacpp" (a local GGUF model, run in a child process; the default) and "openai" (any
OpenAI-compatible server).
`make_extractor(settings)` builds the configured one.
"""

from __future__ import annotations

from ingest.extract.base import (
    BACKENDS,
    ChatModel,
    Extractor,
    Message,
    register_backend,
)
from ingest.extract.scripted import ScriptedChatModel, ScriptedExtractor
from ingest.extract.slm import SLMExtractor
from kb.errors import BackendError
from kb.settings import Settings


def _llamacpp(settings: Settings) -> ChatModel:
    from ingest.extract.llamaproc import LlamaProcessModel

    return LlamaProcessModel(settings.model)


def _openai(settings: Settings) -> ChatModel:
    from ingest.extract.openai_compat import OpenAICompatModel

    return OpenAICompatModel(
        settings.openai_base_url,
        settings.openai_model,
        api_key=settings.openai_api_key,
        timeout=settings.extract_timeout,
    )


register_backend("llamacpp", _llamacpp)
register_backend("openai", _openai)


def make_chat_model(settings: Settings) -> ChatModel:
    """The chat model backend named by `settings.backend`."""
    factory = BACKENDS.get(settings.backend)
    if factory is None:
        known = ", ".join(sorted(BACKENDS))
        raise BackendError(f"unknown backend (known: {known})", source=settings.backend)
    return factory(settings)


def make_extractor(settings: Settings) -> Extractor:
    """An SLMExtractor over the configured backend, with the per-article time limit."""
    return SLMExtractor(make_chat_model(settings), timeout=settings.extract_timeout)


__all__ = [
    "BACKENDS",
    "ChatModel",
    "Extractor",
    "Message",
    "SLMExtractor",
    "ScriptedChatModel",
    "ScriptedExtractor",
    "make_chat_model",
    "make_extractor",
    "register_backend",
]
