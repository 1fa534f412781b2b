"""Download one URL with hard limits, checked inside the read loop.

Every hop (the first request and each redirect) passes `netguard.check_url`, and the
connected peer address is checked again before the body is read, so a host name that
resolves to a private address is refused too. The body is streamed: the size cap, the
total time limit and the decompression of gzip/deflate are all enforced chunk by chunk,
so a 50 MB page or a gzip bomb is cut off without being read or inflated in full.
5xx and 429 answers are retried with exponential backoff, honouring Retry-After up to
a cap.
"""

from __future__ import annotations

import ipaddress
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

import httpx

from ingest.netguard import AddressPolicy, check_url, is_blocked_ip
from kb.errors import BlockedAddressError, FetchError, NotHTMLError, TooLargeError
from kb.settings import Settings

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
PDF_TYPES = frozenset({"application/pdf"})
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/xml",
        "text/xml",
        "application/rdf+xml",
        "application/feed+json",
        "application/json",
    }
)
ARTICLE_TYPES = HTML_TYPES | TEXT_TYPES | PDF_TYPES

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRIED = frozenset({429, 500, 502, 503, 504})


class HTTPStatusError(FetchError):
    """An HTTP error status; keeps Retry-After so 429/503 can be retried politely."""

    def __init__(
        self, message: str, *, source: str, status: int, retry_after: str | None = None
    ) -> None:
        super().__init__(message, source=source, status=status)
        self.retry_after = retry_after


@dataclass
class FetchResult:
    """A downloaded body and what the server said about it."""

    url: str
    status: int
    media_type: str
    charset: str | None
    body: bytes
    headers: dict[str, str]


def parse_content_type(value: str) -> tuple[str, str | None]:
    """The media type (lower case) and charset of a Content-Type header value."""
    msg = Message()
    msg["content-type"] = value or ""
    media = msg.get_content_type().lower() if value else ""
    charset = msg.get_param("charset")
    return media, (str(charset).strip().lower() or None) if charset else None


def retry_delay(attempt: int, retry_after: str | None, settings: Settings) -> float:
    """Seconds to wait before retry number `attempt` (0-based), capped."""
    delay = settings.retry_backoff * (2**attempt)
    if retry_after:
        try:
            delay = max(0.0, float(retry_after))
        except ValueError:
            try:
                when = parsedate_to_datetime(retry_after)
                delay = max(0.0, when.timestamp() - time.time())
            except (TypeError, ValueError, IndexError):
                pass
    return float(min(delay, settings.retry_max_delay))


class _Decoder:
    """Undoes gzip/deflate chunk by chunk, never inflating more than `limit` bytes."""

    def __init__(self, encoding: str, source: str) -> None:
        self.source = source
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj()
        else:
            raise FetchError(f"unsupported content encoding {encoding!r}", source=source)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Decoded bytes of `data`, at most `limit` + 1 of them (one more signals overflow)."""
        if self._zlib is None:
            return data
        try:
            out = self._zlib.decompress(data, limit + 1)
        except zlib.error as exc:
            raise FetchError(f"corrupt compressed body ({exc})", source=self.source) from exc
        return out


class Fetcher:
    """Downloads URLs under the limits of one Settings; reusable (and thread-safe) in a batch.

    Args:
        settings: timeouts, size cap, redirect and retry limits, `allow_private`.
        transport: an httpx transport to use instead of the network (tests, proxies).
        sleep: how to wait between retries (tests record the waits instead).
        is_blocked: which addresses to refuse (default `netguard.is_blocked_ip`).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        is_blocked: AddressPolicy = is_blocked_ip,
    ) -> None:
        self.settings = settings
        self._sleep = sleep
        self._is_blocked = is_blocked
        timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        )
        self._client = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            # no proxies or .netrc from the environment: the guard must see the real peer
            trust_env=False,
            transport=transport,
            headers={
                "User-Agent": settings.user_agent,
                "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.5",
                "Accept-Encoding": "gzip, deflate",
            },
        )

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fetch(self, url: str, *, accept: frozenset[str] = ARTICLE_TYPES) -> FetchResult:
        """Download `url`, following redirects and retrying 5xx/429 within the limits.

        Args:
            url: an http or https URL.
            accept: media types taken as a body; anything else raises NotHTMLError.
                A response without a Content-Type is taken and sniffed later.

        Returns:
            The final URL, status, media type, declared charset and the body bytes.

        Raises:
            BlockedAddressError, FetchError, NotHTMLError, TooLargeError.
        """
        deadline = time.monotonic() + self.settings.total_timeout
        attempt = 0
        while True:
            try:
                return self._follow(url, accept, deadline)
            except FetchError as exc:
                retry_after = exc.retry_after if isinstance(exc, HTTPStatusError) else None
                if exc.status not in _RETRIED or attempt >= self.settings.retries:
                    raise FetchError(exc.message, source=url, status=exc.status) from exc
                delay = retry_delay(attempt, retry_after, self.settings)
                if time.monotonic() + delay > deadline:
                    raise FetchError(exc.message, source=url, status=exc.status) from exc
                attempt += 1
                self._sleep(delay)

    def _follow(self, url: str, accept: frozenset[str], deadline: float) -> FetchResult:
        seen: set[str] = set()
        current = url
        for _hop in range(self.settings.max_redirects + 1):
            check_url(
                current, allow_private=self.settings.allow_private, is_blocked=self._is_blocked
            )
            seen.add(current)
            try:
                with self._client.stream("GET", current) as response:
                    self._check_peer(response, current)
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        target = urljoin(current, location)
                        if target in seen:
                            raise FetchError(f"redirect loop at {target}", source=url)
                        current = target
                        continue
                    return self._read(response, current, accept, deadline)
            except httpx.InvalidURL as exc:
                raise FetchError(f"invalid URL ({exc})", source=current) from exc
            except httpx.HTTPError as exc:
                raise FetchError(describe_http_error(exc), source=current) from exc
        raise FetchError(
            f"too many redirects (more than {self.settings.max_redirects})", source=url
        )

    def _check_peer(self, response: httpx.Response, url: str) -> None:
        """Refuse a connection that landed on a blocked address (DNS changed after the check)."""
        if self.settings.allow_private:
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer:
            return
        ip = ipaddress.ip_address(str(peer[0]).split("%")[0])
        if self._is_blocked(ip):
            raise BlockedAddressError(f"private or special address {ip} refused", source=url)

    def _read(
        self, response: httpx.Response, url: str, accept: frozenset[str], deadline: float
    ) -> FetchResult:
        status = response.status_code
        if status >= 400:
            raise HTTPStatusError(
                f"HTTP {status} {response.reason_phrase}".strip(),
                source=url,
                status=status,
                retry_after=response.headers.get("retry-after"),
            )
        if status >= 300:
            raise FetchError(f"HTTP {status} without a Location header", source=url, status=status)
        media, charset = parse_content_type(response.headers.get("content-type", ""))
        if media and media not in accept:
            raise NotHTMLError(f"not an article: content type {media}", source=url)
        cap = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        compressed = "content-encoding" in response.headers
        if declared.isdigit() and int(declared) > cap and not compressed:
            raise TooLargeError(
                f"body of {int(declared)} bytes is larger than the cap of {cap} bytes", source=url
            )
        decoder = _Decoder(response.headers.get("content-encoding", ""), url)
        body = bytearray()
        # no chunk size: each network read is checked as it comes (a slow drip never piles up)
        for raw in response.iter_raw():
            body += decoder.feed(raw, cap - len(body))
            if len(body) > cap:
                raise TooLargeError(f"body larger than the cap of {cap} bytes", source=url)
            if time.monotonic() > deadline:
                raise FetchError(
                    f"download took longer than {self.settings.total_timeout:g} s", source=url
                )
        return FetchResult(
            url=str(response.url),
            status=status,
            media_type=media,
            charset=charset,
            body=bytes(body),
            headers=dict(response.headers),
        )


def describe_http_error(exc: httpx.HTTPError) -> str:
    """A short, plain reason for an httpx transport error."""
    text = str(exc).lower()
    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout"
    if isinstance(exc, httpx.ReadTimeout):
        return "read timeout (server stopped sending)"
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if "refused" in text:
        return "connection refused"
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or ("name resolution" in text)
    ):
        return "DNS lookup failed"
    if isinstance(exc, httpx.ConnectError):
        return f"connection failed ({exc})" if str(exc) else "connection failed"
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"server broke the connection ({exc})" if str(exc) else "server broke the connection"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
