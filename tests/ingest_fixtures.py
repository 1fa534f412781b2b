"""A real threaded HTTP server on 127.0.0.1 with good and hostile routes, for ingest tests.

Each route is a function of the request handler; the server counts hits per path and
the bytes each route managed to send, so tests can check that a body was cut off
without being read in full.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import random
import socket
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kb.settings import Settings

Route = Callable[[http.server.BaseHTTPRequestHandler], None]

PARAGRAPHS = [
    "Regional hospitals are moving clinical note summarisation onto small open-weight "
    "language models that run on a single workstation inside the hospital network, "
    "because patient records may not leave the building under the new data rules.",
    "The shift is driven by cost as much as by privacy: a quantised model of three billion "
    "parameters answers in under a second on commodity hardware, while a hosted frontier "
    "model bills every token and sends protected health information to a third party.",
    "Doctors at the pilot sites report that the drafts save them roughly forty minutes a "
    "shift, although every summary is still read and signed by a clinician before it is "
    "filed, and the models are barred from suggesting diagnoses or medication changes.",
    "Critics warn that small models hallucinate dosages and misread abbreviations more often "
    "than larger ones, and that hospitals lack the staff to audit them. Regulators are now "
    "drafting rules that would require a logged human review of every generated note.",
    "Vendors are responding with fine-tuned variants trained on de-identified notes and with "
    "evaluation suites that measure omissions as well as fabrications. Within a decade, the "
    "pilots suggest, on-premise assistants could be as ordinary as the dictation software "
    "they replace.",
]
ARTICLE_TITLE = "Hospitals turn to small open-weight models for clinical notes"
CANONICAL = "https://healthtech.example.org/2026/03/small-models-clinical-notes"
BOILERPLATE = "Subscribe to our newsletter"


def article_html(
    paragraphs: list[str] = PARAGRAPHS,
    *,
    title: str = ARTICLE_TITLE,
    canonical: str | None = CANONICAL,
    charset_meta: str | None = "utf-8",
    one_line: bool = False,
) -> str:
    """A realistic news page: navigation, the article, a newsletter box, related links."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    head = [f'<meta charset="{charset_meta}">' if charset_meta else ""]
    if canonical:
        head.append(f'<link rel="canonical" href="{canonical}">')
    page = f"""<!doctype html>
<html lang="en-GB"><head>{"".join(head)}
<title>{title} | Health Tech Weekly</title>
<meta property="og:site_name" content="Health Tech Weekly">
<meta property="og:title" content="{title}">
<meta name="author" content="Maria Okafor">
<meta property="article:published_time" content="2026-03-14T09:30:00Z">
</head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/about">About us</a></nav>
<header><h1>{title}</h1><p class="byline">By Maria Okafor, 14 March 2026</p></header>
<main><article>
{body}
</article>
<aside class="newsletter"><h3>{BOILERPLATE}</h3><p>Weekly health-tech news.</p></aside>
<section class="related"><h3>Related</h3><ul><li><a href="/a">Robots in surgery</a></li>
<li><a href="/b">The cloud bill shock</a></li></ul></section>
</main>
<footer>Copyright 2026 Health Tech Weekly. All rights reserved.</footer>
</body></html>"""
    return page.replace("\n", " ") if one_line else page


class FixtureServer:
    """A ThreadingHTTPServer on 127.0.0.1:0 with a table of routes."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.sent: Counter[str] = Counter()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                server.hits[path] += 1
                route = server.routes.get(path)
                try:
                    if route is None:
                        send(self, 404, b"<h1>Not Found</h1>", "text/html")
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            def handle(self) -> None:
                # the client hangs up on purpose (size cap, timeouts)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

            def log_message(self, format: str, *args: object) -> None:
                """Keep the test output quiet."""

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = int(self.httpd.server_address[1])
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return f"http://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> FixtureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(
    handler: http.server.BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str | None,
    headers: dict[str, str] | None = None,
) -> None:
    """Write a complete response."""
    handler.send_response(status)
    if content_type:
        handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def page(
    body: bytes | str,
    content_type: str | None = "text/html; charset=utf-8",
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Route:
    """A route that always answers the same response."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return lambda h: send(h, status, data, content_type, headers)


def redirect(target: str, status: int = 302) -> Route:
    """A route that redirects to `target`."""
    return lambda h: send(h, status, b"", "text/html", {"Location": target})


def streamed(
    path: str,
    server: FixtureServer,
    total: int,
    *,
    chunk: int = 65_536,
    delay: float = 0.0,
    content_length: bool = True,
) -> Route:
    """A route sending `total` bytes of HTML filler in chunks, counting what it sent."""

    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html; charset=utf-8")
        if content_length:
            h.send_header("Content-Length", str(total))
        else:
            h.close_connection = True
            h.send_header("Connection", "close")
        h.end_headers()
        block = (b"<p>filler " + b"x" * 80 + b"</p>\n") * (chunk // 96 + 1)
        left = total
        while left > 0:
            piece = block[: min(chunk, left)]
            h.wfile.write(piece)
            h.wfile.flush()
            server.sent[path] += len(piece)
            left -= len(piece)
            if delay:
                time.sleep(delay)

    return route


def flaky(failures: int, status: int, good: Route, headers: dict[str, str] | None = None) -> Route:
    """A route that fails `failures` times with `status`, then serves `good`."""
    count = Counter[str]()

    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        count["n"] += 1
        if count["n"] <= failures:
            send(h, status, b"busy", "text/plain", headers)
        else:
            good(h)

    return route


def sleeping(seconds: float, then: Route) -> Route:
    """A route that waits before answering (headers included)."""

    def route(h: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        then(h)

    return route


@functools.lru_cache(maxsize=2)
def gzip_bomb(inflated: int) -> bytes:
    """Gzip of `inflated` zero bytes (about a thousandth of that size)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(inflated >> 20)]
    parts.append(compressor.flush())
    return b"".join(parts)


def install_routes(server: FixtureServer) -> None:
    """The routes the ingest tests use, good and hostile."""
    html = article_html()
    latin = article_html(
        [p.replace("roughly", "roughly café-side") for p in PARAGRAPHS], charset_meta=None
    )
    r = server.routes
    r["/article"] = page(html)
    r["/probe"] = page(html)
    r["/article-gzip"] = page(gzip.compress(html.encode()), headers={"Content-Encoding": "gzip"})
    r["/no-canonical"] = page(article_html(canonical=None))
    r["/text"] = page("\n\n".join([ARTICLE_TITLE, *PARAGRAPHS]), "text/plain; charset=utf-8")
    r["/no-content-type"] = page(html, None)
    r["/image.png"] = page(b"\x89PNG\r\n\x1a\n" + bytes(2048), "image/png")
    r["/binary"] = page(bytes(range(256)) * 40, "application/octet-stream")
    r["/binary-as-html"] = page(b"\x00\x01\x02" * 5000, "text/html")
    r["/gone"] = page("<h1>Gone</h1>", status=410)
    r["/server-error"] = page("<h1>oops</h1>", status=500)
    r["/nav-only"] = page(
        "<html><body><nav><a href='/'>Home</a><a href='/x'>News</a></nav>"
        "<footer>Copyright 2026</footer></body></html>"
    )
    r["/one-line"] = page(article_html(PARAGRAPHS * 400, one_line=True).replace("<p>", "<p> "))
    r["/latin1-undeclared"] = page(latin.encode("cp1252"), "text/html")
    r["/latin1-labelled-utf8"] = page(latin.encode("cp1252"), "text/html; charset=utf-8")
    r["/utf8-labelled-latin1"] = page(latin.encode("utf-8"), "text/html; charset=iso-8859-1")
    r["/bogus-charset"] = page(latin.encode("utf-8"), "text/html; charset=x-no-such-charset")
    r["/redirect"] = redirect("/article")
    r["/loop-a"] = redirect("/loop-b")
    r["/loop-b"] = redirect("/loop-a")
    for i in range(30):
        r[f"/chain/{i}"] = redirect(f"/chain/{i + 1}")
    r["/to-metadata"] = redirect("http://169.254.169.254/latest/meta-data/")
    r["/to-private"] = redirect("http://10.0.0.7/admin")
    r["/to-file"] = redirect("file:///etc/passwd")
    r["/flaky-503"] = flaky(2, 503, page(html), {"Retry-After": "0"})
    r["/always-503"] = page("busy", "text/plain", status=503)
    r["/rate-limited"] = flaky(1, 429, page(html), {"Retry-After": "7"})
    r["/slow-headers"] = sleeping(3.0, page(html))
    r["/huge-declared"] = streamed("/huge-declared", server, 50_000_000)
    r["/huge-chunked"] = streamed("/huge-chunked", server, 50_000_000, content_length=False)
    r["/slow-drip"] = streamed("/slow-drip", server, 200_000, chunk=64, delay=0.2)
    r["/gzip-bomb"] = page(gzip_bomb(200 << 20), headers={"Content-Encoding": "gzip"})


OTHER_PARAGRAPHS = [
    "Chip makers are racing to design accelerators that fall just below the performance "
    "thresholds of the latest export-control rules, so that they can still be sold abroad.",
    "Analysts expect the rules to be tightened again within a year, which would strand the "
    "new designs and push buyers toward domestic alternatives that are only now maturing.",
    "Meanwhile, cloud providers are stockpiling the older parts, and second-hand prices for "
    "data-centre GPUs have risen for the third quarter in a row, according to brokers.",
]


_SUBJECTS = [
    "Hospital networks",
    "Chip makers",
    "Regulators",
    "Startups",
    "Universities",
    "Cloud providers",
    "Newsrooms",
    "Banks",
    "City councils",
    "Open-source projects",
]
_VERBS = [
    "are quietly adopting",
    "are pushing back against",
    "have begun auditing",
    "plan to standardise",
    "are spending heavily on",
    "remain sceptical of",
    "are experimenting with",
    "have banned",
    "are rewriting contracts around",
    "keep underestimating",
]
_OBJECTS = [
    "small language models",
    "on-device assistants",
    "synthetic training data",
    "energy-hungry data centres",
    "AI-written code",
    "agentic workflows",
    "model licensing terms",
    "automated hiring tools",
    "retrieval pipelines",
    "open-weight releases",
]
_TAILS = [
    "according to a survey published this week",
    "despite warnings from their staff",
    "because budgets for cloud services were cut",
    "after a string of public failures",
    "as insurers start asking questions",
    "while the rules are still being written",
    "to keep sensitive records on their own hardware",
    "ahead of the next funding round",
    "in a bid to cut costs by a third",
    "following pressure from their customers",
]


def story(seed: int, sentences: int = 14) -> list[str]:
    """Paragraphs of a distinct made-up news story (deterministic per seed)."""
    rng = random.Random(seed)
    said = [
        f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)}, "
        f"{rng.choice(_TAILS)}, said analyst number {rng.randint(1, 99999)}."
        for _ in range(sentences)
    ]
    return [" ".join(said[i : i + 3]) for i in range(0, sentences, 3)]


def article_routes(server: FixtureServer, count: int) -> list[str]:
    """`count` distinct article pages, each its own story; returns their paths."""
    start = len([p for p in server.routes if p.startswith("/a/")])
    paths = []
    for i in range(start, start + count):
        html = article_html(story(i), title=f"Report {i}", canonical=None)
        path = f"/a/{i}"
        server.routes[path] = page(html)
        paths.append(path)
    return paths


def rss(server: FixtureServer, paths: list[str]) -> str:
    """An RSS 2.0 feed whose entries link to these paths on the server."""
    items = "".join(
        f"<item><title>Item {i}</title><link>{server.url(p)}</link></item>"
        for i, p in enumerate(paths)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Fixture feed</title>'
        f"<link>{server.url('/')}</link>{items}</channel></rss>"
    )


def sitemap(server: FixtureServer, paths: list[str]) -> str:
    """An XML sitemap listing these paths."""
    locs = "".join(f"<url><loc>{server.url(p)}</loc></url>" for p in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'
    )


@pytest.fixture(scope="module")
def ingest_server() -> Iterator[FixtureServer]:
    """The hostile-and-good fixture server, one per test module."""
    with FixtureServer() as server:
        install_routes(server)
        yield server


@pytest.fixture
def private_settings(tmp_path: Path) -> Settings:
    """Settings that let tests reach their 127.0.0.1 server, with short limits."""
    return Settings(
        home=tmp_path / "kb",
        allow_private=True,
        connect_timeout=2.0,
        read_timeout=1.0,
        total_timeout=10.0,
        retry_backoff=0.01,
        retry_max_delay=0.05,
    )


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def minimal_pdf(lines: list[str]) -> bytes:
    """A valid one-page PDF whose text layer holds `lines` (Helvetica, one per line)."""
    text = (
        "BT /F1 11 Tf 50 780 Td 14 TL "
        + " ".join(
            "({}) '".format(line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)"))
            for line in lines
        )
        + " ET"
    )
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(text)} >>\nstream\n{text}\nendstream",
        "<< /Title (A PDF report on small models) >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode("latin-1")
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def run_cli_with_echo_extractor() -> None:
    """`signalkb` with a fast fake extractor, for subprocess tests that must not load the SLM.

    Usage: `python -m tests.ingest_fixtures ingest ...` (same arguments as `signalkb`).
    SIGNALKB_TEST_EXTRACT_DELAY (seconds) slows each extraction down so a test can kill
    the process half-way; SIGNALKB_TEST_HASH_EMBEDDER=1 swaps MiniLM for the hash
    embedder so the process starts in a second (chromadb stays real).
    """
    import os

    from ingest.extract.scripted import ScriptedExtractor
    from signalkb.cli import main
    from signalkb.compose import Parts
    from tests.fakes import hash_embedder

    delay = float(os.environ.get("SIGNALKB_TEST_EXTRACT_DELAY", "0"))

    class SlowEcho(ScriptedExtractor):
        def extract(self, document):  # type: ignore[no-untyped-def]
            time.sleep(delay)
            return super().extract(document)

    parts = Parts(extractor=lambda settings, embedder: SlowEcho())
    if os.environ.get("SIGNALKB_TEST_HASH_EMBEDDER"):
        parts = Parts(embedder=hash_embedder, extractor=parts.extractor)
    main(parts)


if __name__ == "__main__":
    run_cli_with_echo_extractor()
