"""Grounding of abstractive rows and summaries, with the real MiniLM embedder.

The article snippets here are written for these tests (no third-party text).
"""

from __future__ import annotations

from typing import Any

import pytest

from ingest.extract.grounding import (
    ArticleSentences,
    Embed,
    evidence_for,
    foreign_terms,
    ground_rows,
    ground_summary,
    is_technology,
    named_technologies,
)
from ingest.extract.text import is_verbatim, sentences
from kb.embed import MiniLMEmbedder
from kb.records import Behavior, Concern, Issue, Signal, Technology

ARTICLE = """# Running language models at home

Hobbyists now run small language models on their own laptops instead of paying for cloud APIs.
The most popular route is llama.cpp, a C++ runtime that loads quantised weights in the GGUF format.
Many users reach llama.cpp through Ollama, a friendly command-line tool, while vLLM serves models \
on a GPU for many users at once.
Many developers fine-tune models with LoRA adapters in PyTorch before they export them.
A 4-bit model of seven billion parameters needs about 5 GB of memory, roughly 20% of what the \
full-precision weights take.
Acme Robotics, a Brussels-based company, announced in January 2026 that it ships such models on \
its 1,200 warehouse robots in Belgium.
"Local models keep customer data on the device," said Maria Keller, CEO of Acme Robotics.
Critics warn that small models still invent facts and make more mistakes than large ones.
Regulators in the European Union are debating whether local models fall under the AI Act.
"""


@pytest.fixture(scope="session")
def embed() -> Embed:
    """The real MiniLM, loaded once for the session."""
    embedder = MiniLMEmbedder()
    embedder.embed(["warm up"])
    return embedder.embed


@pytest.fixture(scope="module")
def article(embed: Embed) -> ArticleSentences:
    """ARTICLE's sentences, embedded once."""
    return ArticleSentences.of(ARTICLE, embed)


def _row(cls: type, name: str, description: str, **extra: Any) -> Any:
    return cls(name=name, description=description, relevancy=3, **extra)


def _signal(name: str, description: str, **cells: str) -> Signal:
    values = {
        "change": "From cloud services to models on personal laptops.",
        "ten_year": "Most people may run a language model on their own device.",
        "driving_force": "Lower costs of local hardware and privacy of customer data.",
    }
    return Signal(name=name, description=description, relevancy=4, **(values | cells))


# -- evidence ---------------------------------------------------------------------------------


def test_evidence_is_the_supporting_sentence_verbatim(embed: Embed) -> None:
    sents = sentences(ARTICLE)
    found = evidence_for(
        "Shift to personal hardware. People stop renting cloud AI and run models on laptops.",
        sents,
        embed,
    )
    assert found is not None
    assert found.sentence.text.startswith("Hobbyists now run small language models")
    assert is_verbatim(found.sentence.text, ARTICLE)
    assert 0.35 <= found.score <= 1.0


def test_evidence_for_an_abstraction_in_other_words(
    embed: Embed, article: ArticleSentences
) -> None:
    index = article
    claim = "Fabricated Answers. Compact models make things up more often than big ones."
    found = evidence_for(claim, index, embed)
    assert found is not None and "invent facts" in found.sentence.text


def test_no_evidence_for_an_unrelated_claim(embed: Embed, article: ArticleSentences) -> None:
    index = article
    assert evidence_for("Coral reefs bleach as ocean temperatures climb", index, embed) is None
    assert evidence_for("", index, embed) is None
    assert evidence_for("Anything at all", [], embed) is None


# -- foreign terms ----------------------------------------------------------------------------


def test_names_the_article_has_are_not_foreign() -> None:
    assert foreign_terms("Maria Keller says Acme Robotics' robots run llama.cpp.", ARTICLE) == []
    assert foreign_terms("OLLAMA and VLLM serve models; PyTorch trains them.", ARTICLE) == []
    # acronym for a name the article spells out, and an adjective of a place it names
    assert foreign_terms("Lawmakers in the EU discuss local AI.", ARTICLE) == []
    assert foreign_terms("A European debate on local models.", ARTICLE) == []


def test_people_products_places_the_article_lacks_are_foreign() -> None:
    assert foreign_terms("John Smith praises local models.", ARTICLE) == ["John Smith"]
    assert foreign_terms("Robots run Gemini on site.", ARTICLE) == ["Gemini"]
    assert foreign_terms("Acme Robotics expands to Japan.", ARTICLE) == ["Japan"]
    assert foreign_terms("Ollama competes with LM Studio.", ARTICLE) == ["LM Studio"]


def test_numbers_are_normalised() -> None:
    assert foreign_terms("Quantised weights take 20 percent of the memory.", ARTICLE) == []
    assert foreign_terms("It has 1200 robots and 7 billion parameters.", ARTICLE) == []
    assert foreign_terms("A 4-bit model needs 5 GB.", ARTICLE) == []
    assert foreign_terms("It has 1,500 robots.", ARTICLE) == ["1,500"]
    assert foreign_terms("Memory falls by 35%.", ARTICLE) == ["35%"]


def test_capitalised_words_at_a_sentence_start_or_in_a_title_are_not_names() -> None:
    assert foreign_terms("Growing interest. Enthusiasts adopt local inference.", ARTICLE) == []
    assert foreign_terms("Traditional Cloud Subscription Decline", ARTICLE) == []
    # ...but a model-like name is one wherever it stands
    assert foreign_terms("GPT-35 Adoption Rises", ARTICLE) == ["GPT-35"]


# -- rows -------------------------------------------------------------------------------------


def test_ground_rows_keeps_supported_rows_with_evidence_and_reports_drops(embed: Embed) -> None:
    rows = [
        _signal(
            "Personal AI Hardware Revival",
            "Hobbyists move from paid cloud services to language models on their laptops.",
        ),
        _row(Concern, "Fabricated Answers", "Compact models invent facts more often."),
        _row(Behavior, "Celebrity Endorsement", "John Smith urges fans to run local models."),
        _row(Technology, "llama.cpp", "A C++ runtime that loads quantised GGUF weights."),
        _row(Technology, "January 2026", "When Acme Robotics announced local models."),
        _row(Issue, "Ocean Heat", "Coral reefs bleach as ocean temperatures climb."),
    ]
    report = ground_rows(rows, ARTICLE, embed)
    assert [r.name for r in report.rows["signals"]] == ["Personal AI Hardware Revival"]
    assert [r.name for r in report.rows["concerns"]] == ["Fabricated Answers"]
    assert [r.name for r in report.rows["technologies"]] == ["llama.cpp"]
    assert report.rows["behaviors"] == [] and report.rows["issues"] == []
    for kind_rows in report.rows.values():
        for row in kind_rows:
            assert row.evidence and is_verbatim(row.evidence, ARTICLE)
    assert "Hobbyists" in report.rows["signals"][0].evidence
    assert "invent facts" in report.rows["concerns"][0].evidence
    assert report.counts == {"foreign_terms": 1, "not_technology": 1, "no_evidence": 1}
    assert report.message() == "3 rows dropped (1 foreign_terms, 1 not_technology, 1 no_evidence)"
    dropped = {d.item.name: d.detail for d in report.dropped}
    assert dropped["Celebrity Endorsement"] == "John Smith"


def test_foreign_terms_in_signal_cells_drop_the_signal(
    embed: Embed, article: ArticleSentences
) -> None:
    name, desc = "Local Models Spread", "Small language models run on laptops and robots."
    rows = {
        "signals": [
            _signal(name, desc),
            _signal(name, desc, ten_year="By 2040 Nvidia chips may be in every home."),
        ]
    }
    report = ground_rows(rows, ARTICLE, embed, sentences=article)
    assert len(report.rows["signals"]) == 1
    assert report.rows["signals"][0].ten_year.startswith("Most people")
    assert report.dropped[0].reason == "foreign_terms"
    assert report.dropped[0].detail == "Nvidia, 2040"


def test_a_row_repeated_in_another_table_is_kept_once_where_it_fits(
    embed: Embed, article: ArticleSentences
) -> None:
    desc = "Critics warn that small models invent facts and make more mistakes."
    rows = {
        "issues": [_row(Issue, "Small models invent facts", desc)],
        "concerns": [_row(Concern, "Small models invent facts", desc)],
        "behaviors": [_row(Behavior, "Developers fine-tune with LoRA", "They use PyTorch.")],
    }
    report = ground_rows(rows, ARTICLE, embed, sentences=article)
    assert [r.name for r in report.rows["concerns"]] == ["Small models invent facts"]
    assert report.rows["issues"] == []
    assert len(report.rows["behaviors"]) == 1
    assert report.counts == {"duplicate": 1}
    assert report.dropped[0].kind == "issues"


def test_the_same_row_name_in_two_tables_is_one_row_whatever_the_descriptions(
    embed: Embed, article: ArticleSentences
) -> None:
    rows = {
        "behaviors": [
            _row(
                Behavior,
                "Small models invent facts",
                "Critics warn that small models invent facts.",
            )
        ],
        "issues": [
            _row(
                Issue, "small  models invent FACTS", "Small models make more mistakes, critics say."
            )
        ],
    }
    report = ground_rows(rows, ARTICLE, embed, sentences=article)
    assert sum(len(kept) for kept in report.rows.values()) == 1
    assert report.counts == {"duplicate": 1}


# -- summary ----------------------------------------------------------------------------------


def test_summary_sentences_with_invented_names_or_numbers_are_dropped() -> None:
    summary = (
        "The article describes hobbyists running small language models on laptops with "
        "llama.cpp and Ollama. It claims a 104% victory rate against GPT-35 (Gentleman). "
        "Acme Robotics ships such models on 1,200 robots in Belgium. "
        "It also mentions faster internet access through Wi-Fi 6."
    )
    kept, dropped = ground_summary(summary, ARTICLE)
    assert kept == (
        "The article describes hobbyists running small language models on laptops with "
        "llama.cpp and Ollama. Acme Robotics ships such models on 1,200 robots in Belgium."
    )
    assert len(dropped) == 2
    assert "104%" in dropped[0] and "Wi-Fi 6" in dropped[1]
    assert foreign_terms(dropped[0], ARTICLE) == ["GPT-35", "Gentleman", "104%"]


# -- technologies -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["January 2026", "2026", "Brussels-based", "Brussels", "Belgium", "Acme Robotics",
     "Maria Keller", "AI Act", "European Union", "CEO", "Q3 2025", "Carlisle Bridge",
     "Lake District", "Microsoft Research", "BBC North West Tonight", "Real-World Example",
     "Key Benefits"],
)  # fmt: skip
def test_not_technologies(name: str) -> None:
    assert not is_technology(name, ARTICLE)


@pytest.mark.parametrize(
    "name",
    ["llama.cpp", "Ollama", "vLLM", "GGUF", "PyTorch", "LoRA adapters", "GPT-4",
     "Quantised language models", "Warehouse robots", "Google Gemini", "Meta Llama 3",
     "Network Bridge"],
)  # fmt: skip
def test_technologies(name: str) -> None:
    assert is_technology(name, ARTICLE)


def test_named_technologies_finds_what_the_article_names() -> None:
    found = named_technologies(ARTICLE)
    for name in ("llama.cpp", "GGUF", "Ollama", "vLLM", "LoRA", "PyTorch"):
        assert name in found
    for name in ("January 2026", "Brussels", "Belgium", "Acme Robotics", "Maria Keller", "GB",
                 "CEO", "AI Act", "European Union"):  # fmt: skip
        assert name not in found
    assert found.index("llama.cpp") < found.index("PyTorch")  # order of first mention


def test_named_technologies_from_lists_and_appositions() -> None:
    text = (
        "Teams compared several runtimes such as Ollama, Kobold and Tabby on the same laptop. "
        "Mistral, a French company, released Codestral, a model for writing code. "
        "Sarah Lee, a researcher at the lab, said the results surprised her."
    )
    found = named_technologies(text)
    assert {"Ollama", "Kobold", "Tabby", "Codestral"} <= set(found)
    assert "Mistral" not in found and "Sarah Lee" not in found


def test_named_technologies_multiword_methods_people_and_phrases() -> None:
    text = (
        "Tracy DeTomasi, CEO of Widgetworks, said so. Banks now test Fully Homomorphic "
        "Encryption and Dall-E. Cheap sodium-ion batteries store solar power. Makers say "
        "sodium-ion batteries last longer in the cold."
    )
    found = named_technologies(text)
    assert {"Fully Homomorphic Encryption", "Dall-E"} <= set(found)
    assert "Tracy DeTomasi" not in found and "DeTomasi" not in found
    assert "sodium-ion batteries" not in found
    assert "sodium-ion batteries" in named_technologies(text, phrases=True)
