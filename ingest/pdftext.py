"""PDF → Document: the text layer with its paragraphs rejoined, and the info dictionary.

pypdf hands back one string per printed line. `reflow_pdf_text` joins the lines of a
paragraph again (a line break stays only after a sentence end, around a blank line, a
bullet or a heading) and re-joins words hyphenated at a line end. Title, author and
date come from /Title, /Author and /CreationDate (else /ModDate).
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from datetime import date
from typing import Any

from ingest.document import Document
from ingest.filemeta import parse_loose_date
from ingest.html import clean_text, title_from_text
from kb.errors import IngestError, NoTextError
from kb.settings import Settings

# pypdf logs what it repaired ("invalid pdf header", "EOF marker not found") as warnings;
# with no handler configured, logging prints them on stderr, across our progress bar.
logging.getLogger("pypdf").setLevel(logging.ERROR)

_SENTENCE_END = re.compile(r"[.!?:][\"'”’)\]]*$")
_BULLET = re.compile(r"^(?:[•◦▪‣∙·*–—-]\s*\S|\(?\d{1,3}[.)]\s|\(?[a-z][.)]\s)")
_PDF_DATE = re.compile(r"^(?:D:)?(\d{4})(\d{2})(\d{2})")
# titles that authoring tools write in place of one
_NOT_A_TITLE = re.compile(
    r"^(?:untitled.*|microsoft (?:word|powerpoint) - .*|.*\.(?:docx?|pptx?|odt|rtf|tex|indd|pdf))$",
    re.I,
)
_HEADING_MAX_WORDS = 8
# a heading is clearly shorter than the body lines around it
_HEADING_WIDTH_SHARE = 0.7


def _is_heading(lines: list[str], index: int, body_width: int) -> bool:
    """Whether line `index` stands alone: short, unpunctuated, between sentence ends."""
    line = lines[index]
    if (
        not line
        or len(line.split()) > _HEADING_MAX_WORDS
        or len(line) > _HEADING_WIDTH_SHARE * body_width
        or not (line[0].isupper() or line[0].isdigit())
        or line[-1] in ".,;:!?-"
    ):
        return False
    before = lines[index - 1] if index > 0 else ""
    after = lines[index + 1] if index + 1 < len(lines) else ""
    return (not before or bool(_SENTENCE_END.search(before)) or bool(_BULLET.match(before))) and (
        not after or after[0].isupper() or after[0].isdigit()
    )


def _join_hyphenated(left: str, right: str, text: str) -> str:
    """`left` (ending in "-") and `right` as one line: "tech-" + "nology" → "technology".

    The hyphen stays when the word is a compound ("state-of-the-", or "well-known"
    written whole elsewhere in the document).
    """
    head = left.rsplit(None, 1)[-1][:-1]
    tail = re.match(r"[\w'’]*", right)
    word = f"{head}-{tail[0] if tail else ''}"
    # the break itself reads "well-\nknown", so a hit is another occurrence
    if "-" in head or word in text:
        return left + right
    return left[:-1] + right


def reflow_pdf_text(text: str) -> str:
    """A page's text with each paragraph on one line and line-end hyphenation undone."""
    lines = [line.strip() for line in text.replace("\r", "").split("\n")]
    widths = sorted(len(line) for line in lines if line)
    body_width = widths[int(len(widths) * 0.9)] if widths else 0
    out = lines[:1]
    for index in range(1, len(lines)):
        previous, line = lines[index - 1], lines[index]
        if (
            not previous
            or not line
            or _SENTENCE_END.search(previous)
            or _BULLET.match(line)
            or _is_heading(lines, index - 1, body_width)
            or _is_heading(lines, index, body_width)
        ):
            out.append(line)
        elif previous.endswith("\u00ad"):
            out[-1] = out[-1][:-1] + line
        elif previous.endswith("-") and previous[-2:-1].isalpha() and line[0].islower():
            out[-1] = _join_hyphenated(out[-1], line, text)
        else:
            out[-1] = f"{out[-1]} {line}"
    return "\n".join(out)


def _pdf_date(raw: Any) -> date | None:
    """A date from a PDF date string (D:YYYYMMDDHHmmSS...) or an ISO-like one."""
    if raw is None:
        return None
    text = raw.decode("latin-1", "replace") if isinstance(raw, bytes) else str(raw)
    match = _PDF_DATE.match(text.strip())
    if match:
        try:
            return date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            return None
    return parse_loose_date(text)


def _info_text(value: Any) -> str:
    return " ".join(str(value).split()) if value else ""


def pdf_to_document(data: bytes, *, source: str, url: str, settings: Settings) -> Document:
    """A Document from a PDF's text layer (pypdf) and its info dictionary.

    Args:
        data: the PDF file's bytes.
        source: what the user gave (URL or path), kept on the Document.
        url: the key to store it under (final URL or file: URI).
        settings: for `min_text_chars`.

    Raises:
        IngestError: the file is not a readable PDF.
        NoTextError: no text layer (e.g. a scan) or too little text.
    """
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            pages = [reflow_pdf_text(page.extract_text() or "") for page in reader.pages]
            info = reader.metadata
            title = _info_text(info.title) if info else ""
            author = _info_text(info.author) if info else ""
            published = (
                (_pdf_date(info.creation_date_raw) or _pdf_date(info.modification_date_raw))
                if info
                else None
            )
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise IngestError(f"unreadable PDF ({exc})", source=source) from exc
    text = clean_text("\n\n".join(pages))
    if len(text) < settings.min_text_chars:
        raise NoTextError(
            f"no main text found in PDF ({len(text)} characters; scanned?)", source=source
        )
    if _NOT_A_TITLE.match(title):
        title = ""
    return Document(
        source=source,
        url=url,
        title=(title or title_from_text(text))[:300],
        text=text,
        author=author,
        published=published,
    )
