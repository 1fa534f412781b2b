"""Local files and non-HTML bodies as Documents: .html/.htm, .md, .txt and .pdf.

HTML files go through the same extractor as web pages. Markdown and plain text are
kept as written (title: the first heading or first line). PDF text comes from pypdf.
A local file's key is the `file:` URI of its absolute path.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

from ingest.document import Document
from ingest.html import clean_text, decode_bytes, html_to_document, title_from_text
from kb.errors import IngestError, NoTextError, NotHTMLError, TooLargeError
from kb.settings import Settings

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text"})
PDF_SUFFIXES = frozenset({".pdf"})
SUFFIXES = HTML_SUFFIXES | TEXT_SUFFIXES | PDF_SUFFIXES

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def expand_directories(sources: Iterable[str]) -> list[str]:
    """Sources with each local folder replaced by the readable files under it, sorted."""
    expanded: list[str] = []
    for source in sources:
        path = Path(source).expanduser()
        if "://" not in source and path.is_dir():
            expanded.extend(
                str(p)
                for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")
            )
        else:
            expanded.append(source)
    return expanded


def text_to_document(
    raw: str, *, source: str, url: str, settings: Settings, markdown: bool = False
) -> Document:
    """A Document from plain text or Markdown; title from front matter, heading or first line.

    Raises:
        NoTextError: shorter than `settings.min_text_chars`.
    """
    title = ""
    if markdown:
        front = _FRONT_MATTER.match(raw)
        if front:
            found = re.search(r"^title:\s*[\"']?(.+?)[\"']?\s*$", front.group(1), re.M)
            title = found.group(1) if found else ""
            raw = raw[front.end() :]
        heading = _MD_HEADING.search(raw)
        title = title or (heading.group(1) if heading else "")
    text = clean_text(raw)
    if len(text) < settings.min_text_chars:
        raise NoTextError(f"no main text found ({len(text)} characters)", source=source)
    return Document(source=source, url=url, title=(title or title_from_text(text))[:300], text=text)


def pdf_to_document(data: bytes, *, source: str, url: str, settings: Settings) -> Document:
    """A Document from a PDF's text layer (pypdf); title from its metadata or first line.

    Raises:
        IngestError: the file is not a readable PDF.
        NoTextError: no text layer (e.g. a scan) or too little text.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = (reader.metadata.title if reader.metadata else None) or ""
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"unreadable PDF ({exc})", source=source) from exc
    text = clean_text("\n\n".join(pages))
    if len(text) < settings.min_text_chars:
        raise NoTextError(
            f"no main text found in PDF ({len(text)} characters; scanned?)", source=source
        )
    return Document(
        source=source,
        url=url,
        title=(str(info_title).strip() or title_from_text(text))[:300],
        text=text,
    )


def load_file(path_text: str, settings: Settings) -> Document:
    """Read a local .html/.htm/.md/.txt/.pdf file as a Document.

    Args:
        path_text: the path as given (relative paths are resolved against the cwd).
        settings: limits (`max_bytes`, `min_text_chars`).

    Raises:
        IngestError: missing or unreadable file; NotHTMLError: an unsupported type;
        TooLargeError: larger than `settings.max_bytes`; NoTextError: no main text.
    """
    path = Path(path_text).expanduser()
    if not path.is_file():
        reason = "is a directory" if path.is_dir() else "file not found"
        raise IngestError(reason, source=path_text)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise NotHTMLError(
            f"not an article: file type {suffix or '(none)'} "
            "(expected .html, .htm, .md, .txt or .pdf)",
            source=path_text,
        )
    try:
        size = path.stat().st_size
        if size > settings.max_bytes:
            raise TooLargeError(
                f"file of {size} bytes is larger than the cap of {settings.max_bytes} bytes",
                source=path_text,
            )
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read file ({exc.strerror or exc})", source=path_text) from exc
    uri = path.resolve().as_uri()
    if suffix in PDF_SUFFIXES:
        return pdf_to_document(data, source=path_text, url=uri, settings=settings)
    text = decode_bytes(data)
    if suffix in HTML_SUFFIXES:
        return html_to_document(text, source=path_text, url=uri, settings=settings)
    return text_to_document(
        text, source=path_text, url=uri, settings=settings, markdown=suffix != ".txt"
    )
