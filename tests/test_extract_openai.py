"""The OpenAI-compatible backend against a real `python -m llama_cpp.server` on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from ingest.document import Document
from ingest.extract import SLMExtractor, make_extractor
from ingest.extract.base import Message
from ingest.extract.llamacpp import packaged_model_path
from ingest.extract.openai_compat import OpenAICompatModel
from ingest.extract.text import is_verbatim
from kb.errors import BackendError
from kb.settings import Settings

SCHEMA = {
    "type": "object",
    "properties": {"kind": {"type": "string", "enum": ["model", "person"]}},
    "required": ["kind"],
}
QUESTION = "Is Mistral 7B a model or a person?"
ARTICLE = (
    "Companies now deploy small language models on laptops to cut cloud costs. "
    "Regulators worry that cheap models make disinformation easier to produce. "
    "Researchers at Acme released Widget-7B, a model trained on public data. "
    "The debate over open weights and safety continues in parliament."
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """A real llama.cpp OpenAI-compatible server serving SmolLM2; yields its /v1 URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "llama_cpp.server",
            "--model", str(packaged_model_path("smollm2")),
            "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", "2048", "--n_threads", "1", "--seed", "1234",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not start")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.slow
def test_schema_goes_through_json_object_on_llama_server(llama_server: str) -> None:
    model = OpenAICompatModel(llama_server, "smollm2")
    raw = model.complete([Message("user", QUESTION)], json_schema=SCHEMA)
    assert json.loads(raw)["kind"] in ("model", "person")
    assert model.mode == "json_object"
    model.close()


@pytest.mark.slow
def test_rejected_json_schema_falls_back_to_prompt_mode(llama_server: str) -> None:
    # llama.cpp's server refuses OpenAI's json_schema format; the backend moves on.
    model = OpenAICompatModel(llama_server, "smollm2", modes=("json_schema", "prompt"))
    raw = model.complete([Message("user", QUESTION)], json_schema=SCHEMA)
    assert model.mode == "prompt"
    assert raw.strip()
    model.close()


@pytest.mark.slow
def test_extractor_over_the_server_gives_a_grounded_record(llama_server: str) -> None:
    settings = Settings(backend="openai", openai_base_url=llama_server, openai_model="smollm2")
    extractor = make_extractor(settings)
    assert isinstance(extractor, SLMExtractor)
    extractor.rows_per_table = 2
    document = Document(source="t", url="https://example.com/a", title="Small models", text=ARTICLE)
    record = extractor.extract(document)
    assert record.extractor.startswith("openai:smollm2@")
    assert record.summary
    for _, _, item in record.all_items():
        assert is_verbatim(item.evidence, ARTICLE)
    assert record.incomplete == bool(record.missing_sections())


def test_unreachable_server_is_a_backend_error(closed_port: int) -> None:
    model = OpenAICompatModel(f"http://127.0.0.1:{closed_port}/v1", timeout=2)
    with pytest.raises(BackendError, match="unreachable"):
        model.complete([Message("user", "hi")])


def test_missing_base_url_is_a_backend_error() -> None:
    with pytest.raises(BackendError, match="SIGNALKB_OPENAI_BASE_URL"):
        make_extractor(Settings(backend="openai", openai_base_url=""))
