"""Which step of an extraction is running, for the progress of `ingest` and web jobs.

An extractor calls `step("summary")` as it starts each part of a record; whoever runs it
(`ingest.pipeline`) listens with `reporting(callback)` around the call. With no listener a
step costs nothing. The listener is a context variable, so two threads extracting at once
each hear only their own steps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

StepHook = Callable[[str], None]
_listener: ContextVar[StepHook | None] = ContextVar("signalkb_extraction_step", default=None)


@contextmanager
def reporting(callback: StepHook) -> Iterator[None]:
    """Call `callback(name)` for each step the extraction inside this block reports."""
    token = _listener.set(callback)
    try:
        yield
    finally:
        _listener.reset(token)


def step(name: str) -> None:
    """Report that the extraction is starting `name` (summary, rows, technologies, ...)."""
    listener = _listener.get()
    if listener is not None:
        listener(name)
