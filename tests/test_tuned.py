"""The tuned extractor: task answers in, a grounded record out; and which extractor
`make_extractor` builds for which model and adapter."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import Document
from ingest.extract import SLMExtractor, TunedExtractor, adapter_for, make_extractor
from ingest.extract.base import Message
from ingest.extract.scripted import ScriptedChatModel
from ingest.extract.text import is_verbatim
from ingest.extract.tuned import ExtractionReport
from kb.embed import MiniLMEmbedder
from kb.errors import BackendError, ExtractionError
from kb.records import Article
from kb.settings import Settings

ARTICLE = "\n\n".join(
    (
        "Small models move onto laptops",
        "Engineers at a Dutch hospital now run a 3-billion-parameter language model on "
        "ordinary laptops with llama.cpp, instead of sending patient notes to a cloud service. "
        "The model was fine-tuned with LoRA on 2,000 discharge letters written by the "
        "hospital's own doctors.",
        "Privacy officers worry that summaries written by the model may still leak names when "
        "notes are copied into email. Several other hospitals in the region have started to "
        "test the same setup, and a regional health agency is drafting rules for models that "
        "run on local hardware.",
        "The team says the laptops answer in under two seconds, which is fast enough for ward "
        "rounds.",
    )
)

ANSWERS = {
    "summary": (
        "A Dutch hospital runs a small language model on laptops with llama.cpp rather than "
        "a cloud service. It was fine-tuned with LoRA on discharge letters. Privacy officers "
        "worry about leaked names. The model beat GPT-7 on 98% of benchmarks."
    ),
    "terms": (
        "Keywords: small language models, llama.cpp, hospital, privacy\n"
        "Themes: healthcare, local ai\nCategory: technology\nType: news"
    ),
    "signals": (
        "Signal: Local language models in hospitals\nDescription: Hospitals run fine-tuned "
        "language models on laptops instead of cloud services.\nChange: From cloud services "
        "to local hardware\n10-year: Local models may become the norm in clinics\n"
        "Driving force: Privacy of patient notes\nRelevancy: 5\n\n"
        "Signal: Quantum chips in banking\nDescription: Banks in Singapore adopt quantum chips "
        "for trading.\nChange: From classic to quantum\n10-year: Quantum trading\n"
        "Driving force: Speed\nRelevancy: 4"
    ),
    "concerns": (
        "Leaking patient names | Summaries written by the model may leak patient names when "
        "copied into email. | 4"
    ),
    "behaviors": (
        "Hospitals testing local models | Other hospitals in the region test the same "
        "laptop setup. | 3"
    ),
    "issues": (
        "Rules for local AI | A regional health agency drafts rules for models on local "
        "hardware. | 3"
    ),
    "technologies": (
        "LoRA | A method to fine-tune a language model on a small set of documents. | 4\n"
        "January 2026 | The month of the pilot. | 2"
    ),
}


@pytest.fixture(scope="module")
def embedder() -> MiniLMEmbedder:
    """The real MiniLM: grounding is what these tests check."""
    return MiniLMEmbedder()


def scripted() -> ScriptedChatModel:
    """A model that answers each task with its canned answer, whatever the order."""

    def respond(messages: list[Message], _schema: object) -> str:
        instruction = messages[-1].content.rsplit("Task:", 1)[1]
        for task, answer in ANSWERS.items():
            if _task_of(instruction) == task:
                return answer
        raise AssertionError(f"unexpected task: {instruction}")

    return ScriptedChatModel(responder=respond)


def _task_of(instruction: str) -> str:
    from ingest.extract import tasks

    return next(t.name for t in tasks.TASKS.values() if t.instruction in instruction)


def document() -> Document:
    return Document(source="local.md", url="file:local.md", title="", text=ARTICLE)


def test_a_record_keeps_only_grounded_rows_with_verbatim_evidence(
    embedder: MiniLMEmbedder,
) -> None:
    extractor = TunedExtractor(scripted(), embedder=embedder)
    article = extractor.extract(document())
    assert article.title == "Small models move onto laptops"
    assert "GPT-7" not in article.summary and "98%" not in article.summary
    assert "llama.cpp" in article.summary
    assert [s.name for s in article.signals] == ["Local language models in hospitals"]
    assert article.concerns[0].name == "Leaking patient names"
    assert article.behaviors and article.issues
    for _, _, item in article.all_items():
        assert is_verbatim(item.evidence, ARTICLE), item.evidence
    names = [t.name for t in article.technologies]
    assert "LoRA" in names and "January 2026" not in names
    assert "llama.cpp" in names, "a technology the article names is added when the model misses it"
    assert article.keywords[:2] == ["small language models", "llama.cpp"]
    assert (article.category, article.type) == ("technology", "news")
    assert not article.incomplete
    report = extractor.last_report
    assert report.summary_sentences_dropped == 1
    assert report.rows_dropped == {"foreign_terms": 2}  # the quantum signal, "January 2026"
    assert report.technologies_added >= 1


def test_junk_answers_give_a_valid_incomplete_record(embedder: MiniLMEmbedder) -> None:
    model = ScriptedChatModel(responder=lambda _m, _s: "I cannot help with that.")
    article = TunedExtractor(model, embedder=embedder).extract(document())
    assert article.incomplete
    assert not article.summary and not article.keywords
    # No model row: the technologies the article names, and rows taken from its sentences.
    assert not article.signals
    assert all(is_verbatim(item.evidence, ARTICLE) for _, _, item in article.all_items())
    assert all(item.description in ARTICLE for item in article.concerns + article.issues)


def test_an_empty_article_is_an_extraction_error(embedder: MiniLMEmbedder) -> None:
    empty = Document(source="e.md", url="file:e.md", title="t", text="  ")
    with pytest.raises(ExtractionError, match="no text"):
        TunedExtractor(scripted(), embedder=embedder).extract(empty)


def fake_adapter(tmp_path: Path) -> Path:
    path = tmp_path / "mine.gguf"
    path.write_bytes(b"GGUF" + bytes(64))
    return path


def test_make_extractor_picks_the_tuned_path_only_with_an_adapter(tmp_path: Path) -> None:
    mine = fake_adapter(tmp_path)
    tuned = make_extractor(Settings(model="smollm2", adapter=str(mine)))
    assert isinstance(tuned, TunedExtractor)
    assert tuned.model.model_id == "llamacpp:smollm2+mine"
    shipped = make_extractor(Settings())
    assert isinstance(shipped, TunedExtractor), "the shipped adapter is the default"
    assert shipped.model.model_id == "llamacpp:smollm2+smollm2-signalkb"
    base = make_extractor(Settings(model="smollm2-base"))
    assert isinstance(base, SLMExtractor)
    assert base.model.model_id == "llamacpp:smollm2-base"
    assert isinstance(make_extractor(Settings(adapter="none")), SLMExtractor)
    assert adapter_for(Settings(model="smollm2-base")) is None
    assert adapter_for(Settings(model="gemma3")) is None
    assert adapter_for(Settings(backend="openai", adapter=str(mine))) is None


def test_a_missing_adapter_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="model file not found"):
        make_extractor(Settings(adapter=str(tmp_path / "missing.gguf")))


def test_the_extraction_reports_each_task_as_a_step(embedder: MiniLMEmbedder) -> None:
    from ingest.extract import tasks
    from ingest.extract.steps import reporting

    seen: list[str] = []
    with reporting(seen.append):
        TunedExtractor(scripted(), embedder=embedder).extract(document())
    assert seen == [*tasks.TASK_NAMES, "grounding"]


def test_each_task_is_asked_with_its_own_repeat_penalty(embedder: MiniLMEmbedder) -> None:
    from ingest.extract import tasks

    class Recording(ScriptedChatModel):
        penalties: dict[str, float | None] = {}

        def complete(self, messages, **kwargs):  # noqa: ANN001, ANN003, ANN201
            task = _task_of(messages[-1].content.rsplit("Task:", 1)[1])
            self.penalties[task] = kwargs.get("repeat_penalty")
            return super().complete(messages, **kwargs)

    model = Recording(responder=scripted().responder)
    TunedExtractor(model, embedder=embedder).extract(document())
    assert model.penalties == {t.name: t.repeat_penalty for t in tasks.TASKS.values()}
    assert model.penalties["signals"] == 1.0  # its labels repeat block after block


def test_a_table_grounding_empties_is_asked_again_on_its_best_sentences(
    embedder: MiniLMEmbedder,
) -> None:
    """The first signals answer names a product the article lacks, so grounding drops it;
    the table is asked once more with the article's sentences that fit signals best as the
    text (whole sentences, in the article's order), and the grounded answer is kept."""
    from ingest.extract import tasks
    from ingest.extract.steps import reporting

    first_signals = (
        "Signal: GPT-9 in hospitals\nDescription: GPT-9 replaces every doctor.\n"
        "Change: From doctors to GPT-9\n10-year: GPT-9 everywhere\n"
        "Driving force: GPT-9 hype\nRelevancy: 5"
    )
    asked: list[tuple[str, float | None, str]] = []

    class Again(ScriptedChatModel):
        def complete(self, messages, **kwargs):  # noqa: ANN001, ANN003, ANN201
            article, instruction = messages[-1].content.rsplit("Task:", 1)
            task = _task_of(instruction)
            asked.append((task, kwargs.get("repeat_penalty"), article))
            if task == "signals" and len(asked) < 8:
                return first_signals
            return super().complete(messages, **kwargs)

    extractor = TunedExtractor(Again(responder=scripted().responder), embedder=embedder)
    steps: list[str] = []
    with reporting(steps.append):
        article = extractor.extract(document())
    task, penalty, text = asked[-1]
    assert (task, penalty) == ("signals", tasks.get_task("signals").repeat_penalty)
    lines = text.removeprefix("Article:\n").strip().splitlines()
    assert lines and all(line in ARTICLE for line in lines)
    assert sorted(lines, key=ARTICLE.index) == lines
    assert "Several other hospitals in the region have started to test" in text
    assert [s.name for s in article.signals] == ["Local language models in hospitals"]
    assert extractor.last_report.tables_asked_again == 1
    assert extractor.last_report.tables_from_sentences == 0
    assert steps[-1] == "signals, again"


def test_a_table_empty_after_two_readings_takes_rows_from_the_sentences(
    embedder: MiniLMEmbedder,
) -> None:
    """Concerns the article does not support, twice: the table is filled from the sentence
    that fits concerns best, quoted verbatim, and the record is complete."""

    class Unsupported(ScriptedChatModel):
        def complete(self, messages, **kwargs):  # noqa: ANN001, ANN003, ANN201
            if _task_of(messages[-1].content.rsplit("Task:", 1)[1]) == "concerns":
                return "Quantum banking | Banks in Singapore adopt quantum chips. | 5"
            return super().complete(messages, **kwargs)

    extractor = TunedExtractor(Unsupported(responder=scripted().responder), embedder=embedder)
    article = extractor.extract(document())
    assert article.concerns and not article.incomplete
    assert all(is_verbatim(c.evidence, ARTICLE) for c in article.concerns)
    assert any("worry" in c.evidence for c in article.concerns)
    assert not any("Quantum" in c.name for c in article.concerns)
    quoted = [
        i.evidence for kind in ("signals", "behaviors", "issues") for i in article.items(kind)
    ]
    assert not set(c.evidence for c in article.concerns) & set(quoted)
    assert extractor.last_report.tables_asked_again == 1
    assert extractor.last_report.tables_from_sentences == 1


@pytest.fixture(scope="module")
def shipped_record(embedder: MiniLMEmbedder) -> tuple[Article, ExtractionReport]:
    """Seed article 000 through the default extractor: the packaged SmolLM2 with the shipped
    adapter, in its worker process (computed once)."""
    from tests.extract_fixtures import seed_document

    extractor = make_extractor(Settings(), embedder)
    assert isinstance(extractor, TunedExtractor)
    return extractor.extract(seed_document()), extractor.last_report


@pytest.mark.slow
def test_the_default_model_writes_a_complete_grounded_record(
    shipped_record: tuple[Article, ExtractionReport],
) -> None:
    from tests.extract_fixtures import SEED_ARTICLE

    article, report = shipped_record
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    assert not article.incomplete, article.missing_sections()
    assert article.extractor == "llamacpp:smollm2+smollm2-signalkb"
    assert len(article.summary.split()) >= 12 and article.keywords and article.themes
    assert article.category and article.type
    rows = [item for _, _, item in article.all_items()]
    assert rows and all(is_verbatim(item.evidence, text) for item in rows)
    names = [item.name.lower() for item in rows]
    assert len(names) == len(set(names)), "no row twice, in one table or across tables"
    assert report.seconds > 0 and report.rows_written > 0


@pytest.mark.slow
def test_the_default_model_writes_cells_a_reader_keeps(
    shipped_record: tuple[Article, ExtractionReport],
) -> None:
    """Signal rows carry all five columns in the model's own words (no template), and no
    cell holds table pipes or link syntax; technologies are no dates, places or people."""
    from ingest.extract.grounding import is_technology
    from tests.extract_fixtures import SEED_ARTICLE

    article, _ = shipped_record
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    for signal in article.signals:
        assert signal.change and signal.ten_year and signal.driving_force
        assert not signal.change.startswith("Transition towards")
        assert "may be commonplace" not in signal.ten_year
    for _, _, item in article.all_items():
        for cell in (item.name, item.description):
            assert "|" not in cell and "](" not in cell, cell
    assert all(is_technology(t.name, text) for t in article.technologies)
