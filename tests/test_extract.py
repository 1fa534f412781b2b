"""The extractor: backends, the SLM extractor on a real model, and the fakes around it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ingest.document import Document
from ingest.extract import (
    ScriptedChatModel,
    ScriptedExtractor,
    SLMExtractor,
    make_extractor,
)
from ingest.extract.base import Message
from ingest.extract.llamacpp import LlamaCppModel
from ingest.extract.text import is_verbatim, locate, sentences
from kb.embed import HashEmbedder
from kb.errors import BackendError, ExtractionError
from kb.records import KINDS, Article
from kb.settings import Settings
from tests import extract_fixtures
from tests.extract_fixtures import seed_document

# Session fixtures shared with other extractor test modules.
smollm2 = extract_fixtures.smollm2
seed_record = extract_fixtures.seed_record

ARTICLE = (
    "Open models are spreading fast. Companies now deploy small language models on laptops "
    "to cut cloud costs. Regulators worry that cheap models make disinformation easier to "
    "produce. Researchers at Acme released Widget-7B, a model trained on public data. "
    "The debate over open weights and safety continues in parliament. Many teams are "
    "fine-tuning models for medical and legal work."
)


def doc(text: str = ARTICLE, title: str = "Open models spread") -> Document:
    return Document(source="t", url="https://example.com/a", title=title, text=text)


# -- the real model -----------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_record_is_complete_valid_and_grounded(seed_record: Article) -> None:
    text = seed_document().text
    Article.model_validate(seed_record.model_dump())
    assert seed_record.missing_sections() == []
    assert not seed_record.incomplete
    assert seed_record.extractor == "llamacpp:smollm2"
    assert 4 <= len(seed_record.keywords) <= 8
    assert seed_record.themes and seed_record.category and seed_record.type
    assert seed_record.summary.startswith("The article")
    for kind in KINDS:
        for item in seed_record.items(kind):
            assert 1 <= item.relevancy <= 5
            assert is_verbatim(item.evidence, text), (kind, item.evidence)


@pytest.mark.slow
def test_smollm2_answers_schema_constrained_json(smollm2: LlamaCppModel) -> None:
    schema = {
        "type": "object",
        "properties": {"kind": {"type": "string", "enum": ["model", "person"]}},
        "required": ["kind"],
    }
    prompt = (
        'Sentence: Mistral 7B outperforms larger models.\n\nIs "Mistral 7B" a model or a person?'
    )
    raw = smollm2.complete([Message("user", prompt)], json_schema=schema, max_tokens=20)
    assert json.loads(raw)["kind"] in ("model", "person")


def test_missing_model_file_is_a_backend_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="not found"):
        LlamaCppModel(str(tmp_path / "nope.gguf"))


def test_corrupt_model_file_is_a_backend_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"this is not a model" * 100)
    with pytest.raises(BackendError, match="GGUF"):
        LlamaCppModel(str(bad))


def test_truncated_gguf_is_a_backend_error(tmp_path: Path) -> None:
    bad = tmp_path / "cut.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(BackendError, match="cannot load"):
        LlamaCppModel(str(bad))


def test_make_extractor_unknown_backend() -> None:
    with pytest.raises(BackendError, match="unknown backend"):
        make_extractor(Settings(backend="nope"))


def test_make_extractor_missing_model(tmp_path: Path) -> None:
    with pytest.raises(BackendError):
        make_extractor(Settings(backend="llamacpp", model=str(tmp_path / "x.gguf")))


# -- the code around the model, on fakes ----------------------------------------------------


def fake_reply(messages: list[Message], schema: object) -> str:
    """A deterministic model: quotes the prompt's sentence back, or a fixed JSON answer."""
    prompt = messages[-1].content
    if schema is not None:
        return json.dumps({"kind": "model", "category": "technology", "type": "news"})
    if prompt.startswith("Title:"):
        return "The article discusses open models and their costs. It notes regulators worry."
    return prompt.split("\n")[0].removeprefix("Sentence: ").removeprefix("Trend: ")


def test_slm_extractor_assembles_a_grounded_record_from_a_fake_model() -> None:
    model = ScriptedChatModel(responder=fake_reply)
    record = SLMExtractor(model, embedder=HashEmbedder()).extract(doc())
    assert record.missing_sections() == []
    assert record.summary.startswith("The article discusses")
    assert record.extractor == "scripted"
    for _, _, item in record.all_items():
        assert is_verbatim(item.evidence, ARTICLE)
    assert any(t.name == "Widget-7B" for t in record.technologies)


def test_slm_extractor_marks_missing_sections_incomplete() -> None:
    def no_tech(messages: list[Message], schema: object) -> str:
        if schema is not None:
            return json.dumps({"kind": "person", "category": "technology", "type": "news"})
        return fake_reply(messages, schema)

    model = ScriptedChatModel(responder=no_tech)
    record = SLMExtractor(model, embedder=HashEmbedder()).extract(doc())
    assert record.technologies == []
    assert record.incomplete


def test_empty_text_is_an_extraction_error() -> None:
    model = ScriptedChatModel(responder=fake_reply)
    with pytest.raises(ExtractionError, match="no text"):
        SLMExtractor(model, embedder=HashEmbedder()).extract(doc(text="  \n "))


def test_scripted_extractor_returns_queued_records_and_keeps_history() -> None:
    queued = Article(id="x", url="https://example.com/a", title="Queued")
    fake = ScriptedExtractor()
    fake.enqueue(queued)
    assert fake.extract(doc()) is queued
    second = fake.extract(doc())
    assert second.missing_sections() == []
    assert [d.url for d in fake.history] == ["https://example.com/a"] * 2


def test_scripted_chat_model_without_replies_is_a_backend_error() -> None:
    with pytest.raises(BackendError):
        ScriptedChatModel().complete([Message("user", "hi")])


# -- text helpers --------------------------------------------------------------------------


def test_sentences_are_verbatim_spans_of_the_text() -> None:
    text = "# Title\n\n- First point: models grow fast.\n> A quoted line that is long enough."
    found = [s.text for s in sentences(text)]
    assert found == ["First point: models grow fast.", "A quoted line that is long enough."]
    assert all(is_verbatim(s, text) for s in found)


def test_locate_cuts_the_quote_from_the_article() -> None:
    text = "It said “Models  are cheap” today."
    assert locate("models are cheap", text) == "Models are cheap"
    assert locate("nowhere in it", text) is None


# -- bad input on the real model ------------------------------------------------------------


@pytest.mark.slow
def test_huge_text_stops_at_the_time_limit_with_a_valid_record(smollm2: LlamaCppModel) -> None:
    text = (seed_document().text + "\n") * 200  # ~90,000 words
    start = time.monotonic()
    record = SLMExtractor(smollm2, timeout=40).extract(doc(text=text))
    assert time.monotonic() - start < 80
    Article.model_validate(record.model_dump())
    assert record.summary
    for _, _, item in record.all_items():
        assert is_verbatim(item.evidence, text)


@pytest.mark.slow
def test_non_english_text_gives_a_valid_grounded_record(smollm2: LlamaCppModel) -> None:
    text = (
        "Kleine Sprachmodelle werden in Unternehmen immer beliebter. Sie laufen auf Laptops "
        "und senken die Kosten für Cloud-Dienste deutlich. Kritiker warnen jedoch vor "
        "falschen Antworten und fehlender Transparenz. Die Europäische Union diskutiert "
        "neue Regeln für offene Modelle wie Mistral 7B."
    )
    record = SLMExtractor(smollm2, rows_per_table=2).extract(doc(text=text, title="Kleine Modelle"))
    Article.model_validate(record.model_dump())
    assert record.summary
    assert record.incomplete == bool(record.missing_sections() or not record.themes)
    for _, _, item in record.all_items():
        assert is_verbatim(item.evidence, text)
