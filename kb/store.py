"""The knowledge base: articles and every row of their tables, embedded, in chromadb.

Two collections hold the data: `articles` (one entry per article, the whole record as JSON
in its metadata, "title. summary" embedded) and `items` (one entry per table row,
"name. description" embedded, with the article's metadata copied for filtering).

An article is written all-or-nothing: its id goes into the `pending` collection first, then
its rows, then the article entry, then the pending mark is removed. Opening a store rolls
back whatever a crash left pending, so a reader never sees half a record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
from chromadb.config import Settings as ChromaSettings

from kb.embed import Embedder, MiniLMEmbedder
from kb.errors import NotFoundError, StoreError
from kb.records import KINDS, Article, Item, Kind

ARTICLES = "articles"
ITEMS = "items"
PENDING = "pending"
_ADD_BATCH = 1000


@dataclass(frozen=True)
class StoredItem:
    """A table row as stored: the item and the article it belongs to."""

    id: str
    kind: Kind
    item: Item
    article_id: str
    title: str
    url: str
    published: str
    site: str


def _date_int(article: Article) -> int:
    return int(article.published.strftime("%Y%m%d")) if article.published else 0


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
        "date": _date_int(article),
        "item": item.model_dump_json(),
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


class Store:
    """Read and write articles and their rows in chromadb."""

    def __init__(
        self, home: Path, *, embedder: Embedder | None = None, chroma_url: str = ""
    ) -> None:
        self.home = home
        self.embedder: Embedder = embedder or MiniLMEmbedder()
        try:
            self.client = make_client(home, chroma_url)
            space = {"hnsw:space": "cosine", "embedder": self.embedder.name}
            # embedding_function=None: we always pass vectors, and chroma's default
            # embedder would download a model.
            self.articles = self.client.get_or_create_collection(
                ARTICLES, metadata=space, embedding_function=None
            )
            self.rows = self.client.get_or_create_collection(
                ITEMS, metadata=space, embedding_function=None
            )
            self.pending = self.client.get_or_create_collection(
                PENDING, embedding_function=None
            )
        except Exception as exc:  # chroma raises many types; one clear error for the user
            raise StoreError(f"cannot open the knowledge base: {exc}", source=chroma_url or str(home)) from exc
        self._roll_back_pending()

    def _roll_back_pending(self) -> None:
        marks = self.pending.get()
        for article_id in marks["ids"]:
            self._delete_parts(article_id)
            self.pending.delete(ids=[article_id])

    def _delete_parts(self, article_id: str) -> None:
        self.rows.delete(where={"article_id": article_id})
        self.articles.delete(ids=[article_id])

    def add(self, article: Article) -> None:
        """Store an article and all its rows, replacing any earlier record with its id."""
        rows = article.all_items()
        texts = [f"{article.title}. {article.summary}"] + [item.text() for _, _, item in rows]
        vectors = self.embedder.embed(texts)
        self.pending.upsert(ids=[article.id], documents=[article.id], embeddings=[[0.0]])
        self._delete_parts(article.id)
        ids = [f"{article.id}:{kind}:{i}" for kind, i, _ in rows]
        metadatas = [item_metadata(article, kind, item) for kind, _, item in rows]
        documents = [item.text() for _, _, item in rows]
        for start in range(0, len(ids), _ADD_BATCH):
            end = start + _ADD_BATCH
            self.rows.add(
                ids=ids[start:end],
                embeddings=vectors[1 + start : 1 + end],
                documents=documents[start:end],
                metadatas=metadatas[start:end],
            )
        self.articles.add(
            ids=[article.id],
            embeddings=[vectors[0]],
            documents=[texts[0]],
            metadatas=[self._article_metadata(article)],
        )
        self.pending.delete(ids=[article.id])

    @staticmethod
    def _article_metadata(article: Article) -> dict[str, Any]:
        return {
            "url": article.url,
            "title": article.title,
            "site": article.site,
            "published": article.published.isoformat() if article.published else "",
            "date": _date_int(article),
            "text_hash": article.text_hash,
            "incomplete": article.incomplete,
            "record": article.model_dump_json(),
        }

    def delete(self, article_id: str) -> None:
        """Remove an article and every row of it."""
        self.get(article_id)
        self.pending.upsert(ids=[article_id], documents=[article_id], embeddings=[[0.0]])
        self._delete_parts(article_id)
        self.pending.delete(ids=[article_id])

    def get(self, id_or_url: str) -> Article:
        """The article with this id or URL; NotFoundError when there is none."""
        found = self.articles.get(ids=[id_or_url], include=["metadatas"])
        if not found["ids"]:
            found = self.articles.get(where={"url": id_or_url}, include=["metadatas"])
        if not found["ids"]:
            raise NotFoundError("no article with this id or URL", source=id_or_url)
        return Article.model_validate_json(str(found["metadatas"][0]["record"]))

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

    def count(self) -> dict[str, int]:
        """Number of articles and of rows."""
        return {"articles": self.articles.count(), "rows": self.rows.count()}

    def query_items(
        self,
        vector: Sequence[float],
        *,
        kinds: Sequence[Kind] = KINDS,
        min_relevancy: int = 1,
        limit: int = 10,
    ) -> list[tuple[StoredItem, float]]:
        """Rows nearest to a query vector, with their cosine similarity."""
        clauses: list[dict[str, Any]] = []
        if tuple(kinds) != KINDS:
            clauses.append({"kind": {"$in": list(kinds)}})
        if min_relevancy > 1:
            clauses.append({"relevancy": {"$gte": min_relevancy}})
        where: dict[str, Any] | None = None
        if len(clauses) == 1:
            where = clauses[0]
        elif clauses:
            where = {"$and": clauses}
        if self.rows.count() == 0:
            return []
        result = self.rows.query(
            query_embeddings=[list(vector)],
            n_results=limit,
            where=where,
            include=["metadatas", "distances"],
        )
        return [
            (stored_item(item_id, meta), 1.0 - float(dist))
            for item_id, meta, dist in zip(
                result["ids"][0], result["metadatas"][0], result["distances"][0], strict=True
            )
        ]


def stored_item(item_id: str, meta: dict[str, Any]) -> StoredItem:
    """Rebuild a StoredItem from a row's id and metadata."""
    from kb.records import ITEM_TYPES

    kind: Kind = meta["kind"]
    return StoredItem(
        id=item_id,
        kind=kind,
        item=ITEM_TYPES[kind].model_validate(json.loads(str(meta["item"]))),
        article_id=str(meta["article_id"]),
        title=str(meta["title"]),
        url=str(meta["url"]),
        published=str(meta["published"]),
        site=str(meta["site"]),
    )
