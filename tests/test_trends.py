"""Trends: clusters of rows across articles, technology names merged, momentum from counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kb.embed import MiniLMEmbedder
from kb.filters import Filters
from kb.records import Technology
from kb.store import Store
from kb.trends import canonical_name, compute_trends, momentum, technology_key
from tests.kb_fixtures import make_article


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("kb"), embedder=MiniLMEmbedder())
    articles = []
    spellings = ["GPT-4", "GPT 4", "gpt4", "GPT-4"]
    for month, spelling in zip((1, 3, 5, 6), spellings, strict=True):
        tech = Technology(name=spelling, description="OpenAI's large model.", relevancy=3)
        articles.append(
            make_article(
                "slm",
                url=f"https://news.example/slm-{month}",
                published=date(2024, month, 10),
                technologies=[tech],
            )
        )
    articles.append(make_article("energy", published=date(2024, 6, 20), relevancy=5))
    articles.append(make_article("robots", published=date(2024, 6, 25)))
    store.add_many(articles)
    return store


def test_shared_signals_form_one_trend(store: Store) -> None:
    trends = compute_trends(store)
    assert len(trends) == 1  # the other signals appear in one article each
    trend = trends[0]
    assert trend.name == "Shift towards small language models"
    assert trend.kind == "signals" and trend.size == 4 and len(trend.article_ids) == 4
    assert (trend.first_seen, trend.last_seen) == (date(2024, 1, 10), date(2024, 6, 10))
    assert trend.monthly == {"2024-01": 1, "2024-03": 1, "2024-05": 1, "2024-06": 1}
    assert trend.mean_relevancy == 4.0
    assert trend.members[0].item.name == trend.name
    singles = compute_trends(store, min_articles=1)
    assert len(singles) == 3 and singles[0] == trend


def test_technology_spellings_are_one_trend(store: Store) -> None:
    trends = compute_trends(store, kind="technologies")
    assert [(t.name, t.size) for t in trends] == [("GPT-4", 5)]
    recent = compute_trends(store, kind="technologies", filters=Filters.of(since=date(2024, 5, 1)))
    assert recent[0].size == 3 and recent[0].first_seen == date(2024, 5, 10)
    # Trends take every filter: no technology row is that relevant, no two articles that early.
    top = compute_trends(store, kind="technologies", filters=Filters.of(min_relevancy=5))
    assert top == [] and compute_trends(store, filters=Filters.of(until=date(2024, 2, 1))) == []
    themed = compute_trends(store, filters=Filters.of(theme="Edge computing"), min_articles=1)
    assert {t.name for t in themed} == {"Shift towards small language models"}


def test_momentum_labels() -> None:
    ref = date(2024, 12, 15)
    assert momentum({"2024-11": 2}, date(2024, 11, 1), ref) == "new"
    assert momentum({"2024-01": 3, "2024-02": 2}, date(2024, 1, 1), ref) == "fading"
    assert momentum({"2024-05": 1, "2024-08": 1, "2024-11": 3}, date(2024, 5, 1), ref) == "rising"
    assert momentum({"2024-07": 2, "2024-10": 2}, date(2024, 7, 1), ref) == "steady"
    assert momentum({"2024-07": 3, "2024-10": 1}, date(2024, 7, 1), ref) == "fading"
    assert momentum({}, None, ref) == "undated"
    # one article is no trend, however many of its rows are recent
    assert momentum({"2024-11": 3}, date(2024, 11, 1), ref, articles=1) == "single"
    assert momentum({"2024-07": 2, "2024-10": 2}, date(2024, 7, 1), ref, articles=1) == "single"


def test_technology_names_normalise() -> None:
    assert len({technology_key(n) for n in ("GPT-4", "GPT 4", "gpt4", "Gpt_4")}) == 1
    assert technology_key("Small Language Models (SLMs)") == technology_key("small language model")
    assert technology_key("GPT-4") != technology_key("GPT-4o")
    assert canonical_name("gpt 4", ["Phi-3", "GPT-4"]) == "GPT-4"
    assert canonical_name("Gemma 3", ["Phi-3", "GPT-4"]) == "Gemma 3"


def test_empty_store_has_no_trends(tmp_path: Path) -> None:
    assert compute_trends(Store(tmp_path / "kb", embedder=MiniLMEmbedder())) == []
