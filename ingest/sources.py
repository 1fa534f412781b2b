"""One entry point from whatever the user gave (URL, file: URI or path) to a Document.

`load_document` is the code path of both `signalkb ingest` and `signalkb text`.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from ingest.document import Document
from ingest.fetch import ARTICLE_TYPES, HTML_TYPES, PDF_TYPES, Fetcher, FetchResult
from ingest.files import load_file, text_to_document
from ingest.html import decode_bytes, html_to_document
from ingest.pdftext import pdf_to_document
from ingest.urls import is_url, normalize_url
from kb.errors import BlockedAddressError, NotHTMLError
from kb.settings import Settings


def _sniff(body: bytes) -> str:
    """A media type guessed from the first bytes, for responses without Content-Type."""
    head = body[:1024].lstrip()
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if b"\x00" in head:
        return "application/octet-stream"
    lowered = head.lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<body" in lowered:
        return "text/html"
    return "text/plain"


def document_from_response(result: FetchResult, *, source: str, settings: Settings) -> Document:
    """Turn a downloaded body into a Document, by its (declared or sniffed) media type.

    Raises:
        NotHTMLError: binary or unsupported content; NoTextError: no main text.
    """
    media = result.media_type or _sniff(result.body)
    final = normalize_url(result.url)
    if media in PDF_TYPES:
        return pdf_to_document(result.body, source=source, url=final, settings=settings)
    if media not in ARTICLE_TYPES:
        raise NotHTMLError(f"not an article: content type {media}", source=source)
    if b"\x00" in result.body[:4096] and not result.body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotHTMLError(f"not an article: binary content served as {media}", source=source)
    text = decode_bytes(result.body, result.charset)
    if media in HTML_TYPES:
        return html_to_document(
            text, source=source, url=result.url, settings=settings, fallback_url=final
        )
    return text_to_document(
        text, source=source, url=final, settings=settings, markdown="markdown" in media
    )


def load_document(source: str, settings: Settings, *, fetcher: Fetcher | None = None) -> Document:
    """Load a URL, `file:` URI or local path as a Document (main text plus metadata).

    Args:
        source: an http(s) URL, a file: URI, or a path to .html/.htm/.md/.txt/.pdf.
        settings: limits, timeouts and `allow_private`.
        fetcher: a Fetcher to reuse across a batch; a new one is made when omitted.

    Returns:
        The Document; its `url` is the normalised canonical URL (or final URL, or
        the file: URI of a local file).

    Raises:
        IngestError: or one of its subclasses, with `source` set and a one-line reason.
    """
    source = source.strip()
    if source.lower().startswith("file:"):
        return load_file(unquote(urlsplit(source).path), settings)
    if is_url(source):
        scheme = urlsplit(source).scheme.lower()
        if scheme not in ("http", "https"):
            raise BlockedAddressError(
                f"scheme {scheme!r} not allowed (only http and https)", source=source
            )
        if fetcher is not None:
            result = fetcher.fetch(source)
        else:
            with Fetcher(settings) as own:
                result = own.fetch(source)
        return document_from_response(result, source=source, settings=settings)
    return load_file(source, settings)
