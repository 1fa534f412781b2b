"""Fast unit tests of the code around the model, on deterministic fakes."""

from __future__ import annotations

import json
import time

from ingest.document import Document
from ingest.extract import ScriptedChatModel, SLMExtractor
from ingest.extract.asking import Asker, Budget
from ingest.extract.assembly import check_evidence
from ingest.extract.base import Message
from ingest.extract.schema import coerce_field, errors
from ingest.extract.text import (
    cell_text,
    is_name_list,
    is_speaker,
    is_verbatim,
    named_terms,
    plain,
    sentences,
    split_chunks,
    split_label,
    tech_phrases,
)
from kb.embed import HashEmbedder

SCHEMA = {
    "type": "object",
    "properties": {
        "category": {"type": "string", "enum": ["technology", "policy"]},
        "type": {"type": "string", "enum": ["news", "blog post"]},
    },
    "required": ["category", "type"],
}
TEXT = (
    "Companies now deploy small language models on laptops to cut cloud costs. "
    "Regulators worry that cheap models make disinformation easier to produce. "
    "Researchers at Acme released Widget-7B, a model trained on public data. "
    "The debate over open weights and safety continues in parliament."
)


def fake_reply(messages: list[Message], schema: object) -> str:
    prompt = messages[-1].content
    if schema is not None:
        return json.dumps({"kind": "model", "category": "technology", "type": "news"})
    if prompt.startswith("Title:"):
        return "The article discusses small models. It notes their costs."
    return prompt.split("\n")[0].removeprefix("Sentence: ")


def extractor(model: ScriptedChatModel, **kwargs: object) -> SLMExtractor:
    return SLMExtractor(model, embedder=HashEmbedder(), **kwargs)  # type: ignore[arg-type]


def doc(text: str) -> Document:
    return Document(source="t", url="https://example.com/a", title="Small models", text=text)


def test_schema_errors_name_what_is_wrong() -> None:
    assert errors({"category": "technology", "type": "news"}, SCHEMA) == []
    problems = errors({"category": "sports"}, SCHEMA)
    assert "$.type is missing" in problems
    assert any("one of: technology, policy" in p for p in problems)


def test_coerce_field_reads_plain_answers() -> None:
    assert coerce_field("It is a Blog Post.", SCHEMA["properties"]["type"]) == "blog post"
    assert coerce_field("no idea", SCHEMA["properties"]["type"]) is None
    assert coerce_field("4", {"type": "integer", "minimum": 1, "maximum": 5}) == 4


def test_ask_json_retries_with_the_errors_then_accepts() -> None:
    model = ScriptedChatModel('{"category": "sports"}', '{"category": "policy", "type": "news"}')
    answer = Asker(model, Budget(60.0)).ask_json("Which?", SCHEMA, max_tokens=20)
    assert answer == {"category": "policy", "type": "news"}
    retry_prompt = model.history[1][0][-1].content
    assert "not valid" in retry_prompt and "$.type is missing" in retry_prompt


def test_ask_json_repairs_field_by_field_after_a_failed_retry() -> None:
    model = ScriptedChatModel("not json", '{"category": "policy"}', "This is news.")
    answer = Asker(model, Budget(60.0)).ask_json("Which?", SCHEMA, max_tokens=20)
    assert answer == {"category": "policy", "type": "news"}
    assert "Choose one of: news, blog post" in model.history[2][0][-1].content


def test_evidence_is_kept_repaired_or_dropped() -> None:
    sents = sentences(TEXT)
    kept = {"name": "x", "evidence": "Regulators worry that cheap models"}
    assert check_evidence(kept, TEXT, sents) == kept
    recased = check_evidence({"name": "x", "evidence": "regulators WORRY that"}, TEXT, sents)
    assert recased is not None and recased["evidence"] == "Regulators worry that"
    paraphrase = {"name": "x", "evidence": "Acme researchers released Widget-7B trained on data"}
    repaired = check_evidence(paraphrase, TEXT, sents)
    assert repaired is not None and repaired["evidence"].startswith("Researchers at Acme")
    assert check_evidence({"name": "x", "evidence": "Bananas grow in Peru"}, TEXT, sents) is None


def test_time_limit_returns_a_valid_incomplete_record_in_time() -> None:
    def slow(messages: list[Message], schema: object) -> str:
        time.sleep(0.2)
        return fake_reply(messages, schema)

    start = time.monotonic()
    record = extractor(ScriptedChatModel(responder=slow), timeout=0.5).extract(doc(TEXT))
    assert time.monotonic() - start < 2
    assert record.incomplete
    assert record.summary  # what was done before the limit is kept


def test_long_text_is_chunked_and_rows_merged_across_chunks() -> None:
    paragraph = TEXT + "\n"
    long_text = paragraph * 400  # ~16,000 words, the same four sentences over and over
    chunks = split_chunks(long_text, 900)
    assert len(chunks) > 10 and all(len(c.split()) <= 900 for c in chunks)
    model = ScriptedChatModel(responder=fake_reply)
    record = extractor(model, max_chunks=4).extract(doc(long_text))
    for _, _, item in record.all_items():
        assert is_verbatim(item.evidence, long_text)
    for kind in ("signals", "concerns", "behaviors", "issues"):
        evidence = [item.evidence for item in record.items(kind)]
        assert len(evidence) == len(set(evidence))  # the same sentence is one row
    prompts = [m[-1].content for m, _ in model.history]
    assert sum("Write a one-paragraph summary" in p for p in prompts) == 4  # one per chunk
    assert sum("Summaries of the parts" in p for p in prompts) == 1  # merged once


def test_enormous_single_line_is_cut_into_chunks() -> None:
    chunks = split_chunks("word " * 100_000, 900)
    assert len(chunks) == 112 and max(len(c.split()) for c in chunks) == 900


def test_code_or_table_only_text_gives_a_valid_record() -> None:
    code = "\n".join(f"| model-{i} | {i}B | {i * 3} ms |" for i in range(30))
    code += "\n```python\nfor i in range(10):\n    print(i)\n```"
    record = extractor(ScriptedChatModel(responder=fake_reply)).extract(doc(code))
    assert record.incomplete == bool(record.missing_sections() or not record.themes)
    for _, _, item in record.all_items():
        assert is_verbatim(item.evidence, code)


def test_tech_phrases_find_lower_case_technologies() -> None:
    found = dict(tech_phrases("A reporter ran the image through an AI chatbot. Foundation models"))
    assert "ai chatbot" in found


def test_plain_keeps_link_text_and_drops_addresses() -> None:
    text = (
        "We tuned [Mistral 7B](https://h.example/mistralai/Mistral-7B-v0.1) on "
        "**our** data ![logo](https://x.example/l.png) [](https://github.example/org/tool); "
        "see https://a.example/b."
    )
    assert plain(text) == "We tuned Mistral 7B on our data ; see ."


def test_cell_text_drops_a_table_rows_pipes() -> None:
    """A markdown table row quoted as evidence becomes a cell a reader can read: the cell
    naming the row's subject, or the row's label and its longest cell."""
    row = "|Real-World Example|Phi-3: Developed by [Microsoft](https://m.example), it codes.|"
    assert cell_text(row, "Phi-3") == "Phi-3: Developed by Microsoft, it codes."
    assert cell_text(row) == "Real-World Example: Phi-3: Developed by Microsoft, it codes."
    assert cell_text("\\|Lower Cost\\|Due to modest hardware, SLMs are cheap.") == (
        "Lower Cost: Due to modest hardware, SLMs are cheap."
    )
    assert cell_text("No table here.") == "No table here."


def test_named_terms_skip_link_addresses_and_bullet_labels() -> None:
    text = (
        "- Cost-Effectiveness: SLMs like Mistral 7B cut costs.\n"
        "We use [OpenChat](https://h.example/OpenAccess-AI-Collective/openchat) packing."
    )
    terms = dict(named_terms(text))
    assert "Mistral 7B" in terms and "OpenChat" in terms
    assert not any("Collective" in t or "Effectiveness" in t for t in terms)


def test_split_label_refuses_sentences_that_merely_contain_a_colon() -> None:
    assert split_label("Cost-Effectiveness: SLMs are cheap.") == (
        "Cost-Effectiveness",
        "SLMs are cheap.",
    )
    sentence = "This release provides a first: a fully open model."
    assert split_label(sentence) == ("", sentence)


def test_speakers_and_bylines_are_told_from_technologies() -> None:
    text = "Network Rail said the line reopened. The Axolotl trainer packs samples."
    assert is_speaker("Network Rail", text) and not is_speaker("Axolotl", text)
    assert is_name_list("Rishi Bommasani and Kevin Klyman and Daniel Zhang and Percy Liang")
    assert not is_name_list("Researchers at Acme released Widget-7B, a model trained on data.")


def test_a_sentence_serves_at_most_two_tables() -> None:
    record = extractor(ScriptedChatModel(responder=fake_reply)).extract(doc(TEXT))
    uses: dict[str, int] = {}
    for kind in ("signals", "concerns", "behaviors", "issues"):
        for item in record.items(kind):
            uses[item.evidence] = uses.get(item.evidence, 0) + 1
    assert uses and max(uses.values()) <= 2


def test_calls_to_action_are_not_chosen_as_evidence() -> None:
    cta = "If you'd like to try the new model now, sign up for our newsletter below:"
    text = TEXT + "\n" + cta
    record = extractor(ScriptedChatModel(responder=fake_reply), rows_per_table=1).extract(doc(text))
    evidence = [
        item.evidence
        for kind in ("signals", "concerns", "behaviors", "issues")
        for item in record.items(kind)
    ]
    assert len(evidence) == 4 and cta not in evidence
