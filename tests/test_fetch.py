"""The hostile-input suite: a real 127.0.0.1 server misbehaving in every way we know.

Each case must end in one clear, typed error naming the URL (or in the right text),
quickly, without reading a huge or endless body in full.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import time
from collections.abc import Iterator

import pytest

from ingest.fetch import Fetcher, parse_content_type, retry_delay
from ingest.netguard import IPAddress, check_url, is_blocked_ip
from ingest.sources import load_document
from kb.errors import (
    BlockedAddressError,
    FetchError,
    NoTextError,
    NotHTMLError,
    TooLargeError,
)
from kb.settings import Settings
from tests import ingest_fixtures
from tests.ingest_fixtures import PARAGRAPHS, FixtureServer, free_port

pytestmark = pytest.mark.slow

ingest_server = ingest_fixtures.ingest_server
private_settings = ingest_fixtures.private_settings


def only_loopback_allowed(ip: IPAddress) -> bool:
    """The default policy, except that this test server's loopback address is reachable."""
    return not ip.is_loopback and is_blocked_ip(ip)


def load(server: FixtureServer, path: str, settings: Settings):  # noqa: ANN201
    return load_document(server.url(path), settings)


# --- connection failures and timeouts ------------------------------------------------


def test_connection_refused(private_settings: Settings) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(FetchError, match="connection refused"):
        load_document(url, private_settings)


def test_dns_failure(private_settings: Settings) -> None:
    url = "http://no-such-host.invalid/article"
    with pytest.raises(FetchError, match="DNS lookup failed") as caught:
        load_document(url, Settings(connect_timeout=2.0))
    assert caught.value.source == url
    with pytest.raises(FetchError, match="DNS lookup failed"):
        load_document(url, private_settings)


@pytest.fixture
def full_backlog_port() -> Iterator[int]:
    """A listening port whose accept queue is full, so new connections hang."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    yield port
    for sock in [*fillers, listener]:
        sock.close()


def test_connect_timeout(full_backlog_port: int, private_settings: Settings) -> None:
    settings = private_settings.model_copy(update={"connect_timeout": 0.5, "retries": 0})
    started = time.monotonic()
    with pytest.raises(FetchError, match="connect timeout"):
        load_document(f"http://127.0.0.1:{full_backlog_port}/", settings)
    assert time.monotonic() - started < 5


def test_read_timeout_when_server_stalls(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    settings = private_settings.model_copy(update={"read_timeout": 0.5})
    started = time.monotonic()
    with pytest.raises(FetchError, match="read timeout"):
        load(ingest_server, "/slow-headers", settings)
    assert time.monotonic() - started < 2.5


def test_slow_drip_body_hits_the_total_timeout(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    # every chunk arrives well within the read timeout; only the total limit can stop it
    settings = private_settings.model_copy(update={"read_timeout": 2.0, "total_timeout": 1.0})
    started = time.monotonic()
    with pytest.raises(FetchError, match="download took longer than 1 s"):
        load(ingest_server, "/slow-drip", settings)
    assert time.monotonic() - started < 3
    assert ingest_server.sent["/slow-drip"] < 200_000


# --- HTTP statuses and retries -------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "message"), [("/gone", "HTTP 410 Gone"), ("/no-such", "HTTP 404 Not Found")]
)
def test_client_errors_are_not_retried(
    ingest_server: FixtureServer, private_settings: Settings, path: str, message: str
) -> None:
    before = ingest_server.hits[path]
    with pytest.raises(FetchError) as caught:
        load(ingest_server, path, private_settings)
    assert caught.value.message == message
    assert ingest_server.hits[path] - before == 1


def test_5xx_is_retried_until_it_succeeds(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    doc = load(ingest_server, "/flaky-503", private_settings)
    assert PARAGRAPHS[0] in doc.text
    assert ingest_server.hits["/flaky-503"] == 3


def test_5xx_gives_up_after_the_retry_cap(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    settings = private_settings.model_copy(update={"retries": 3})
    with pytest.raises(FetchError, match="HTTP 503 Service Unavailable") as caught:
        load(ingest_server, "/always-503", settings)
    assert caught.value.status == 503
    assert ingest_server.hits["/always-503"] == 4


def test_429_honours_retry_after_up_to_the_cap(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    waits: list[float] = []
    settings = private_settings.model_copy(update={"retry_max_delay": 5.0})
    with Fetcher(settings, sleep=waits.append) as fetcher:
        result = fetcher.fetch(ingest_server.url("/rate-limited"))
    assert result.status == 200
    assert waits == [5.0]  # Retry-After: 7, capped at 5


def test_backoff_doubles_and_is_capped() -> None:
    settings = Settings(retry_backoff=0.5, retry_max_delay=3.0)
    assert [retry_delay(n, None, settings) for n in range(4)] == [0.5, 1.0, 2.0, 3.0]
    assert retry_delay(0, "2", settings) == 2.0
    assert retry_delay(0, "Wed, 21 Oct 2015 07:28:00 GMT", settings) == 0.0
    assert retry_delay(1, "soon", settings) == 1.0


# --- redirects -------------------------------------------------------------------------


def test_redirect_is_followed(ingest_server: FixtureServer, private_settings: Settings) -> None:
    with Fetcher(private_settings) as fetcher:
        result = fetcher.fetch(ingest_server.url("/redirect"))
    assert result.url == ingest_server.url("/article")


def test_redirect_loop(ingest_server: FixtureServer, private_settings: Settings) -> None:
    url = ingest_server.url("/loop-a")
    with pytest.raises(FetchError, match="redirect loop") as caught:
        load_document(url, private_settings)
    assert caught.value.source == url


def test_redirect_chain_is_capped(ingest_server: FixtureServer, private_settings: Settings) -> None:
    before = ingest_server.hits["/chain/0"]
    with pytest.raises(FetchError, match=r"too many redirects \(more than 5\)"):
        load(ingest_server, "/chain/0", private_settings)
    assert ingest_server.hits["/chain/0"] - before == 1
    assert ingest_server.hits["/chain/6"] == 0


@pytest.mark.parametrize("path", ["/to-metadata", "/to-private"])
def test_redirect_to_a_private_address_is_refused(
    ingest_server: FixtureServer, private_settings: Settings, path: str
) -> None:
    settings = private_settings.model_copy(update={"allow_private": False})
    fetcher = Fetcher(settings, is_blocked=only_loopback_allowed)
    with fetcher, pytest.raises(BlockedAddressError, match="private or special address"):
        fetcher.fetch(ingest_server.url(path))


def test_redirect_to_another_scheme_is_refused(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    with pytest.raises(BlockedAddressError, match="scheme 'file' not allowed"):
        load(ingest_server, "/to-file", private_settings)


# --- addresses -------------------------------------------------------------------------


def test_hostname_resolving_to_loopback_is_refused(ingest_server: FixtureServer) -> None:
    url = f"http://localhost:{ingest_server.port}/probe"
    with pytest.raises(BlockedAddressError):
        load_document(url, Settings())
    assert ingest_server.hits["/probe"] == 0


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "169.254.169.254",
        "0.0.0.0",
        "::1",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
    ],
)
def test_private_and_special_addresses_are_blocked(address: str) -> None:
    assert is_blocked_ip(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(BlockedAddressError):
        check_url(f"http://{host}/x", allow_private=False)
    check_url(f"http://{host}/x", allow_private=True)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700::6810:85e5", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert not is_blocked_ip(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "url",
    ["ftp://example.com/a", "file:///etc/passwd", "javascript:alert(1)", "gopher://127.0.0.1/"],
)
def test_only_http_and_https(url: str) -> None:
    with pytest.raises(BlockedAddressError, match="not allowed"):
        check_url(url, allow_private=True)


# --- bodies ----------------------------------------------------------------------------


def test_50mb_declared_body_is_refused_before_reading(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    with pytest.raises(TooLargeError, match="larger than the cap of 10000000 bytes"):
        load(ingest_server, "/huge-declared", private_settings)
    assert ingest_server.sent["/huge-declared"] < 20_000_000


def test_50mb_streamed_body_is_cut_at_the_cap(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    started = time.monotonic()
    with pytest.raises(TooLargeError, match="larger than the cap of 10000000 bytes"):
        load(ingest_server, "/huge-chunked", private_settings)
    assert time.monotonic() - started < 10
    time.sleep(0.2)  # let the server notice the closed connection
    assert ingest_server.sent["/huge-chunked"] < 30_000_000


def test_gzip_bomb_is_cut_while_inflating(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    started = time.monotonic()
    with pytest.raises(TooLargeError):
        load(ingest_server, "/gzip-bomb", private_settings)
    assert time.monotonic() - started < 5


def test_gzip_page_is_inflated(ingest_server: FixtureServer, private_settings: Settings) -> None:
    doc = load(ingest_server, "/article-gzip", private_settings)
    assert PARAGRAPHS[3] in doc.text


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/image.png", "content type image/png"),
        ("/binary", "content type application/octet-stream"),
        ("/binary-as-html", "binary content served as text/html"),
    ],
)
def test_binary_content_is_not_an_article(
    ingest_server: FixtureServer, private_settings: Settings, path: str, message: str
) -> None:
    with pytest.raises(NotHTMLError, match=message):
        load(ingest_server, path, private_settings)


def test_missing_content_type_is_sniffed(
    ingest_server: FixtureServer, private_settings: Settings
) -> None:
    assert PARAGRAPHS[1] in load(ingest_server, "/no-content-type", private_settings).text


@pytest.mark.parametrize(
    "path",
    ["/latin1-undeclared", "/latin1-labelled-utf8", "/utf8-labelled-latin1", "/bogus-charset"],
)
def test_wrong_or_missing_charsets_decode_correctly(
    ingest_server: FixtureServer, private_settings: Settings, path: str
) -> None:
    doc = load(ingest_server, path, private_settings)
    assert "roughly café-side forty minutes" in doc.text


def test_page_without_main_text(ingest_server: FixtureServer, private_settings: Settings) -> None:
    with pytest.raises(NoTextError, match="no main text found"):
        load(ingest_server, "/nav-only", private_settings)


def test_huge_single_line_page(ingest_server: FixtureServer, private_settings: Settings) -> None:
    started = time.monotonic()
    doc = load(ingest_server, "/one-line", private_settings)
    assert PARAGRAPHS[2] in doc.text
    assert time.monotonic() - started < 20


def test_content_type_parsing() -> None:
    assert parse_content_type('text/HTML; Charset="ISO-8859-1"') == ("text/html", "iso-8859-1")
    assert parse_content_type("") == ("", None)
    assert parse_content_type("application/xhtml+xml") == ("application/xhtml+xml", None)


def test_dns_rebinding_is_caught_at_the_connected_peer(
    ingest_server: FixtureServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the check sees a public address; the connection then lands on 127.0.0.1
    public = ipaddress.ip_address("93.184.216.34")
    monkeypatch.setattr("ingest.netguard.resolve_host", lambda host, port: [public])
    url = f"http://localhost:{ingest_server.port}/probe"
    with pytest.raises(BlockedAddressError, match="127.0.0.1"):
        load_document(url, Settings())
