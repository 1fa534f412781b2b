"""Client/server mode against a real `chroma run` on 127.0.0.1, started by the test."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from kb.embed import MiniLMEmbedder
from kb.search import search
from kb.store import Store
from signalkb.cli import cli
from tests.kb_fixtures import make_article

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A chroma server on a free 127.0.0.1 port, ready when its heartbeat answers."""
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    data = tmp_path_factory.mktemp("chroma-server")
    log = (data / "server.log").open("wb")
    server = subprocess.Popen(
        [
            str(chroma),
            "run",
            "--path",
            str(data / "db"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chroma server did not start: {(data / 'server.log').read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def test_store_through_the_server(chroma_url: str, tmp_path: Path) -> None:
    writer = Store(tmp_path / "a", embedder=MiniLMEmbedder(), chroma_url=chroma_url)
    reader = Store(tmp_path / "b", embedder=MiniLMEmbedder(), chroma_url=chroma_url)
    slm, energy = make_article("slm"), make_article("energy")
    writer.add_many([slm, energy])
    assert reader.get(slm.url) == slm
    assert search(reader, "Phi-3", limit=1)[0].row.item.name == "Phi-3"
    writer.add(slm.model_copy(update={"issues": []}))
    writer.delete(energy.id)
    reader._live._checked_at = 0.0  # skip the one-second wait between journal checks
    assert reader.count() == {"articles": 1, "rows": 4}
    assert {h.row.article_id for h in search(reader, "power grid electricity")} == {slm.id}


def test_cli_with_chroma_url(chroma_url: str, tmp_path: Path) -> None:
    Store(tmp_path / "a", embedder=MiniLMEmbedder(), chroma_url=chroma_url).add(
        make_article("robots")
    )
    args = ["--kb", str(tmp_path / "cli"), "--chroma-url", chroma_url]
    result = CliRunner().invoke(cli, [*args, "search", "robots watch videos", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["title"] == "Warehouse robots learn from video"
    stats = json.loads(CliRunner().invoke(cli, [*args, "stats", "--json"]).output)
    assert stats["server"] == chroma_url and stats["articles"] >= 1
