"""Text → record: chat model backends and the extractors built on them.

Backends register by name in `BACKENDS` (the same way a user's own backend would):
"llamacpp" (a local GGUF model, run in a child process; the default) and "openai" (any
OpenAI-compatible server).
`make_extractor(settings)` builds the configured one: `TunedExtractor` for a model with a
LoRA adapter (the default `smollm2`: SmolLM2 with the shipped adapter), else `SLMExtractor`
(`smollm2-base`, `gemma3`, a GGUF path or a server: small questions to an untuned model).
"""

from __future__ import annotations

from pathlib import Path

from ingest.extract.adapters import shipped_adapter
from ingest.extract.base import (
    BACKENDS,
    ChatModel,
    Extractor,
    Message,
    register_backend,
)
from ingest.extract.scripted import ScriptedChatModel, ScriptedExtractor
from ingest.extract.slm import SLMExtractor
from ingest.extract.tuned import TunedExtractor
from kb.embed import Embedder
from kb.errors import BackendError
from kb.settings import Settings


def adapter_for(settings: Settings) -> Path | None:
    """The LoRA adapter the llamacpp model runs with: the `adapter` setting (`none`: no
    adapter), else the shipped one for `smollm2`; None for no adapter."""
    if settings.backend != "llamacpp" or settings.adapter == "none":
        return None
    if settings.adapter:
        return Path(settings.adapter).expanduser()
    if settings.model == "smollm2":
        shipped = shipped_adapter()
        if not shipped.is_file():
            raise BackendError("the shipped adapter is missing (make tune)", source=str(shipped))
        return shipped
    return None


def _llamacpp(settings: Settings) -> ChatModel:
    from ingest.extract.llamaproc import LlamaProcessModel

    return LlamaProcessModel(settings.model, lora_path=adapter_for(settings))


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


def make_extractor(settings: Settings, embedder: Embedder | None = None) -> Extractor:
    """The extractor for the configured backend, with the per-article time limit: a
    TunedExtractor when the model runs with a LoRA adapter (it learned the task formats),
    else the SLMExtractor that asks an untuned model small questions. Both embed sentences
    with `embedder` (default: MiniLM in this process)."""
    model = make_chat_model(settings)
    if adapter_for(settings) is not None:
        return TunedExtractor(model, timeout=settings.extract_timeout, embedder=embedder)
    return SLMExtractor(model, timeout=settings.extract_timeout, embedder=embedder)


__all__ = [
    "BACKENDS",
    "ChatModel",
    "Extractor",
    "Message",
    "SLMExtractor",
    "ScriptedChatModel",
    "TunedExtractor",
    "adapter_for",
    "ScriptedExtractor",
    "make_chat_model",
    "make_extractor",
    "register_backend",
]
