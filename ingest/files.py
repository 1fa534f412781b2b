"""Local files and non-HTML bodies as Documents: .html/.htm, .md, .txt and .pdf.

HTML files go through the same extractor as web pages. Markdown and plain text are
kept as written, less their front matter or byline (`ingest.filemeta`); PDF text
and metadata come from pypdf (`ingest.pdftext`). A local file's key is the `file:`
URI of its absolute path, unless the file names its canonical URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

from ingest.document import Document
from ingest.filemeta import FileMeta, split_byline, split_front_matter
from ingest.html import clean_text, decode_bytes, html_to_document, title_from_text
from ingest.pdftext import pdf_to_document
from kb.errors import IngestError, NoTextError, NotHTMLError, TooLargeError
from kb.settings import Settings

HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
TEXT_SUFFIXES = frozenset({".md", ".markdown", ".txt", ".text"})
PDF_SUFFIXES = frozenset({".pdf"})
SUFFIXES = HTML_SUFFIXES | TEXT_SUFFIXES | PDF_SUFFIXES

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
    """A Document from plain text or Markdown, with what the file says about itself.

    Markdown front matter gives title, author, date and canonical URL (which becomes
    the key, as a web page's canonical link does); a byline near the top ("By Jane
    Doe | 28 January 2026") gives author and date. Both are taken out of the text.
    The title is otherwise the first Markdown heading or a short first line.

    Raises:
        NoTextError: shorter than `settings.min_text_chars`.
    """
    meta = FileMeta()
    if markdown:
        meta, raw = split_front_matter(raw)
    text = clean_text(raw)
    if not meta.author:
        byline, text = split_byline(text)
        meta.author, meta.published = byline.author, meta.published or byline.published
        text = clean_text(text)
    if len(text) < settings.min_text_chars:
        raise NoTextError(f"no main text found ({len(text)} characters)", source=source)
    heading = _MD_HEADING.search(raw) if markdown else None
    title = meta.title or (heading.group(1) if heading else "") or title_from_text(text)
    return Document(
        source=source,
        url=meta.url or url,
        title=title[:300],
        text=text,
        site=urlsplit(meta.url).hostname or "",
        author=meta.author,
        published=meta.published,
        extra={"description": meta.description} if meta.description else {},
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
