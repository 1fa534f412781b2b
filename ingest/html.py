"""HTML → main text + metadata, and bytes → str for any text we read.

`decode_bytes` never fails: BOM, valid UTF-8, the declared charset (header, then
`<meta charset>`), detection, and finally UTF-8 with replacement characters.
`extract_main_text` is signalkb's article-body extractor (`ingest.maintext`; scored by
bench/text_extraction.py). `html_to_document` adds the metadata: title,
site, author, published date, language and canonical URL.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from datetime import date, datetime
from itertools import chain
from typing import Any
from urllib.parse import urljoin, urlsplit

import trafilatura
from bs4 import BeautifulSoup
from bs4.filter import SoupStrainer
from charset_normalizer import from_bytes

from ingest import maintext
from ingest.document import Document
from ingest.urls import normalize_url
from kb.errors import NoTextError
from kb.settings import Settings

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# What browsers do: these labels mean windows-1252 on the web (WHATWG Encoding).
_WEB_ALIASES = {
    "iso-8859-1": "cp1252",
    "latin-1": "cp1252",
    "latin1": "cp1252",
    "ascii": "cp1252",
    "us-ascii": "cp1252",
    "iso8859-1": "cp1252",
}
_HEAD_TAGS = SoupStrainer(["html", "title", "meta", "link", "script"])


def _codec(label: str | None) -> str | None:
    """A Python codec name for a charset label, or None when unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    label = _WEB_ALIASES.get(label, label)
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _try(data: bytes, codec: str | None) -> str | None:
    if not codec:
        return None
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _detect(data: bytes) -> list[str]:
    """Codecs charset-normalizer finds plausible, best first; on a tie, windows-1252 first."""
    # UTF-16/32 without a BOM is a guess from NUL bytes, never what a web page is
    matches = [m for m in from_bytes(data) if not m.encoding.startswith(("utf_16", "utf_32"))]
    if not matches:
        return []
    best = matches[0]
    tied = [m.encoding for m in matches if m.chaos <= best.chaos]
    # short Western text fits several code pages equally; the web's usual one is 1252
    if "cp1252" in tied:
        return ["cp1252", *(m.encoding for m in matches if m.encoding != "cp1252")]
    return [m.encoding for m in matches]


def _detect_lazily(data: bytes) -> Iterator[str]:
    yield from _detect(data[:200_000])


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode a body to text without ever raising, whatever its charset claims.

    Args:
        data: the raw body.
        declared: the charset from the Content-Type header, if any.

    Returns:
        The text; undecodable bytes become U+FFFD.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    declared_codec = _codec(declared)
    if declared_codec and declared_codec.startswith(("utf-16", "utf-32")):
        return data.decode(declared_codec, errors="replace")
    # Valid UTF-8 with non-ASCII bytes is almost never an accident, whatever the label says.
    utf8 = _try(data, "utf-8")
    if utf8 is not None:
        return utf8
    meta = _META_CHARSET.search(data[:4096])
    labelled = [declared_codec, _codec(meta.group(1).decode("ascii")) if meta else None]
    # detection (slow on a big page) only runs when no label fits
    candidates = chain((c for c in labelled if c and c != "utf-8"), _detect_lazily(data))
    for codec in candidates:
        text = _try(data, codec)
        if text is not None:
            return text
    return data.decode("utf-8", errors="replace")


def clean_text(text: str) -> str:
    """Tidy extracted text: normalised spaces, no runs of blank lines, no control characters."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    lines = [re.sub(r"[ \t\u2009\u200a\u202f]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def extract_main_text(html: str, url: str | None = None) -> str:
    """The article body of an HTML page as clean plain text ("" when none is found).

    See `ingest.maintext` for how the body is found and what is dropped.
    """
    return clean_text(maintext.extract_main_text(html, url))


def _first(*values: Any) -> str:
    for value in values:
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return ""


def _json_ld_objects(soup: BeautifulSoup) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, flattened out of lists and @graph."""
    found: list[dict[str, Any]] = []
    for script in soup.find_all("script", attrs={"type": "application/ld+json"}):
        try:
            data = json.loads(script.string or "")
        except (json.JSONDecodeError, TypeError):
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                found.append(item)
                if isinstance(item.get("@graph"), list):
                    stack.extend(item["@graph"])
    return found


def _ld_name(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(n for n in (_ld_name(v) for v in value) if n)
    if isinstance(value, dict):
        return _first(value.get("name"))
    return _first(value)


def _ld_url(value: Any) -> str:
    if isinstance(value, dict):
        return _first(value.get("@id"), value.get("url"))
    return _first(value)


def parse_date(value: str) -> date | None:
    """A date from an ISO-like string (2024-05-01, 2024-05-01T10:00:00Z), else None."""
    value = (value or "").strip()
    match = re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", value)
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def page_metadata(html: str, base_url: str | None) -> dict[str, str]:
    """Title, site, author, published date, language and canonical URL from the page head.

    Reads `<link rel=canonical>`, Open Graph and article: tags, `<meta name=author>`,
    JSON-LD (Article/NewsArticle/BlogPosting) and `<html lang>`. Missing fields are "".
    """
    soup = BeautifulSoup(html, "lxml", parse_only=_HEAD_TAGS)
    meta: dict[str, str] = {}
    for tag in soup.find_all("meta"):
        key = str(tag.get("property") or tag.get("name") or tag.get("itemprop") or "").lower()
        content = tag.get("content")
        if key and isinstance(content, str) and key not in meta:
            meta[key] = content.strip()
    canonical = ""
    for link in soup.find_all("link", href=True):
        rel: Any = link.get("rel") or []
        rels = [str(r).lower() for r in (rel if isinstance(rel, list) else [rel])]
        if "canonical" in rels:
            canonical = str(link["href"]).strip()
            break
    article_ld: dict[str, Any] = {}
    for obj in _json_ld_objects(soup):
        kind = obj.get("@type")
        kinds = kind if isinstance(kind, list) else [kind]
        if any(
            isinstance(k, str) and k.endswith(("Article", "BlogPosting", "Posting")) for k in kinds
        ):
            article_ld = obj
            break
    title_tag = soup.find("title")
    html_tag = soup.find("html")
    lang = _first(
        html_tag.get("lang") if html_tag else "",
        meta.get("og:locale"),
        meta.get("content-language"),
        article_ld.get("inLanguage"),
    )
    published = _first(
        meta.get("article:published_time"),
        _ld_name(article_ld.get("datePublished")),
        meta.get("date"),
        meta.get("dc.date"),
        meta.get("dc.date.issued"),
        meta.get("pubdate"),
        meta.get("publishdate"),
        meta.get("sailthru.date"),
    )
    publisher = article_ld.get("publisher")
    return {
        "title": _first(
            meta.get("og:title"),
            _ld_name(article_ld.get("headline")),
            title_tag.get_text() if title_tag else "",
        ),
        "site": _first(meta.get("og:site_name"), _ld_name(publisher), meta.get("application-name")),
        "author": _first(
            _ld_name(article_ld.get("author")),
            meta.get("author"),
            meta.get("article:author"),
            meta.get("dc.creator"),
            meta.get("sailthru.author"),
            meta.get("parsely-author"),
        ),
        "published": published,
        "language": lang.replace("_", "-").split("-")[0].lower() if lang else "",
        "canonical": _pick_canonical(
            [
                canonical,
                meta.get("og:url", ""),
                _ld_url(article_ld.get("mainEntityOfPage")),
                _ld_url(article_ld.get("url")),
            ],
            base_url,
        ),
        "description": _first(meta.get("og:description"), meta.get("description")),
    }


def _pick_canonical(candidates: list[str], base_url: str | None) -> str:
    """The first usable canonical candidate, absolute and normalised, or ""."""
    base_path = urlsplit(base_url).path if base_url else ""
    for candidate in candidates:
        if not candidate:
            continue
        absolute = urljoin(base_url, candidate) if base_url else candidate
        parts = urlsplit(absolute)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            continue
        # A site-wide canonical pointing at the home page is a template bug, not this article.
        if parts.path in ("", "/") and base_path not in ("", "/"):
            continue
        return normalize_url(absolute)
    return ""


_SENTENCE = re.compile(r"(.+?[.!?])(?=\s+[\"'“‘(\[]?[A-Z0-9]|\s*$)")
_TITLE_SEPARATORS = re.compile(r"\s+[|\-\u2013\u2014:·»]+\s+")


def strip_site_suffix(title: str, site: str, host: str = "") -> str:
    """Drop a trailing (or leading) " | Site Name" from a page title when it names the site."""
    names = {n.lower() for n in (site, host, host.removeprefix("www.")) if n}
    separators = list(_TITLE_SEPARATORS.finditer(title))
    if not separators or not names:
        return title
    last, first = separators[-1], separators[0]
    if title[last.end() :].strip().lower() in names:
        return title[: last.start()].strip()
    if title[: first.start()].strip().lower() in names:
        return title[first.end() :].strip()
    return title


def title_from_text(text: str, limit: int = 100, words: int = 12) -> str:
    """A short title from the start of a text, never a whole paragraph.

    The first non-empty line (without Markdown heading marks) when it is at most
    `limit` characters and the next line does not continue it; otherwise the first
    sentence, cut to `words` words with an ellipsis.
    """
    paragraph: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            paragraph.append(line)
        elif paragraph:
            break
        if len(paragraph) > 20:
            break
    if not paragraph:
        return ""
    first = paragraph[0]
    if len(first) <= limit and (len(paragraph) == 1 or not paragraph[1][:1].islower()):
        return first
    sentence = _SENTENCE.match(" ".join(paragraph))
    cut = (sentence.group(1) if sentence else " ".join(paragraph)).split()
    if len(cut) <= words:
        return " ".join(cut).removesuffix(".")
    return " ".join(cut[:words]).rstrip(",;:-–—") + "…"


def html_to_document(
    html: str, *, source: str, url: str, settings: Settings, fallback_url: str | None = None
) -> Document:
    """Turn an HTML page into a Document: main text plus metadata.

    Args:
        html: the decoded page.
        source: what the user gave (URL or path), kept on the Document.
        url: the page's own address (final URL after redirects, or a file: URI).
        settings: for `min_text_chars`.
        fallback_url: the key used when the page names no canonical URL (default `url`).

    Raises:
        NoTextError: the main text is missing or shorter than `settings.min_text_chars`.
    """
    base = url if url.startswith(("http://", "https://")) else None
    text = extract_main_text(html, base)
    if len(text) < settings.min_text_chars:
        detail = f" ({len(text)} characters)" if text else ""
        raise NoTextError(f"no main text found{detail}", source=source)
    meta = page_metadata(html, base)
    host = (urlsplit(base).hostname or "") if base else ""
    published = parse_date(meta["published"])
    if published is None:
        published = _trafilatura_date(html, base)
    return Document(
        source=source,
        url=meta["canonical"] or (fallback_url or url),
        title=strip_site_suffix(meta["title"], meta["site"], host) or title_from_text(text),
        text=text,
        site=meta["site"] or host,
        author=meta["author"],
        published=published,
        language=meta["language"],
        extra={k: v for k, v in (("description", meta["description"]),) if v},
    )


def _trafilatura_date(html: str, url: str | None) -> date | None:
    """The publication date trafilatura's htmldate finds in the page body, if any."""
    try:
        found = trafilatura.extract_metadata(html, default_url=url)
    except (ValueError, TypeError):
        return None
    if found is None or not found.date:
        return None
    try:
        return datetime.fromisoformat(str(found.date)).date()
    except ValueError:
        return parse_date(str(found.date))
