"""The store on a real chromadb in tmp_path: writes, reads, rollback, cache, in-memory index."""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from kb.embed import ChromaEmbedding, HashEmbedder, MiniLMEmbedder
from kb.errors import NotFoundError, StoreError
from kb.filters import Filters
from kb.index import RowIndex, StoredItem
from kb.records import KINDS, Kind, Technology
from kb.store import Store, item_metadata
from tests.kb_fixtures import make_article


class CountingEmbedder(HashEmbedder):
    """HashEmbedder that counts the texts it is asked to embed."""

    calls: ClassVar[list[str]] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Record the texts, then embed them."""
        self.calls.extend(texts)
        return super().embed(texts)


def rows_indexed(store: Store) -> int:
    """Rows in the store's in-memory index."""
    with store.reading() as index:
        return len(index)


def nearest(
    store: Store,
    vector: object,
    *,
    kinds: tuple[Kind, ...] = KINDS,
    min_relevancy: int = 1,
    limit: int = 10,
    **filters: object,
) -> list[tuple[StoredItem, float]]:
    """Rows nearest to a vector through the store's index, as vector search finds them."""
    store.check_embedder()
    with store.reading() as index:
        mask = index.mask(Filters.of(kinds=kinds, min_relevancy=min_relevancy, **filters))  # type: ignore[arg-type]
        query = np.asarray(vector, dtype=np.float32)
        return [
            (index.item(at), score)
            for at, score in index.vector_top(query, mask, limit, ann=store.ann)
        ]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "kb", embedder=HashEmbedder())


def test_add_get_by_id_and_url(store: Store) -> None:
    article = make_article("slm")
    store.add(article)
    assert store.get(article.id) == article
    assert store.get(article.url) == article
    assert store.find_by_url(article.url) == article
    assert store.find_by_url("https://nowhere.example/x") is None
    assert store.count() == {"articles": 1, "rows": 5}


def test_get_unknown_raises_not_found(store: Store) -> None:
    with pytest.raises(NotFoundError) as info:
        store.get("nope")
    assert info.value.source == "nope"


def test_replace_leaves_no_orphan_rows(store: Store) -> None:
    article = make_article("slm")
    store.add(article)
    extra = article.signals[0].model_copy(update={"name": "Second signal"})
    store.add(article.model_copy(update={"signals": [*article.signals, extra], "issues": []}))
    assert store.count() == {"articles": 1, "rows": 5}
    stored = store._cols.rows.get(include=["metadatas"])
    assert sorted(stored["ids"]) == sorted(
        [f"{article.id}:{k}:0" for k in ("signals", "concerns", "behaviors", "technologies")]
        + [f"{article.id}:signals:1"]
    )
    assert store.get(article.id).issues == []


def test_delete_removes_article_and_rows(store: Store) -> None:
    keep, gone = make_article("slm"), make_article("energy")
    store.add_many([keep, gone])
    store.delete(gone.id)
    assert store.count() == {"articles": 1, "rows": 5}
    assert {h.article_id for h, _ in nearest(store, store.embed(["power grid"])[0])} == {keep.id}
    with pytest.raises(NotFoundError):
        store.delete(gone.id)


def test_list_articles_newest_first(store: Store) -> None:
    old = make_article("slm", published=date(2023, 1, 1))
    new = make_article("energy", published=date(2025, 1, 1))
    undated = make_article("robots", published=None)
    store.add_many([old, undated, new])
    assert [a.id for a in store.list_articles()] == [new.id, old.id, undated.id]
    assert sorted(a.id for a in store.articles_iter()) == sorted([old.id, new.id, undated.id])


def test_pending_write_is_rolled_back_on_open(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    store = Store(home, embedder=HashEmbedder())
    done, crashed, running = make_article("slm"), make_article("energy"), make_article("robots")
    store.add(done)
    # What a crash halfway through add() leaves: an unfinished journal entry and some rows.
    # The same for a write still in progress elsewhere, which must be left alone.
    hour_ago = time.time_ns() - 3600 * 10**9
    for article, at in ((crashed, hour_ago), (running, time.time_ns())):
        kind, _, item = article.all_items()[0]
        store._cols.journal._collection.add(
            ids=[f"change:{article.id}"],
            embeddings=[[1.0]],
            metadatas=[{"articles": article.id, "done": False, "at": at}],
        )
        store._cols.rows.add(
            ids=[f"{article.id}:{kind}:0"],
            embeddings=store.embed([item.text()]).tolist(),
            metadatas=[item_metadata(article, kind, item)],
        )
    reopened = Store(home, embedder=HashEmbedder())
    assert reopened.count() == {"articles": 1, "rows": 6}
    left = {m["article_id"] for m in reopened._cols.rows.get(include=["metadatas"])["metadatas"]}
    assert left == {done.id, running.id}
    assert reopened.get(done.id) == done
    unfinished = reopened._cols.journal._collection.get(where={"done": False})["ids"]
    assert unfinished == [f"change:{running.id}"]


def test_index_follows_writes_of_another_store(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    reader, writer = Store(home, embedder=HashEmbedder()), Store(home, embedder=HashEmbedder())
    assert rows_indexed(reader) == 0
    writer.add(make_article("robots"))
    reader._live._checked_at = 0.0  # skip the one-second wait between journal checks
    assert rows_indexed(reader) == 5


def test_embeddings_computed_once_per_text(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    CountingEmbedder.calls.clear()
    article = make_article("slm")
    Store(home, embedder=CountingEmbedder()).add(article)
    assert len(CountingEmbedder.calls) == 6  # the article head and five rows
    reopened = Store(home, embedder=CountingEmbedder())
    reopened.add(article)
    reopened.reindex()
    assert len(CountingEmbedder.calls) == 6
    assert reopened.count() == {"articles": 1, "rows": 5}


def test_reindex_with_another_model_rebuilds_vectors(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    Store(home, embedder=HashEmbedder()).add(make_article("slm"))
    other = Store(home, embedder=MiniLMEmbedder())
    with pytest.raises(StoreError, match="reindex"):
        nearest(other, np.zeros(384))
    assert other.reindex() == 1
    assert Store(home, embedder=MiniLMEmbedder()).stats()["embedder"] == "all-MiniLM-L6-v2"
    assert len(other._cols.rows.get(include=["embeddings"])["embeddings"][0]) == 384


def test_chroma_uses_our_embedder_and_no_telemetry(store: Store) -> None:
    # Documents added without vectors go through signalkb's embedder, never chroma's
    # downloading default (which `embedding_function=None` would not prevent).
    assert isinstance(store._cols.rows._embedding_function, ChromaEmbedding)
    store._cols.rows.add(ids=["loose"], documents=["a row without a vector"])
    vector = store._cols.rows.get(ids=["loose"], include=["embeddings"])["embeddings"][0]
    assert np.allclose(vector, HashEmbedder().embed(["a row without a vector"])[0], atol=1e-6)
    assert store._client.get_settings().anonymized_telemetry is False


def test_filters_on_the_index(store: Store) -> None:
    store.add_many(
        [
            make_article("slm", published=date(2024, 1, 10), site="a.example"),
            make_article("energy", published=date(2024, 6, 1), relevancy=5, site="b.example"),
            make_article("robots", published=date(2025, 2, 1), relevancy=2, site="a.example"),
        ]
    )
    query = store.embed(["models"])[0]

    def ids(**filters: object) -> set[str]:
        return {row.id.split(":")[1] for row, _ in nearest(store, query, limit=50, **filters)}

    assert ids(kinds=("signals",)) == {"signals"}
    found = nearest(store, query, limit=50, min_relevancy=5)
    assert {row.title for row, _ in found} == {"Data centres strain the power grid"}
    assert {r.published for r, _ in nearest(store, query, limit=50, since=date(2025, 1, 1))} == {
        "2025-02-01"
    }
    assert {r.site for r, _ in nearest(store, query, limit=50, site="www.A.example")} == {
        "a.example"
    }
    by_tech = nearest(store, query, limit=50, technology="gpt 4")
    assert {r.title for r, _ in by_tech} == {"Data centres strain the power grid"}
    by_theme = nearest(store, query, limit=50, theme="Robotics")
    assert {r.title for r, _ in by_theme} == {"Warehouse robots learn from video"}


def test_minilm_store_finds_paraphrase(tmp_path: Path) -> None:
    store = Store(tmp_path / "kb", embedder=MiniLMEmbedder())
    store.add_many([make_article("slm"), make_article("energy"), make_article("robots")])
    query = store.embed(["AI needs a lot of electricity"])[0]
    best, score = nearest(store, query, kinds=("signals",), limit=1)[0]
    assert best.item.name == "AI drives electricity demand"
    assert 0.3 < score <= 1.0


def test_index_snapshot_and_change_log(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    first = Store(home, embedder=HashEmbedder())
    first.add_many([make_article("slm"), make_article("energy")])
    assert rows_indexed(first) == 10
    snapshot = first._live._snapshot_path()
    assert snapshot.exists()
    # Another process writes after the snapshot: a third one starts from the snapshot
    # and applies only the logged change, without reading every row again.
    other = Store(home, embedder=HashEmbedder())
    other.add(make_article("robots"))
    other.delete(make_article("slm").id)
    third = Store(home, embedder=HashEmbedder())
    full_reads: list[object] = []
    original_get = third._cols.rows.get

    def counting_get(*args: object, **kwargs: object) -> object:
        if "offset" in kwargs:
            full_reads.append(kwargs)
        return original_get(*args, **kwargs)

    third._cols.rows.get = counting_get  # type: ignore[method-assign]
    with third.reading() as index:
        titles = {index.item(at).title for at in index.live_slots()}
    assert titles == {"Data centres strain the power grid", "Warehouse robots learn from video"}
    assert full_reads == []
    # A reindex elsewhere replaces the collections: readers reload everything.
    Store(home, embedder=HashEmbedder()).reindex()
    third._live._checked_at = 0.0
    assert rows_indexed(third) == 10 and third._cols.rows.id != first._cols.rows.id


def test_replacing_often_keeps_the_index_compact() -> None:
    article = make_article("slm")
    rows = article.all_items()
    ids = [f"{article.id}:{kind}:{i}" for kind, i, _ in rows]
    metas = [item_metadata(article, kind, item) for kind, _, item in rows]
    docs = [item.text() for *_, item in rows]
    vectors = np.asarray(HashEmbedder().embed(docs), dtype=np.float32)
    index = RowIndex(HashEmbedder.dim)
    for _ in range(600):
        index.remove_articles([article.id])
        index.add(ids, vectors, metas, docs)
    assert len(index) == 5 and index.size <= 1010
    assert sorted(index.ids[at] for at in index.live_slots()) == sorted(ids)
    top = index.vector_top(vectors[0], None, 1)
    assert index.item(top[0][0]).id == ids[0]


def test_a_fresh_load_does_not_reapply_earlier_writes(tmp_path: Path) -> None:
    home = tmp_path / "kb"
    writer = Store(home, embedder=HashEmbedder())
    for topic in ("slm", "energy", "robots"):
        writer.add(make_article(topic))
    shutil.rmtree(home / "index")  # the writer's snapshot: make the first reader load chroma
    for reader in (Store(home, embedder=HashEmbedder()), Store(home, embedder=HashEmbedder())):
        refreshed: list[set[str]] = []
        reader._live._refresh = refreshed.append  # type: ignore[method-assign]
        assert rows_indexed(reader) == 15  # from chroma, then from the snapshot
        reader._live._checked_at = 0.0
        assert rows_indexed(reader) == 15 and refreshed == []


def test_technology_names_reuse_the_stored_spelling(store: Store) -> None:
    store.add(make_article("energy"))  # names "GPT-4"
    spelled = [Technology(name=n, description="OpenAI's model.", relevancy=3) for n in ("gpt4",)]
    newcomer = make_article("slm", technologies=[*spelled, *make_article("slm").technologies])
    store.add(newcomer)
    assert [t.name for t in store.get(newcomer.id).technologies] == ["GPT-4", "Phi-3"]
    fresh = make_article("robots", url="https://b.example/x", technologies=spelled)
    assert store.normalise_names([fresh])[0].technologies[0].name == "GPT-4"
    with store.reading() as index:
        assert index.technology_names()["phi3"] == "Phi-3"


def test_rewrite_after_crash_before_article_entry_leaves_no_orphans(tmp_path: Path) -> None:
    """A write killed after its rows but before its article entry, retried at once (the
    journal mark is still young, so opening does not roll it back), must not keep the
    crashed attempt's rows."""
    home = tmp_path / "kb"
    crashed = Store(home, embedder=HashEmbedder())
    article = make_article("slm")
    extra = article.signals[0].model_copy(update={"name": "Crashed extra signal"})
    bigger = article.model_copy(update={"signals": [*article.signals, extra]})
    vectors = crashed._vectors([bigger])
    crashed._cols.journal.begin(bigger.id)
    crashed._write([bigger], crashed._cols.rows, crashed._cols.articles, vectors)
    crashed._cols.articles.delete(ids=[bigger.id])  # the crash: the article entry never landed
    assert crashed._cols.rows.count() == 6

    restarted = Store(home, embedder=HashEmbedder())
    restarted.add(article)
    assert restarted.count() == {"articles": 1, "rows": 5}
    names = {m["name"] for m in restarted._cols.rows.get(include=["metadatas"])["metadatas"]}
    assert "Crashed extra signal" not in names
