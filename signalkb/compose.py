"""Where signalkb's parts are built from Settings: the store, its embedder, the extractor.

The CLI, the web app and the tests all get their parts from a `Parts`. The defaults are the
real ones (MiniLM, the configured extraction backend); a test gives `Parts` fakes instead
(`HashEmbedder`, `ScriptedExtractor`), so nothing is patched in a module's globals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.document import Document
from ingest.extract import Extractor, make_extractor
from kb.embed import Embedder, MiniLMEmbedder
from kb.errors import SignalKBError
from kb.records import Article
from kb.settings import Settings
from kb.store import Store

if TYPE_CHECKING:
    from fastapi import FastAPI

EmbedderFactory = Callable[[Settings], Embedder]
ExtractorFactory = Callable[[Settings, Embedder], Extractor]
MINILM = "kb.embed:MiniLMEmbedder"


def minilm(settings: Settings) -> Embedder:
    """all-MiniLM-L6-v2 in this process (the CLI's embedder)."""
    return MiniLMEmbedder()


def minilm_processes(settings: Settings) -> Embedder:
    """MiniLM in two child processes, for the server (web.embedproc).

    Search queries go to one, in batches (web.batching); the rows of the articles an
    ingest job stores go to the other, which runs at the ingest job's lower priority.
    """
    from web.batching import BatchingEmbedder
    from web.embedproc import ProcessEmbedder
    from web.jobs import INGEST_NICE

    name, dim = MiniLMEmbedder.name, MiniLMEmbedder.dim
    queries = ProcessEmbedder(MINILM, name=name, dim=dim)
    bulk = ProcessEmbedder(MINILM, name=name, dim=dim, nice=INGEST_NICE)
    return BatchingEmbedder(queries, bulk=bulk)


def configured_extractor(settings: Settings, embedder: Embedder) -> Extractor:
    """The configured extractor (`ingest.extract.make_extractor`), embedding with `embedder`.

    The extractor gets the store's embedder so that a process holds one MiniLM: under
    `serve` that is the child processes, and ingest jobs load no model of their own.
    """
    return make_extractor(settings, embedder)


class LazyExtractor:
    """Builds the real extractor (and loads its model) only when an article needs it."""

    def __init__(self, factory: Callable[[], Extractor]) -> None:
        self._factory = factory
        self._extractor: Extractor | None = None
        self._error: SignalKBError | None = None

    def extract(self, document: Document) -> Article:
        """Extract with the real extractor, building it on first use."""
        if self._error is not None:
            raise self._error
        if self._extractor is None:
            try:
                self._extractor = self._factory()
            except SignalKBError as exc:
                self._error = exc
                raise
        return self._extractor.extract(document)


@dataclass(frozen=True)
class Parts:
    """How each swappable part is built from Settings.

    Attributes:
        embedder: the embedder of a store opened by the CLI.
        server_embedder: the embedder of the store `signalkb serve` opens.
        extractor: the extractor of ingest (built on first use), given the store's embedder.
    """

    embedder: EmbedderFactory = minilm
    server_embedder: EmbedderFactory = minilm_processes
    extractor: ExtractorFactory = configured_extractor

    def open_store(self, settings: Settings, *, server: bool = False) -> Store:
        """The knowledge base at `settings.home` (or on `settings.chroma_url`)."""
        embedder = (self.server_embedder if server else self.embedder)(settings)
        return Store(settings.home, embedder=embedder, chroma_url=settings.chroma_url)

    def lazy_extractor(self, settings: Settings, embedder: Embedder) -> LazyExtractor:
        """The extractor, built when the first article needs it."""
        return LazyExtractor(lambda: self.extractor(settings, embedder))

    def web_app(
        self, settings: Settings, *, store: Store | None = None, warm_up: bool = False
    ) -> FastAPI:
        """The web UI over `store` (default: the server store, opened on first use).

        Args:
            settings: signalkb's settings.
            store: an already opened store to serve.
            warm_up: at start, open the store and load the model in the background (for a
                server, so that the first search is quick).

        Returns:
            The FastAPI app.
        """
        from web.app import create_app

        def open_store() -> Store:
            return store if store is not None else self.open_store(settings, server=True)

        return create_app(
            settings,
            store_factory=open_store,
            extractor_factory=lambda opened: self.extractor(settings, opened.embedder),
            warm_up=warm_up,
        )
