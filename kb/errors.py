"""The exceptions signalkb raises, one tree for the whole flow.

    SignalKBError
    ├── IngestError                 an input could not become clean text
    │   ├── FetchError              network failure, timeout or HTTP error status
    │   ├── BlockedAddressError     a private/loopback/link-local address, refused by default
    │   ├── NotHTMLError            a content type signalkb cannot read as an article
    │   ├── TooLargeError           the body passed the size cap
    │   └── NoTextError             the page holds no main text
    ├── ExtractionError             the language model could not give a record
    │   └── BackendError            the backend failed (missing/corrupt model, server down)
    └── StoreError                  the knowledge base could not be read or written
        └── NotFoundError           no article with that id or URL

Every error carries the `source` (URL or path) it concerns, so a batch can report
"<source>: <reason>" on one line and carry on.
"""

from __future__ import annotations


class SignalKBError(Exception):
    """Base of every error signalkb raises on purpose."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        return f"{self.source}: {self.message}" if self.source else self.message


class IngestError(SignalKBError):
    """An input could not be turned into clean article text."""


class FetchError(IngestError):
    """Raised on connection failures, timeouts, redirect loops and HTTP error statuses."""

    def __init__(self, message: str, *, source: str | None = None, status: int | None = None):
        super().__init__(message, source=source)
        self.status = status


class BlockedAddressError(IngestError):
    """Raised when a URL (or a redirect) points at a private or special-purpose address."""


class NotHTMLError(IngestError):
    """Raised when a response's content type is not one signalkb can read as an article."""


class TooLargeError(IngestError):
    """Raised when a body passes the size cap; the rest is never read."""


class NoTextError(IngestError):
    """Raised when a page or file holds no main text worth extracting."""


class ExtractionError(SignalKBError):
    """The language model could not give a record."""


class BackendError(ExtractionError):
    """Raised when a backend cannot run: missing or corrupt model file, unreachable server."""


class StoreError(SignalKBError):
    """The knowledge base could not be read or written."""


class NotFoundError(StoreError):
    """Raised when no article matches an id or URL."""
