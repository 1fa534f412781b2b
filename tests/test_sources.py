"""load_document end to end: a real 127.0.0.1 server, real files, real trafilatura."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

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
