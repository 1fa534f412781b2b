"""load_document end to end: a real 127.0.0.1 server, real files, real trafilatura."""

from __future__ import annotations

import gzip
from datetime import date
from pathlib import Path

import pytest

from ingest.feeds import listing_urls, read_url_list
from ingest.sources import load_document
from kb.errors import (
    BlockedAddressError,
    FetchError,
    IngestError,
    NoTextError,
    NotHTMLError,
)
from kb.settings import Settings
from tests import ingest_fixtures
from tests.ingest_fixtures import (
    ARTICLE_TITLE,
    BOILERPLATE,
    CANONICAL,
    PARAGRAPHS,
    FixtureServer,
    article_html,
    free_port,
    page,
    sitemap,
)

pytestmark = pytest.mark.slow

ingest_server = ingest_fixtures.ingest_server
private_settings = ingest_fixtures.private_settings


def test_article_page_gives_text_and_metadata(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    doc = load_document(ingest_server.url("/article"), private_settings)
    assert doc.source == ingest_server.url("/article")
    assert doc.url == CANONICAL
    assert doc.title == ARTICLE_TITLE
    assert doc.site == "Health Tech Weekly"
    assert doc.author == "Maria Okafor"
    assert doc.published == date(2026, 3, 14)
    assert doc.language == "en"
    for paragraph in PARAGRAPHS:
        assert paragraph in doc.text
    assert BOILERPLATE not in doc.text
    assert "All rights reserved" not in doc.text
    assert "About us" not in doc.text


def test_without_canonical_the_final_url_is_the_key(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    doc = load_document(ingest_server.url("/no-canonical") + "?utm_source=x#top", private_settings)
    assert doc.url == ingest_server.url("/no-canonical")


def test_http_404_is_a_fetch_error_naming_the_url(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    url = ingest_server.url("/no-such-page")
    with pytest.raises(FetchError) as caught:
        load_document(url, private_settings)
    assert caught.value.status == 404
    assert str(caught.value) == f"{url}: HTTP 404 Not Found"


def test_non_html_response_is_refused(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    url = ingest_server.url("/image.png")
    with pytest.raises(NotHTMLError) as caught:
        load_document(url, private_settings)
    assert str(caught.value) == f"{url}: not an article: content type image/png"


def test_unreachable_port_is_connection_refused(private_settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}/article"
    with pytest.raises(FetchError) as caught:
        load_document(url, private_settings)
    assert str(caught.value) == f"{url}: connection refused"


def test_loopback_is_refused_without_allow_private(ingest_server: FixtureServer) -> None:
    url = ingest_server.url("/probe")
    with pytest.raises(BlockedAddressError) as caught:
        load_document(url, Settings(allow_private=False))
    assert "127.0.0.1" in caught.value.message
    assert caught.value.source == url
    assert ingest_server.hits["/probe"] == 0


def test_plain_text_response(ingest_server: FixtureServer, private_settings: Settings) -> None:
    doc = load_document(ingest_server.url("/text"), private_settings)
    assert doc.title == ARTICLE_TITLE
    assert PARAGRAPHS[2] in doc.text


@pytest.mark.parametrize("suffix", [".html", ".htm"])
def test_local_html_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"page{suffix}"
    path.write_text(article_html(canonical=None), encoding="utf-8")
    doc = load_document(str(path), Settings())
    assert doc.url == path.resolve().as_uri()
    assert doc.title == ARTICLE_TITLE
    assert PARAGRAPHS[0] in doc.text


def test_local_markdown_takes_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("Intro line\n\n# The real title\n\n" + "\n\n".join(PARAGRAPHS))
    doc = load_document(str(path), Settings())
    assert doc.title == "The real title"
    assert doc.url == path.resolve().as_uri()
    assert PARAGRAPHS[4] in doc.text


def test_local_text_takes_first_line(tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_text("\n\nA plain title\n" + "\n".join(PARAGRAPHS), encoding="utf-8")
    doc = load_document(path.resolve().as_uri(), Settings())
    assert doc.title == "A plain title"


def test_missing_file_is_an_ingest_error(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.md")
    with pytest.raises(IngestError) as caught:
        load_document(missing, Settings())
    assert str(caught.value) == f"{missing}: file not found"


def test_short_text_is_no_text_error(tmp_path: Path) -> None:
    path = tmp_path / "short.txt"
    path.write_text("Too short to be an article.")
    with pytest.raises(NoTextError):
        load_document(str(path), Settings())


def test_other_schemes_are_refused() -> None:
    with pytest.raises(BlockedAddressError):
        load_document("ftp://example.com/file.html", Settings())


# ---- lists of articles: URL files, feeds, sitemaps ------------------------------------


def test_url_list_skips_comments_and_blanks(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("# list\n\nhttps://a.example/1  # first\n  https://a.example/2\n#x\n")
    assert read_url_list(str(path)) == ["https://a.example/1", "https://a.example/2"]
    with pytest.raises(IngestError, match="cannot read URL list"):
        read_url_list(str(tmp_path / "missing.txt"))


def test_sitemap_index_and_gzipped_sitemap(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    first = sitemap(ingest_server, ["/a/x1", "/a/x2"]).encode()
    ingest_server.routes["/sm-1.xml.gz"] = page(gzip.compress(first), "application/gzip")
    ingest_server.routes["/sm-2.xml"] = page(sitemap(ingest_server, ["/a/x3"]), "text/xml")
    ingest_server.routes["/sm-index.xml"] = page(
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>/sm-1.xml.gz</loc></sitemap><sitemap><loc>/sm-2.xml</loc></sitemap>"
        "</sitemapindex>",
        "application/xml",
    )
    urls = listing_urls(ingest_server.url("/sm-index.xml"), private_settings)
    assert urls == [ingest_server.url(p) for p in ("/a/x1", "/a/x2", "/a/x3")]


def test_sitemap_entities_are_not_expanded(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    ingest_server.routes["/xxe.xml"] = page(
        '<?xml version="1.0"?><!DOCTYPE u [<!ENTITY e SYSTEM "file:///etc/hostname">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://a.example/&e;</loc></url><url><loc>https://a.example/ok</loc></url>"
        "</urlset>",
        "application/xml",
    )
    urls = listing_urls(ingest_server.url("/xxe.xml"), private_settings)
    assert "https://a.example/ok" in urls
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() else ""
    assert not hostname or all(hostname not in u for u in urls)


def test_atom_feed_links_are_absolute(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    ingest_server.routes["/atom.xml"] = page(
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
        '<entry><title>a</title><link href="/a/atom-1"/></entry>'
        '<entry><title>b</title><link rel="alternate" href="https://b.example/2"/></entry>'
        "</feed>",
        "application/atom+xml",
    )
    urls = listing_urls(ingest_server.url("/atom.xml"), private_settings)
    assert urls == [ingest_server.url("/a/atom-1"), "https://b.example/2"]


def test_a_page_is_not_a_feed(ingest_server: FixtureServer, private_settings: Settings) -> None:
    with pytest.raises(IngestError, match="no entries found"):
        listing_urls(ingest_server.url("/article"), private_settings)


def test_public_surface_is_sorted_and_importable() -> None:
    import ingest

    assert ingest.__all__ == sorted(ingest.__all__)
    assert all(hasattr(ingest, name) for name in ingest.__all__)
