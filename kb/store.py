"""The knowledge base: articles and every row of their tables, embedded, in chromadb.

Collections:
    articles   one entry per article: "title. summary" embedded, the whole record as JSON
    items      one entry per table row: "name. description" embedded, with the article's
               metadata copied beside it (kind, relevancy, date, site, themes, ...)
    journal    one entry per write: which articles, when, and whether it finished

A write is all-or-nothing: a journal entry naming its articles is added (not done), their
old rows go, the new rows and the article entries are added, then the entry is marked
done. Opening a store rolls back the articles of entries a crash left unfinished (older
than a few minutes, so another process's write in progress is left alone), so a reader
never sees half a record. The finished entries are the change log other processes read
to bring their in-memory index up to date.

Vectors come from `kb.embed` through an `EmbeddingCache` (SQLite beside the store), so a
text is embedded once. Searches go through `kb.index.RowIndex`, an in-memory mirror of
the rows loaded on first use (from a snapshot under `home` when there is one) and kept in
step with writes; chromadb stays the durable copy and the one other processes (or a chroma
server's other clients) share.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.config import Settings as ChromaSettings

from kb.embed import ChromaEmbedding, Embedder, EmbeddingCache, MiniLMEmbedder
from kb.errors import NotFoundError, StoreError
from kb.index import RowIndex, StoredItem, date_int, stored_item, technology_key
from kb.records import KINDS, Article, Item, Kind

__all__ = ["Store", "StoredItem", "item_metadata", "make_client", "stored_item"]

ARTICLES = "articles"
ITEMS = "items"
JOURNAL = "journal"
_CRASHED_AFTER_NS = 5 * 60 * 10**9  # an unfinished write this old was interrupted
_NEXT = "_next"  # suffix of the collections a reindex fills before swapping them in
_ADD_BATCH = 2000
_LOAD_BATCH = 5000
_CHANGES_TTL = 1.0  # seconds between looks at the change log for other processes' writes
_CHANGES_MARGIN_NS = 60 * 10**9  # changes this much older than the last one are re-read
_SNAPSHOT_ROWS = 5000  # rows re-read from chromadb in one sync that justify a new snapshot


def item_metadata(article: Article, kind: Kind, item: Item) -> dict[str, Any]:
    """The metadata stored beside a row: enough to filter and show it without the record."""
    return {
        "article_id": article.id,
        "kind": kind,
        "name": item.name,
        "relevancy": item.relevancy,
        "url": article.url,
        "title": article.title,
        "site": article.site or urlparse(article.url).netloc,
        "published": article.published.isoformat() if article.published else "",
        "date": date_int(article.published),
        "themes": "\n".join(t.lower() for t in article.themes),
        "item": item.model_dump_json(),
    }


def _article_metadata(article: Article) -> dict[str, Any]:
    return {
        "url": article.url,
        "title": article.title,
        "site": article.site or urlparse(article.url).netloc,
        "published": article.published.isoformat() if article.published else "",
        "date": date_int(article.published),
        "text_hash": article.text_hash,
        "incomplete": article.incomplete,
        **{f"n_{kind}": len(article.items(kind)) for kind in KINDS},
        "record": article.model_dump_json(),
    }


def _row_ids(article_id: str, meta: dict[str, Any]) -> list[str]:
    return [
        f"{article_id}:{kind}:{i}" for kind in KINDS for i in range(int(meta.get(f"n_{kind}", 0)))
    ]


def make_client(home: Path, chroma_url: str = "") -> Any:
    """A chroma client: embedded at `home`, or a server's when `chroma_url` is given."""
    settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        parsed = urlparse(chroma_url)
        return chromadb.HttpClient(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 8000,
            ssl=parsed.scheme == "https",
            settings=settings,
        )
    home.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(home), settings=settings)


class Store:
    """Read and write articles and their rows in chromadb.

    Args:
        home: directory of the embedded store (and of the embedding cache).
        embedder: the sentence embedder (all-MiniLM-L6-v2 by default).
        chroma_url: a chroma server's URL; empty for the embedded store at `home`.
    """

    def __init__(
        self, home: Path, *, embedder: Embedder | None = None, chroma_url: str = ""
    ) -> None:
        self.home = Path(home)
        self.chroma_url = chroma_url
        self.embedder: Embedder = embedder or MiniLMEmbedder()
        self._source = chroma_url or str(self.home)
        self._lock = threading.RLock()  # the in-memory index: loading, syncing, reading
        self._write_lock = threading.RLock()  # one write at a time
        self._index: RowIndex | None = None
        self._checked_at = 0.0  # monotonic time of the last look for others' changes
        self._synced_at = 0  # newest change (time_ns) the index reflects
        self._applied: dict[str, int] = {}  # change records in the index -> their time
        self._journal_size = -1  # journal entries when last synced
        self._saw_unfinished = False  # the last sync saw a write still in progress
        try:
            self.client = make_client(self.home, chroma_url)
            self._finish_reindex()
            self.articles = self._collection(ARTICLES)
            self.rows = self._collection(ITEMS)
            self.journal = self._collection(JOURNAL)
            self.cache = EmbeddingCache(self.home / "embeddings.sqlite3")
        except Exception as exc:  # chroma raises many types; one clear error for the user
            raise StoreError(f"cannot open the knowledge base: {exc}", source=self._source) from exc
        self.stored_embedder = str((self.rows.metadata or {}).get("embedder", self.embedder.name))
        self._roll_back_pending()

    def _collection(self, name: str) -> Any:
        return self.client.get_or_create_collection(
            name,
            metadata={"hnsw:space": "cosine", "embedder": self.embedder.name},
            embedding_function=ChromaEmbedding(self.embedder),
        )

    def _finish_reindex(self) -> None:
        """Complete or drop a reindex that a crash interrupted."""
        names = {c.name for c in self.client.list_collections()}
        for name in (ARTICLES, ITEMS):
            if name + _NEXT not in names:
                continue
            if name in names:
                self.client.delete_collection(name + _NEXT)
            else:
                self.client.get_collection(name + _NEXT).modify(name=name)

    def _roll_back_pending(self) -> None:
        """Undo the writes a crash left unfinished."""
        journal = self.journal.get(include=["metadatas"])
        cutoff = time.time_ns() - _CRASHED_AFTER_NS
        for change_id, meta in zip(journal["ids"], journal["metadatas"], strict=True):
            if meta["done"] or int(meta["at"]) > cutoff:
                continue  # another process may be writing it right now
            ids = [a for a in str(meta["articles"]).split(",") if a and a != "*"]
            if ids:
                self.rows.delete(where={"article_id": {"$in": ids}})
                self.articles.delete(ids=ids)
            self._finish(change_id, str(meta["articles"]))

    def _begin(self, articles: str) -> str:
        """Journal a write about to start; `articles` is comma-separated ids, or "*"."""
        change_id = f"change:{uuid.uuid4().hex}"
        meta = {"articles": articles, "done": False, "at": time.time_ns()}
        self.journal.add(ids=[change_id], embeddings=[[1.0]], metadatas=[meta])
        return change_id

    def _finish(self, change_id: str, articles: str) -> None:
        """Mark a journalled write done: from now on it is a change others apply."""
        at = time.time_ns()
        meta = {"articles": articles, "done": True, "at": at}
        self.journal.upsert(ids=[change_id], embeddings=[[1.0]], metadatas=[meta])
        with self._lock:
            self._applied[change_id] = at
            self._synced_at = max(self._synced_at, at)

    def check_embedder(self) -> None:
        """Refuse to mix vectors of two models: StoreError until the store is reindexed."""
        if self.stored_embedder != self.embedder.name:
            raise StoreError(
                f"the knowledge base was embedded with {self.stored_embedder}, not "
                f"{self.embedder.name}; run `signalkb reindex`",
                source=self._source,
            )

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of texts (float32 rows), each computed once and then read from the cache."""
        return self.cache.embed(self.embedder, texts)

    # ---- writing -------------------------------------------------------------------

    def add(self, article: Article) -> None:
        """Store an article and all its rows, replacing any earlier record with its id."""
        self.add_many([article])

    def add_many(self, articles: Sequence[Article]) -> None:
        """Store many articles at once (batched embedding and writes); each all-or-nothing.

        A later article with the same id as an earlier one in `articles` wins. Embedding
        runs before any lock is taken, and searches keep answering (from the previous
        rows) until the new rows are in.
        """
        self.check_embedder()
        unique = self.normalise_names(list({a.id: a for a in articles}.values()))
        if not unique:
            return
        vectors = self._vectors(unique)
        with self._write_lock:
            ids = ",".join(a.id for a in unique)
            change_id = self._begin(ids)
            rows = self._write(unique, self.rows, self.articles, vectors)
            with self._lock:
                if self._index is not None:
                    self._index.remove_articles([a.id for a in unique])
                    self._index.add(*rows)
            self._finish(change_id, ids)

    def normalise_names(self, articles: list[Article]) -> list[Article]:
        """The articles with each technology named as the store already names it.

        "gpt4" or "GPT 4" becomes "GPT-4" when that spelling is the one in use (the most
        frequent for the key of `kb.index.technology_key`); a name not seen before is kept,
        and later articles of the same batch then reuse it.
        """
        with self.reading() as index:
            known = index.technology_names()
        out = []
        for article in articles:
            renamed = []
            for tech in article.technologies:
                name = known.setdefault(technology_key(tech.name), tech.name)
                if name != tech.name:
                    tech = tech.model_copy(update={"name": name})
                renamed.append(tech)
            if renamed != article.technologies:
                article = article.model_copy(update={"technologies": renamed})
            out.append(article)
        return out

    def _vectors(self, articles: list[Article]) -> np.ndarray:
        """Head vectors ("title. summary") of the articles, then those of all their rows."""
        heads = [f"{a.title}. {a.summary}" for a in articles]
        return self.embed(heads + [item.text() for a in articles for *_, item in a.all_items()])

    def _write(
        self, articles: list[Article], rows_col: Any, articles_col: Any, vectors: np.ndarray
    ) -> tuple[list[str], np.ndarray, list[dict[str, Any]], list[str]]:
        """Replace the articles in chromadb; returns the new rows (ids, vectors, metadata,
        documents) for the in-memory index."""
        rows = [(a, kind, i, item) for a in articles for kind, i, item in a.all_items()]
        ids = [a.id for a in articles]
        # By article id, not by the old entry's row list: a write that crashed before its
        # article entry landed left rows that no entry lists.
        rows_col.delete(where={"article_id": {"$in": ids}})
        articles_col.delete(ids=ids)
        row_ids = [f"{a.id}:{kind}:{i}" for a, kind, i, _ in rows]
        metas = [item_metadata(a, kind, item) for a, kind, _, item in rows]
        docs = [item.text() for *_, item in rows]
        row_vectors = vectors[len(articles) :]
        for start in range(0, len(row_ids), _ADD_BATCH):
            end = start + _ADD_BATCH
            rows_col.add(
                ids=row_ids[start:end],
                embeddings=row_vectors[start:end],
                documents=docs[start:end],
                metadatas=metas[start:end],
            )
        articles_col.add(
            ids=ids,
            embeddings=vectors[: len(articles)],
            documents=[f"{a.title}. {a.summary}" for a in articles],
            metadatas=[_article_metadata(a) for a in articles],
        )
        return row_ids, row_vectors, metas, docs

    def delete(self, article_id: str) -> None:
        """Remove an article and every row of it; NotFoundError when there is none."""
        with self._write_lock:
            found = self.articles.get(ids=[article_id], include=["metadatas"])
            if not found["ids"]:
                raise NotFoundError("no article with this id", source=article_id)
            change_id = self._begin(article_id)
            self.rows.delete(ids=_row_ids(article_id, found["metadatas"][0]))
            self.articles.delete(ids=[article_id])
            with self._lock:
                if self._index is not None:
                    self._index.remove_articles([article_id])
            self._finish(change_id, article_id)

    def reindex(self, embedder: Embedder | None = None) -> int:
        """Rebuild every vector from the stored records (after a model change).

        The new collections are filled beside the old ones and swapped in at the end, so an
        interrupted reindex leaves the old store intact. Texts already embedded by the same
        model come from the cache. Returns the number of articles reindexed.
        """
        with self._write_lock, self._lock:
            articles = list(self.articles_iter())
            if embedder is not None:
                self.embedder = embedder
            for name in (ARTICLES, ITEMS):
                if name + _NEXT in {c.name for c in self.client.list_collections()}:
                    self.client.delete_collection(name + _NEXT)
            new_articles = self._collection(ARTICLES + _NEXT)
            new_rows = self._collection(ITEMS + _NEXT)
            for start in range(0, len(articles), 200):
                batch = articles[start : start + 200]
                self._write(batch, new_rows, new_articles, self._vectors(batch))
            for name in (ARTICLES, ITEMS):
                self.client.delete_collection(name)
            self._finish_reindex()
            self.articles = self._collection(ARTICLES)
            self.rows = self._collection(ITEMS)
            self.stored_embedder = self.embedder.name
            self._index = None
            self._finish(f"change:{uuid.uuid4().hex}", "*")
            return len(articles)

    # ---- reading -------------------------------------------------------------------

    def get(self, id_or_url: str) -> Article:
        """The article with this id or URL; NotFoundError when there is none."""
        found = self.articles.get(ids=[id_or_url], include=["metadatas"])
        if not found["ids"]:
            found = self.articles.get(where={"url": id_or_url}, include=["metadatas"])
        if not found["ids"]:
            raise NotFoundError("no article with this id or URL", source=id_or_url)
        return Article.model_validate_json(str(found["metadatas"][0]["record"]))

    def get_many(self, ids: Sequence[str]) -> dict[str, Article]:
        """The stored articles among these ids, by id (missing ids are left out)."""
        found = self.articles.get(ids=list(ids), include=["metadatas"]) if ids else {"ids": []}
        return {
            aid: Article.model_validate_json(str(meta["record"]))
            for aid, meta in zip(found["ids"], found.get("metadatas") or [], strict=True)
        }

    def find_by_url(self, url: str) -> Article | None:
        """The article stored under this canonical URL, if any."""
        try:
            return self.get(url)
        except NotFoundError:
            return None

    def articles_iter(self, batch: int = 500) -> Iterator[Article]:
        """Every stored article, in no particular order."""
        offset = 0
        while True:
            page = self.articles.get(include=["metadatas"], limit=batch, offset=offset)
            if not page["ids"]:
                return
            for meta in page["metadatas"]:
                yield Article.model_validate_json(str(meta["record"]))
            offset += batch

    def list_articles(self) -> list[Article]:
        """Every stored article, newest publication first."""
        return sorted(
            self.articles_iter(),
            key=lambda a: (a.published.isoformat() if a.published else "", a.title),
            reverse=True,
        )

    def article_vectors(self, ids: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """The stored "title. summary" vectors of some articles (all when `ids` is None)."""
        found = self.articles.get(
            ids=list(ids) if ids is not None else None, include=["embeddings"]
        )
        return {
            aid: np.asarray(vec, dtype=np.float32)
            for aid, vec in zip(found["ids"], found["embeddings"], strict=True)
        }

    def count(self) -> dict[str, int]:
        """Number of articles and of rows."""
        return {"articles": self.articles.count(), "rows": self.rows.count()}

    def stats(self) -> dict[str, Any]:
        """Articles, rows per kind, bytes on disk (embedded store) and the embedder."""
        with self.reading() as index:
            per_kind = {kind: len(index.live_slots(kind)) for kind in KINDS}
        size = sum(p.stat().st_size for p in self.home.rglob("*") if p.is_file())
        return {
            "articles": self.articles.count(),
            "rows": sum(per_kind.values()),
            **per_kind,
            "store_bytes": size,
            "embedder": self.stored_embedder,
            "server": self.chroma_url or None,
        }

    @contextmanager
    def reading(self) -> Iterator[RowIndex]:
        """The in-memory index, held still (no write is applied to it) while the block runs."""
        with self._lock:
            yield self.index

    @property
    def index(self) -> RowIndex:
        """The in-memory mirror of the rows.

        Loaded on first use from a snapshot (`index/<collection id>.npz` under `home`) plus
        the changes logged since, or from chromadb when there is none; then brought up to
        date with other processes' changes, looked for at most once a second.
        """
        with self._lock:
            now = time.monotonic()
            if self._index is not None and now - self._checked_at < _CHANGES_TTL:
                return self._index
            self._checked_at = now
            if self._index is None:
                self._index = self._open_index()
            else:
                self._sync()
            return self._index

    def _snapshot_path(self) -> Path:
        return self.home / "index" / f"{self.rows.id}.npz"

    def _open_index(self) -> RowIndex:
        path = self._snapshot_path()
        loaded = RowIndex.load(path) if path.exists() else None
        if loaded is not None and loaded[1].get("embedder") == self.embedder.name:
            self._index, self._synced_at = loaded[0], int(loaded[1]["synced_at"])
            self._applied.update(loaded[1].get("applied", {}))
            self._sync()
            return self._index
        started = time.time_ns()
        index = RowIndex(self.embedder.dim)
        offset = 0
        while True:
            page = self.rows.get(
                include=["embeddings", "metadatas", "documents"], limit=_LOAD_BATCH, offset=offset
            )
            if not page["ids"]:
                break
            index.add(page["ids"], page["embeddings"], page["metadatas"], page["documents"])
            offset += _LOAD_BATCH
        self._index = index
        # Writes finished before the load began are in it: count them as applied.
        recent = self.journal.get(
            where={"at": {"$gt": started - _CHANGES_MARGIN_NS}}, include=["metadatas"]
        )
        for change_id, meta in zip(recent["ids"], recent["metadatas"], strict=True):
            if meta["done"] and int(meta["at"]) <= started:
                self._applied[change_id] = int(meta["at"])
        self._synced_at = max(self._synced_at, started)
        self.save_index()
        return index

    def _sync(self) -> None:
        """Apply the logged changes this index has not seen (idempotently)."""
        assert self._index is not None
        count = self.journal.count()  # about 1 ms, where a filtered read costs 5
        if count == self._journal_size and not self._saw_unfinished:
            return
        self._journal_size = count
        since = self._synced_at - _CHANGES_MARGIN_NS
        # Filter on the time only: chromadb answers a boolean clause 20 times slower here.
        log = self.journal.get(where={"at": {"$gt": since}}, include=["metadatas"])
        changed: set[str] = set()
        everything = unfinished = False
        for change_id, meta in zip(log["ids"], log["metadatas"], strict=True):
            if not meta["done"]:
                unfinished = True
                continue
            self._synced_at = max(self._synced_at, int(meta["at"]))
            if change_id in self._applied:
                continue
            self._applied[change_id] = int(meta["at"])
            everything |= meta["articles"] == "*"
            changed.update(a for a in str(meta["articles"]).split(",") if a)
        self._saw_unfinished = unfinished  # its end will not change the count: look again
        if everything:  # another process reindexed: new collections, new vectors
            self.articles, self.rows = self._collection(ARTICLES), self._collection(ITEMS)
            self.stored_embedder = str((self.rows.metadata or {}).get("embedder", ""))
            self._index = None
            self._index = self._open_index()
            return
        if changed and self._refresh(changed) >= _SNAPSHOT_ROWS:
            # This process paid for re-reading them; spare the next one.
            self.save_index()

    def _refresh(self, article_ids: set[str]) -> int:
        """Reload the rows of some articles from chromadb into the index; returns how many."""
        assert self._index is not None
        self._index.remove_articles(article_ids)
        found = self.articles.get(ids=sorted(article_ids), include=["metadatas"])
        row_ids = [
            row_id
            for aid, meta in zip(found["ids"], found["metadatas"], strict=True)
            for row_id in _row_ids(aid, meta)
        ]
        for start in range(0, len(row_ids), _LOAD_BATCH):
            page = self.rows.get(
                ids=row_ids[start : start + _LOAD_BATCH],
                include=["embeddings", "metadatas", "documents"],
            )
            self._index.add(page["ids"], page["embeddings"], page["metadatas"], page["documents"])
        return len(row_ids)

    def save_index(self) -> None:
        """Write the in-memory index to its snapshot, so the next process starts fast."""
        with self._lock:
            if self._index is None:
                return
            recent = self._synced_at - _CHANGES_MARGIN_NS
            applied = {c: at for c, at in self._applied.items() if at > recent}
            extra = {
                "embedder": self.embedder.name,
                "synced_at": self._synced_at,
                "applied": applied,
            }
            self._index.save(self._snapshot_path(), extra)

    def ann(self, query: np.ndarray, depth: int) -> list[tuple[str, float]]:
        """chromadb's HNSW neighbours of a unit vector: (row id, cosine), nearest first."""
        found = self.rows.query(
            query_embeddings=[np.asarray(query, dtype=np.float32)],
            n_results=depth,
            include=["distances"],
        )
        return [
            (item_id, 1.0 - float(dist))
            for item_id, dist in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

    def query_items(
        self,
        vector: Sequence[float] | np.ndarray,
        *,
        kinds: Sequence[Kind] = KINDS,
        min_relevancy: int = 1,
        limit: int = 10,
        **filters: Any,
    ) -> list[tuple[StoredItem, float]]:
        """Rows nearest to a query vector, with their cosine similarity.

        `filters` are those of `RowIndex.mask`: since, until, site, technology, theme.
        """
        self.check_embedder()
        with self.reading() as index:
            mask = index.mask(kinds=kinds, min_relevancy=min_relevancy, **filters)
            query = np.asarray(vector, dtype=np.float32)
            found = index.vector_top(query, mask, limit, ann=self.ann)
            return [(index.item(at), score) for at, score in found]
