"""Fixtures shared by the whole suite: offline models, a fixture web server, a temp store."""

from __future__ import annotations

import http.server
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = FIXTURES / "pages"

# Models come from installed packages only; chroma never phones home.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"
os.environ.pop("SIGNALKB_RAISE_ERRORS", None)
os.environ.pop("SIGNALKB_HOME", None)


class _FixtureHandler(http.server.SimpleHTTPRequestHandler):
    """Serves tests/fixtures/pages, plus /image.png as a binary response."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, directory=str(PAGES), **kwargs)  # type: ignore[arg-type]

    def do_GET(self) -> None:
        if self.path == "/image.png":
            body = b"\x89PNG\r\n\x1a\n" + bytes(256)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture(scope="session")
def fixture_server() -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 serving the fixture pages; yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FixtureHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def kb_home(tmp_path: Path) -> Path:
    """An empty knowledge-base directory."""
    return tmp_path / "kb"
