"""What the app holds between requests: settings, the store (opened once) and ingest jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from kb.settings import Settings
from kb.store import Store

if TYPE_CHECKING:
    from web.jobs import JobManager

StoreFactory = Callable[[], Store]
# Builds the extractor of ingest jobs; given the app's store, whose embedder it shares.
ExtractorFactory = Callable[[Store], Any]


class AppState:
    """Shared state of one app: the store is opened on first use and then reused."""

    def __init__(
        self,
        settings: Settings,
        store_factory: StoreFactory,
        extractor_factory: ExtractorFactory,
    ) -> None:
        self.settings = settings
        self._store_factory = store_factory
        self.extractor_factory = extractor_factory
        self._store: Store | None = None
        self._lock = threading.RLock()  # job_manager opens the store while holding it
        self.jobs: JobManager | None = None

    @property
    def job_manager(self) -> JobManager:
        """The ingest jobs of this app, started on first use."""
        with self._lock:
            if self.jobs is None:
                from web.jobs import JobManager

                self.jobs = JobManager(self.settings, self.store, self.extractor_factory)
            return self.jobs

    @property
    def store_open(self) -> bool:
        """True once the store has been opened."""
        return self._store is not None

    @property
    def store(self) -> Store:
        """The knowledge base, opened once."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._store_factory()
        return self._store


# The dependencies are async so that FastAPI calls them on the event loop rather than
# through the thread pool: one thread hop less per request. Only opening the store
# (once, seconds) blocks, and that still runs in a thread.


async def get_state(request: Request) -> AppState:
    """The app's shared state."""
    state: AppState = request.app.state.signalkb
    return state


async def get_store(request: Request) -> Store:
    """The knowledge base of this app."""
    state: AppState = request.app.state.signalkb
    if state.store_open:
        return state.store
    return await run_in_threadpool(lambda: state.store)


StateDep = Annotated[AppState, Depends(get_state)]
StoreDep = Annotated[Store, Depends(get_store)]
