"""The composition root: parts built from Settings, fakes given in their place."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.extract import BACKENDS, ScriptedChatModel, SLMExtractor
from kb.embed import HashEmbedder
from kb.settings import Settings
from signalkb.compose import Parts, configured_extractor
from tests.fakes import FAKES


def test_the_extractor_embeds_with_the_store_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "scripted", lambda settings: ScriptedChatModel())
    embedder = HashEmbedder()
    extractor = configured_extractor(Settings(backend="scripted"), embedder)
    assert isinstance(extractor, SLMExtractor) and extractor.embedder is embedder


def test_the_web_app_builds_its_extractor_on_the_app_store(tmp_path: Path) -> None:
    seen: list[object] = []
    parts = Parts(
        embedder=FAKES.embedder,
        server_embedder=FAKES.server_embedder,
        extractor=lambda settings, embedder: (
            seen.append(embedder) or FAKES.extractor(settings, embedder)
        ),
    )
    app = parts.web_app(Settings(home=tmp_path))
    state = app.state.signalkb
    state.job_manager._extractor_factory(state.store)
    assert seen == [state.store.embedder] and isinstance(seen[0], HashEmbedder)
