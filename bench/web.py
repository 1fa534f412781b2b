"""Load test of the web UI: concurrent clients searching while an ingest job runs.

usage: python bench/web.py [--rows 10000] [--clients 20] [--seconds 30]
                           [--extractor scripted|real] [--kb DIR] [--markdown FILE]

1. Builds (or reuses, under --kb) a knowledge base of synthetic AI-news articles with about
   `--rows` table rows, embedded with the real all-MiniLM-L6-v2 (the store's embedding
   cache makes a rerun quick).
2. Starts `signalkb`'s app with uvicorn in its own process on 127.0.0.1 (a free port), and a
   page server on 127.0.0.1 with article pages to ingest.
3. Starts an ingest job through `POST /api/ingest` (the "scripted" extractor builds records
   without a language model; "real" uses the configured one, SmolLM2 by default), then runs
   `--clients` concurrent clients, each requesting the search page (HTML) with queries
   drawn from a pool of distinct ones, for `--seconds`.
4. Reports requests, errors, latency percentiles of the search page, and how far the ingest
   got in that time.

Everything binds 127.0.0.1 and stops at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import http.server
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlparse

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.records import KINDS, Article, article_id_for  # noqa: E402

TOPICS = [
    "small language models",
    "AI agents",
    "open-weight models",
    "warehouse robotics",
    "chip export rules",
    "AI regulation",
    "synthetic training data",
    "retrieval-augmented generation",
    "on-device inference",
    "AI in radiology",
    "code assistants",
    "AI safety evaluations",
    "energy use of data centres",
    "humanoid robots",
    "AI tutors",
    "deepfake detection",
    "autonomous driving",
    "protein design models",
    "AI copyright lawsuits",
    "GPU supply",
    "multimodal models",
    "speech recognition",
    "AI in customer service",
    "model distillation",
    "federated learning",
    "AI chips at the edge",
    "recommendation algorithms",
    "AI hiring tools",
    "AI weather forecasting",
    "LLM hallucinations",
]
ACTORS = [
    "startups",
    "hospitals",
    "banks",
    "governments",
    "universities",
    "retailers",
    "carmakers",
    "cloud providers",
    "newsrooms",
    "schools",
    "insurers",
    "farmers",
]
VERBS = [
    "adopt",
    "question",
    "regulate",
    "invest in",
    "build on",
    "pilot",
    "restrict",
    "open-source",
    "benchmark",
    "outsource",
]
TECHS = [
    "Phi-3",
    "GPT-4",
    "Llama 3",
    "Gemma",
    "Mistral 7B",
    "Claude",
    "Whisper",
    "YOLO",
    "AlphaFold",
    "Stable Diffusion",
    "BERT",
    "CUDA",
]
QUALIFIERS = [
    "cheaper",
    "faster",
    "riskier",
    "smaller",
    "regulated",
    "private",
    "local",
    "open",
    "cloud-based",
    "energy-hungry",
]


def row(pick: random.Random, kind: str, topic: str, other: str) -> dict[str, Any]:
    """One table row about one of an article's two topics."""
    actor, verb, q = pick.choice(ACTORS), pick.choice(VERBS), pick.choice(QUALIFIERS)
    subject = pick.choice((topic, other))
    name = (
        pick.choice(TECHS) + f" for {subject}"
        if kind == "technologies"
        else f"{actor.capitalize()} {verb} {q} {subject}"
    )
    out: dict[str, Any] = {
        "name": name,
        "description": f"More {actor} {verb} {subject}, which makes it {q} and "
        f"changes how {pick.choice(ACTORS)} work with {pick.choice(TOPICS)}.",
        "relevancy": pick.randint(1, 5),
        "evidence": f"Several {actor} said they {verb} {subject} this year.",
    }
    if kind == "signals":
        out |= {
            "change": f"From experiments to everyday use of {subject}.",
            "ten_year": f"In ten years {subject} may be {q} and routine.",
            "driving_force": f"Pressure on {actor} to cut costs.",
        }
    return out


def synthetic_articles(n_rows: int, seed: int = 7) -> list[Article]:
    """Articles of AI news with about `n_rows` rows in all (two of each kind per article)."""
    pick = random.Random(seed)
    articles = []
    for a in range(max(1, n_rows // 10)):
        topic, other = pick.sample(TOPICS, 2)
        site = f"news{a % 25}.example"
        url = f"https://{site}/{a}"

        articles.append(
            Article.model_validate(
                {
                    "id": article_id_for(url),
                    "url": url,
                    "title": f"How {pick.choice(ACTORS)} {pick.choice(VERBS)} {topic}",
                    "site": site,
                    "published": date(2023, 1, 1) + timedelta(days=pick.randint(0, 1000)),
                    "keywords": [topic, other],
                    "themes": ["artificial intelligence", topic],
                    "category": "technology",
                    "type": "news",
                    "summary": f"The article discusses {topic} and its links to {other}.",
                    **{kind: [row(pick, kind, topic, other) for _ in "ab"] for kind in KINDS},
                }
            )
        )
    return articles


def queries(n: int, seed: int = 11) -> list[str]:
    """`n` distinct search queries of the kind a reader types."""
    pick = random.Random(seed)
    pool: set[str] = set()
    while len(pool) < n:
        pool.add(f"{pick.choice(QUALIFIERS)} {pick.choice(TOPICS)} {pick.choice(ACTORS)}")
    return sorted(pool)


def build_kb(home: Path, n_rows: int) -> dict[str, int]:
    """A knowledge base at `home` with about `n_rows` rows (reused when already there)."""
    from kb.store import Store

    store = Store(home)
    if store.count()["rows"] < n_rows:
        articles = synthetic_articles(n_rows)
        for i in range(0, len(articles), 100):
            store.add_many(articles[i : i + 100])
    return store.count()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(home: Path, port: int, extractor: str) -> None:
    """Run the app (in the server subprocess) until terminated."""
    import uvicorn

    from kb.settings import Settings
    from web.app import create_app

    settings = Settings(home=home, allow_private=True)
    factory = None
    if extractor == "scripted":
        from ingest.extract import ScriptedExtractor

        factory = ScriptedExtractor
    app = create_app(settings, extractor_factory=factory, warm_up=True)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


PAGE = """<!doctype html><html><head><title>{title}</title></head><body><article>
<h1>{title}</h1><p>{body}</p></article></body></html>"""


class _Pages(http.server.BaseHTTPRequestHandler):
    """Distinct article pages (`/<run>/<n>.html`) made from the sample articles' paragraphs."""

    paragraphs: list[str] = []

    def do_GET(self) -> None:
        run, _, name = self.path.strip("/").partition("/")
        n = int(name.split(".")[0] or 0)
        pick = random.Random(f"{run}/{n}")
        chosen = pick.sample(self.paragraphs, min(12, len(self.paragraphs)))
        opening = f"Report {run}-{n}: {pick.choice(ACTORS)} and {pick.choice(TOPICS)}."
        body = "</p><p>".join(html.escape(p) for p in [opening, *chosen])
        body = PAGE.format(title=html.escape(opening), body=body)
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def wait_ready(url: str, timeout: float = 180) -> None:
    """Wait for the app to answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/api/ingest", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError("the web app did not start")


class _Connection:
    """One keep-alive HTTP/1.1 connection that sends GETs and reads whole answers.

    The load clients share the app's 2 cores, so they use bare asyncio streams: an httpx
    client spent about 1.5 ms of CPU per request here (a quarter of a core at 170 req/s),
    taken from the server it measures. Answers must carry Content-Length (uvicorn's do).
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        """Status and body of `GET target`, reconnecting when the server closed the line."""
        if self.streams is None:
            self.streams = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.streams
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        fields = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
        body = await reader.readexactly(int(fields["content-length"]))
        if fields.get("connection") == "close":
            writer.close()
            self.streams = None
        return status, body


async def load(url: str, clients: int, seconds: float, pool: list[str]) -> dict[str, Any]:
    """`clients` concurrent clients requesting the search page for `seconds`."""
    latencies: list[float] = []
    errors: list[str] = []
    asked: set[str] = set()
    repeats = 0
    deadline = time.monotonic() + seconds
    address = urlparse(url)

    async def client(n: int) -> None:
        nonlocal repeats
        pick = random.Random(n)
        connection = _Connection(address.hostname or "127.0.0.1", address.port or 80)
        while time.monotonic() < deadline:
            q = pick.choice(pool)
            repeats += q in asked
            asked.add(q)
            start = time.perf_counter()
            try:
                status, body = await connection.get("/search?" + urlencode({"q": q}))
                if status != 200 or b'class="hit"' not in body:
                    errors.append(f"{status} for {q!r}")
            except (OSError, asyncio.IncompleteReadError, KeyError, ValueError) as exc:
                connection.streams = None
                errors.append(f"{type(exc).__name__} for {q!r}")
            latencies.append((time.perf_counter() - start) * 1000)

    await asyncio.gather(*(client(n) for n in range(clients)))
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "repeats": repeats,
        "errors": len(errors),
        "error_examples": errors[:3],
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies),
        "p95": cuts[94],
        "p99": cuts[98],
        "max": max(latencies),
    }


def main() -> None:
    """Run the benchmark and print (and optionally write) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--ingest", type=int, default=200, help="pages in the ingest job")
    parser.add_argument("--extractor", choices=["scripted", "real"], default="scripted")
    parser.add_argument(
        "--kb", type=Path, default=Path(tempfile.gettempdir()) / "signalkb-bench-web"
    )
    parser.add_argument("--markdown", type=Path, help="write the figures as a Markdown table")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.kb, args.port, args.extractor)
        return

    load_before = os.getloadavg()
    started = time.perf_counter()
    counts = build_kb(args.kb, args.rows)
    print(f"knowledge base: {counts} ({time.perf_counter() - started:.0f} s to build/open)")

    samples = [p for p in (ROOT / "data" / "samples").iterdir() if p.name != "README.md"]
    _Pages.paragraphs = [
        line.strip(" #*-")
        for p in samples
        for line in p.read_text(encoding="utf-8").splitlines()
        if len(line.strip()) > 80
    ]
    pages = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    threading.Thread(target=pages.serve_forever, daemon=True).start()
    pages_url = f"http://127.0.0.1:{pages.server_address[1]}"

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    command = [sys.executable, __file__, "--serve", "--kb", str(args.kb), "--port", str(port)]
    server = subprocess.Popen([*command, "--extractor", args.extractor], env=env)
    try:
        wait_ready(url)
        pool = queries(args.queries)
        httpx.get(url + "/search", params={"q": "warm up the model"}, timeout=120)
        job = None
        if args.ingest:
            run = f"{time.time():.0f}"
            urls = "\n".join(f"{pages_url}/{run}/{i}.html" for i in range(args.ingest))
            answer = httpx.post(url + "/api/ingest", data={"urls": urls}, timeout=30)
            answer.raise_for_status()
            job = answer.json()["job"]
        figures = asyncio.run(load(url, args.clients, args.seconds, pool))
        figures["ingested"] = figures["ingest_failed"] = 0
        figures["ingest_counts"] = {}
        if job:
            progress = httpx.get(f"{url}/api/ingest/{job['id']}", timeout=30).json()["job"]
            figures["ingested"] = progress["counts"].get("stored", 0)
            figures["ingest_failed"] = progress["counts"].get("failed", 0)
            figures["ingest_counts"] = progress["counts"]
            figures["ingest_example"] = progress["entries"][0]
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        pages.shutdown()

    rows = counts["rows"]
    print(
        f"{args.clients} clients, {args.seconds:.0f} s, {rows} rows, extractor {args.extractor}: "
        f"{figures['requests']} requests ({figures['rps']:.1f}/s), {figures['errors']} errors; "
        f"{figures['repeats']} repeated a query asked before in the run; "
        f"search page p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms, "
        f"p99 {figures['p99']:.0f} ms, max {figures['max']:.0f} ms; "
        f"ingested during the run: {figures['ingested']} stored, {figures['ingest_failed']} failed"
    )
    print("ingest job:", figures["ingest_counts"], "e.g.", figures.get("ingest_example", ""))
    print("load average before the run: {:.2f} {:.2f} {:.2f}".format(*load_before))
    if figures["error_examples"]:
        print("errors, e.g.:", figures["error_examples"])
    if args.markdown:
        line = (
            f"| {rows:,} | {args.clients} | {args.seconds:.0f} s | {args.extractor} | "
            f"{figures['requests']:,} | {figures['errors']} | {figures['p50']:.0f} | "
            f"{figures['p95']:.0f} | {figures['p99']:.0f} | {figures['ingested']} |"
        )
        args.markdown.write_text(line + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
