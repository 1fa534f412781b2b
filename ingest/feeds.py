"""Lists of articles: URL files, RSS/Atom feeds and XML sitemaps → article URLs.

Feeds are parsed by feedparser (each entry's link); sitemaps by lxml with entities and
network access off, following a sitemap index one level down at most. Both are fetched
by the same guarded `Fetcher` as articles, under the same limits.
"""

from __future__ import annotations

import io
import sys
import zlib
from pathlib import Path
from urllib.parse import urljoin

import feedparser
from lxml import etree

from ingest.fetch import FEED_TYPES, HTML_TYPES, TEXT_TYPES, Fetcher
from ingest.urls import is_url
from kb.errors import IngestError, TooLargeError
from kb.settings import Settings

LISTING_TYPES = (
    FEED_TYPES
    | HTML_TYPES
    | TEXT_TYPES
    | frozenset({"application/gzip", "application/x-gzip", "application/octet-stream"})
)
MAX_SITEMAPS = 20  # sitemaps read from one sitemap index


def read_url_list(path: str) -> list[str]:
    """Sources listed in a file, one per line; blank lines and `#` comments are skipped.

    Args:
        path: the file, or "-" for standard input.

    Raises:
        IngestError: the file cannot be read.
    """
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise IngestError(f"cannot read URL list ({exc})", source=path) from exc
    sources = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            sources.append(line)
    return sources


def _gunzip(data: bytes, cap: int, source: str) -> bytes:
    """Inflate a gzipped sitemap, refusing to grow past `cap` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, cap + 1)
    except zlib.error as exc:
        raise IngestError(f"corrupt gzip sitemap ({exc})", source=source) from exc
    if len(out) > cap:
        raise TooLargeError(f"sitemap larger than the cap of {cap} bytes", source=source)
    return out


def _xml_root(data: bytes) -> etree._Element | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=True)
    try:
        return etree.parse(io.BytesIO(data), parser).getroot()
    except etree.XMLSyntaxError:
        return None


def sitemap_locations(data: bytes) -> tuple[str, list[str]]:
    """The kind ("urlset", "sitemapindex" or "") of a sitemap and its <loc> URLs."""
    root = _xml_root(data)
    if root is None or not isinstance(root.tag, str):
        return "", []
    kind = etree.QName(root).localname
    if kind not in ("urlset", "sitemapindex"):
        return "", []
    locs = [
        (el.text or "").strip()
        for el in root.iter()
        if isinstance(el.tag, str) and etree.QName(el).localname == "loc"
    ]
    return kind, [loc for loc in locs if loc]


def feed_links(data: bytes, base_url: str) -> list[str]:
    """The link of each entry of an RSS or Atom feed, absolute, in feed order."""
    parsed = feedparser.parse(data)
    links = []
    for entry in parsed.entries:
        link = entry.get("link") or ""
        if not link:
            for alt in entry.get("links", []):
                if alt.get("rel", "alternate") == "alternate" and alt.get("href"):
                    link = alt["href"]
                    break
        if link:
            links.append(urljoin(base_url, link.strip()))
    return links


def listing_urls(url: str, settings: Settings, *, fetcher: Fetcher | None = None) -> list[str]:
    """The article URLs a feed or sitemap lists (a sitemap index is followed one level).

    Args:
        url: an RSS/Atom feed or an XML sitemap (optionally gzipped).
        settings: limits and `allow_private`.
        fetcher: a Fetcher to reuse; a new one is made when omitted.

    Raises:
        IngestError: unreachable, not a feed or sitemap, or listing nothing.
    """
    if not is_url(url):
        raise IngestError("a feed or sitemap must be an http(s) URL", source=url)
    own = fetcher is None
    fetcher = fetcher or Fetcher(settings)
    try:
        urls = _listing(url, settings, fetcher, depth=0)
    finally:
        if own:
            fetcher.close()
    if not urls:
        raise IngestError("no entries found (not a feed or sitemap?)", source=url)
    return list(dict.fromkeys(urls))


def _listing(url: str, settings: Settings, fetcher: Fetcher, depth: int) -> list[str]:
    result = fetcher.fetch(url, accept=LISTING_TYPES)
    data = result.body
    if data[:2] == b"\x1f\x8b":
        data = _gunzip(data, settings.max_bytes, url)
    kind, locs = sitemap_locations(data)
    if kind == "urlset":
        return [urljoin(result.url, loc) for loc in locs]
    if kind == "sitemapindex":
        if depth >= 1:
            return []
        urls: list[str] = []
        for child in locs[:MAX_SITEMAPS]:
            urls.extend(_listing(urljoin(result.url, child), settings, fetcher, depth + 1))
        return urls
    return feed_links(data, result.url)
