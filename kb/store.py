"""The knowledge base: articles and every row of their tables, embedded, in chromadb.

Collections:
    articles   one entry per article: "title. summary" embedded, the whole record as JSON
    items      one entry per table row: "name. description" embedded, with the article's
               metadata copied beside it (kind, relevancy, date, site, themes, ...)
    journal    one entry per write: which articles, when, and whether it finished
               (`kb.journal`)

A write is all-or-nothing: a journal entry naming its articles is added (not done), their
old rows go, the new rows and the article entries are added, then the entry is marked
done. Opening a store rolls back the articles of entries a crash left unfinished (older
than a few minutes, so another process's write in progress is left alone), so a reader
never sees half a record. The finished entries are the change log other processes read
to bring their in-memory index up to date.

Vectors come from `kb.embed` through an `EmbeddingCache` (SQLite beside the store), so a
text is embedded once. Searches go through `kb.index.RowIndex`, an in-memory mirror of
the rows kept by `kb.live_index`; chromadb stays the durable copy and the one other
processes (or a chroma server's other clients) share.

The store is closed: its collections and index are private, and every read goes through
its methods; `reading()` holds the index still (under the store's lock) for a caller that
reads several things from it.
"""

from __future__ import annotations

import threading
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
from kb.journal import EVERYTHING, Journal
from kb.live_index import Collections, LiveIndex, Rows, row_ids
from kb.records import KINDS, Article, Item, Kind

__all__ = ["Store", "StoredItem", "item_metadata", "make_client", "stored_item"]

ARTICLES = "articles"
ITEMS = "items"
JOURNAL = "journal"
_NEXT = "_next"  # suffix of the collections a reindex fills before swapping them in
_ADD_BATCH = 2000


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


def store_exists(home: Path) -> bool:
    """True when an embedded knowledge base has been created at `home`."""
    return (Path(home) / "chroma.sqlite3").is_file()


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
        self._write_lock = threading.RLock()  # one write at a time
        try:
            self._client = make_client(self.home, chroma_url)
            self._finish_reindex()
            self._cols = Collections(
                self._collection(ARTICLES),
                self._collection(ITEMS),
                Journal(self._collection(JOURNAL)),
            )
            self._cache = EmbeddingCache(self.home / "embeddings.sqlite3")
        except Exception as exc:  # chroma raises many types; one clear error for the user
            raise StoreError(f"cannot open the knowledge base: {exc}", source=self._source) from exc
        self.stored_embedder = self._embedder_of_rows(self.embedder.name)
        self._live = LiveIndex(
            self.home,
            self._cols,
            lambda: (self.embedder.name, self.embedder.dim),
            self._reopen,
        )
        self._roll_back_pending()

    def _embedder_of_rows(self, default: str) -> str:
        return str((self._cols.rows.metadata or {}).get("embedder", default))

    def _reopen(self) -> None:
        """Open the collections again: another process reindexed them."""
        self._cols.articles = self._collection(ARTICLES)
        self._cols.rows = self._collection(ITEMS)
        self.stored_embedder = self._embedder_of_rows("")

    def _collection(self, name: str) -> Any:
        return self._client.get_or_create_collection(
            name,
            metadata={"hnsw:space": "cosine", "embedder": self.embedder.name},
            embedding_function=ChromaEmbedding(self.embedder),
        )

    def _finish_reindex(self) -> None:
        """Complete or drop a reindex that a crash interrupted."""
        names = {c.name for c in self._client.list_collections()}
        for name in (ARTICLES, ITEMS):
            if name + _NEXT not in names:
                continue
            if name in names:
                self._client.delete_collection(name + _NEXT)
            else:
                self._client.get_collection(name + _NEXT).modify(name=name)

    def _roll_back_pending(self) -> None:
        """Undo the writes a crash left unfinished."""
        for change in self._cols.journal.crashed():
            if change.article_ids:
                self._cols.rows.delete(where={"article_id": {"$in": change.article_ids}})
                self._cols.articles.delete(ids=change.article_ids)
            self._finish(change.id, change.articles)

    def _finish(self, change_id: str, articles: str) -> None:
        """Mark a journalled write done, and as applied to this process's index."""
        self._live.applied(change_id, self._cols.journal.finish(change_id, articles))

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
        return self._cache.embed(self.embedder, texts)

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
            change_id = self._cols.journal.begin(ids)
            rows = self._write(unique, self._cols.rows, self._cols.articles, vectors)
            self._live.replace([a.id for a in unique], rows)
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
    ) -> Rows:
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
            found = self._cols.articles.get(ids=[article_id], include=["metadatas"])
            if not found["ids"]:
                raise NotFoundError("no article with this id", source=article_id)
            change_id = self._cols.journal.begin(article_id)
            self._cols.rows.delete(ids=row_ids(article_id, found["metadatas"][0]))
            self._cols.articles.delete(ids=[article_id])
            self._live.replace([article_id])
            self._finish(change_id, article_id)

    def reindex(self, embedder: Embedder | None = None) -> int:
        """Rebuild every vector from the stored records (after a model change).

        The new collections are filled beside the old ones and swapped in at the end, so an
        interrupted reindex leaves the old store intact. Texts already embedded by the same
        model come from the cache. Returns the number of articles reindexed.
        """
        with self._write_lock, self._live.lock:
            articles = list(self.articles_iter())
            if embedder is not None:
                self.embedder = embedder
            for name in (ARTICLES, ITEMS):
                if name + _NEXT in {c.name for c in self._client.list_collections()}:
                    self._client.delete_collection(name + _NEXT)
            new_articles = self._collection(ARTICLES + _NEXT)
            new_rows = self._collection(ITEMS + _NEXT)
            for start in range(0, len(articles), 200):
                batch = articles[start : start + 200]
                self._write(batch, new_rows, new_articles, self._vectors(batch))
            for name in (ARTICLES, ITEMS):
                self._client.delete_collection(name)
            self._finish_reindex()
            self._cols.articles = self._collection(ARTICLES)
            self._cols.rows = self._collection(ITEMS)
            self.stored_embedder = self.embedder.name
            self._live.drop()
            self._finish(self._cols.journal.begin(EVERYTHING), EVERYTHING)
            return len(articles)

    # ---- reading -------------------------------------------------------------------

    def get(self, id_or_url: str) -> Article:
        """The article with this id or URL; NotFoundError when there is none."""
        found = self._cols.articles.get(ids=[id_or_url], include=["metadatas"])
        if not found["ids"]:
            found = self._cols.articles.get(where={"url": id_or_url}, include=["metadatas"])
        if not found["ids"]:
            raise NotFoundError("no article with this id or URL", source=id_or_url)
        return Article.model_validate_json(str(found["metadatas"][0]["record"]))

    def get_many(self, ids: Sequence[str]) -> dict[str, Article]:
        """The stored articles among these ids, by id (missing ids are left out)."""
        found = (
            self._cols.articles.get(ids=list(ids), include=["metadatas"]) if ids else {"ids": []}
        )
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
            page = self._cols.articles.get(include=["metadatas"], limit=batch, offset=offset)
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
        found = self._cols.articles.get(
            ids=list(ids) if ids is not None else None, include=["embeddings"]
        )
        return {
            aid: np.asarray(vec, dtype=np.float32)
            for aid, vec in zip(found["ids"], found["embeddings"], strict=True)
        }

    def count(self) -> dict[str, int]:
        """Number of articles and of rows."""
        return {"articles": self._cols.articles.count(), "rows": self._cols.rows.count()}

    def stats(self) -> dict[str, Any]:
        """Articles, rows per kind, bytes on disk (embedded store) and the embedder."""
        with self.reading() as index:
            per_kind = {kind: len(index.live_slots(kind)) for kind in KINDS}
        size = sum(p.stat().st_size for p in self.home.rglob("*") if p.is_file())
        return {
            "articles": self._cols.articles.count(),
            "rows": sum(per_kind.values()),
            **per_kind,
            "store_bytes": size,
            "embedder": self.stored_embedder,
            "server": self.chroma_url or None,
        }

    @contextmanager
    def reading(self) -> Iterator[RowIndex]:
        """The in-memory index of the rows, held still (no write is applied to it, and
        no other process's changes) while the block runs."""
        with self._live.lock:
            yield self._live.current()

    def version(self) -> tuple[int, ...]:
        """What changes whenever an article or a row is written or removed."""
        with self.reading() as index:
            return (id(index), index.size, len(index.live_slots()), self._cols.articles.count())

    def save_index(self) -> None:
        """Write the in-memory index to its snapshot, so the next process starts fast."""
        self._live.save()

    def ann(self, query: np.ndarray, depth: int) -> list[tuple[str, float]]:
        """chromadb's HNSW neighbours of a unit vector: (row id, cosine), nearest first."""
        found = self._cols.rows.query(
            query_embeddings=[np.asarray(query, dtype=np.float32)],
            n_results=depth,
            include=["distances"],
        )
        return [
            (item_id, 1.0 - float(dist))
            for item_id, dist in zip(found["ids"][0], found["distances"][0], strict=True)
        ]

    def nearest_articles(self, vector: np.ndarray, limit: int) -> list[tuple[Article, float]]:
        """The articles whose "title. summary" vectors are nearest to `vector`, with their
        cosine, nearest first."""
        total = self._cols.articles.count()
        if not total:
            return []
        found = self._cols.articles.query(
            query_embeddings=[np.asarray(vector).tolist()],
            n_results=min(limit, total),
            include=["metadatas", "distances"],
        )
        return [
            (Article.model_validate_json(str(meta["record"])), 1.0 - float(dist))
            for meta, dist in zip(found["metadatas"][0], found["distances"][0], strict=True)
        ]
