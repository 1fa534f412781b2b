"""Hybrid search, filters, paging and "similar to" on a real chromadb with real MiniLM."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest

from kb.embed import HashEmbedder, MiniLMEmbedder
from kb.errors import NotFoundError
from kb.filters import Filters
from kb.index import RowIndex, tokenize
from kb.records import Article
from kb.search import search, similar_articles, similar_items
from kb.store import Store, item_metadata
from tests.kb_fixtures import make_article


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("kb"), embedder=MiniLMEmbedder())
    store.add_many(
        [
            make_article("slm", published=date(2024, 1, 15), site="a.example"),
            make_article("energy", published=date(2024, 6, 1), relevancy=5, site="b.example"),
            make_article("robots", published=date(2025, 3, 1), relevancy=2, site="a.example"),
        ]
    )
    return store


def test_paraphrase_finds_the_signal(store: Store) -> None:
    hits = search(
        store, "artificial intelligence uses a lot of electricity", Filters.of(kinds=("signals",))
    )
    assert hits[0].row.item.name == "AI drives electricity demand"
    assert hits[0].score >= hits[-1].score


def test_exact_name_is_found_by_keyword(store: Store) -> None:
    for query in ("Phi-3", "phi3", "PHI 3"):
        assert search(store, query, limit=1)[0].row.item.name == "Phi-3"
    best = search(store, "Phi-3", limit=1, mode="keyword")[0]
    assert best.row.item.name == "Phi-3" and best.keyword is not None and best.keyword > 0


def test_modes_report_their_parts(store: Store) -> None:
    hybrid = search(store, "robots in warehouses", limit=3)
    assert all(h.similarity is not None for h in hybrid)
    assert 0 < hybrid[0].score <= 1.0
    vector = search(store, "robots in warehouses", limit=3, mode="vector")
    assert vector[0].score == vector[0].similarity
    assert search(store, "zzzz qqqq", mode="keyword") == []


def test_filters(store: Store) -> None:
    def titles(**filters: object) -> set[str]:
        return {
            h.row.title for h in search(store, "models and power", Filters.of(**filters), limit=50)
        }

    assert titles(min_relevancy=5) == {"Data centres strain the power grid"}
    assert titles(since=date(2025, 1, 1)) == {"Warehouse robots learn from video"}
    assert titles(until=date(2024, 3, 1)) == {"Small language models move onto phones"}
    assert titles(site="a.example") == {
        "Small language models move onto phones",
        "Warehouse robots learn from video",
    }
    assert titles(technology="GPT 4") == {"Data centres strain the power grid"}
    assert titles(theme="Edge computing") == {"Small language models move onto phones"}
    assert titles(theme="unknown theme") == set()
    kinds = {
        h.row.kind
        for h in search(store, "models", Filters.of(kinds=("issues", "concerns")), limit=50)
    }
    assert kinds == {"issues", "concerns"}


def test_paging_is_a_window_of_the_full_ranking(store: Store) -> None:
    full = search(store, "small models", limit=6)
    assert [h.row.id for h in search(store, "small models", limit=3, offset=3)] == [
        h.row.id for h in full[3:6]
    ]
    assert search(store, "   ") == []


def test_similar_items_and_articles(store: Store) -> None:
    signal = search(store, "AI drives electricity demand", Filters.of(kinds=("signals",)), limit=1)[
        0
    ].row
    similar = similar_items(store, signal.id, limit=4)
    assert signal.id not in {h.row.id for h in similar} and len(similar) == 4
    assert similar[0].score >= similar[-1].score
    with pytest.raises(NotFoundError):
        similar_items(store, "nope")
    pairs = similar_articles(store, signal.article_id, limit=5)
    assert len(pairs) == 2 and signal.article_id not in {a.id for a, _ in pairs}
    with pytest.raises(NotFoundError):
        similar_articles(store, "nope")


def test_search_follows_writes(tmp_path: Path) -> None:
    store = Store(tmp_path / "kb", embedder=HashEmbedder())
    article = make_article("robots")
    store.add(article)
    assert search(store, "robots", limit=1)[0].row.article_id == article.id
    renamed = article.technologies[0].model_copy(update={"name": "Octo-2 policy"})
    store.add(article.model_copy(update={"technologies": [renamed]}))
    assert search(store, "Octo-2", limit=1)[0].row.item.name == "Octo-2 policy"
    assert search(store, "Diffusion", Filters.of(kinds=("technologies",)), mode="keyword") == []
    store.delete(article.id)
    assert search(store, "robots") == []


def test_tokenize_keeps_names_whole_and_joined() -> None:
    assert tokenize("Phi-3 and GPT-4o.") == [
        "phi-3",
        "phi3",
        "phi",
        "3",
        "gpt-4o",
        "gpt4o",
        "gpt",
        "4o",
    ]


def test_large_keyword_index_rebuilds_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("kb.index.EXACT_MAX", 2)
    index = RowIndex(HashEmbedder.dim)

    def add(article: Article) -> None:
        rows = article.all_items()
        docs = [item.text() for *_, item in rows]
        index.add(
            [f"{article.id}:{kind}:{i}" for kind, i, _ in rows],
            np.asarray(HashEmbedder().embed(docs), dtype=np.float32),
            [item_metadata(article, kind, item) for kind, _, item in rows],
            docs,
        )

    add(make_article("slm"))
    assert index.item(index.keyword_top("Phi-3", None, 1)[0][0]).item.name == "Phi-3"
    robots = make_article("robots")
    add(robots)
    index.keyword_top("Diffusion", None, 1)  # starts the rebuild, answers from the old index
    thread = index._bm25_thread
    if thread is not None:
        thread.join()
    assert index.item(index.keyword_top("Diffusion", None, 1)[0][0]).item.name == "Diffusion policy"
    index.remove_articles([robots.id])
    assert index.keyword_top("Diffusion", None, 1) == []  # removed rows are masked at once
