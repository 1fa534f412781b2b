"""llama.cpp as users run it: a portable build, and a model worker whose crash costs one
article, never the batch or the server (issue 10)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from ingest.extract import adapter_for, make_extractor
from ingest.extract.base import Message
from ingest.extract.buildinfo import cpu_flags, parse_system_info, read_build
from ingest.extract.llamaproc import LlamaProcessModel
from kb.embed import HashEmbedder
from kb.errors import BackendError, NotFoundError
from kb.settings import Settings
from kb.store import Store
from signalkb.cli import cli
from tests.conftest import PAGES
from tests.web_fixtures import app_for

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

CLINICS = "open-weights-clinics.html"
CHIPS = "chip-export-rules.txt"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kill_when_busy(model: LlamaProcessModel, sig: int, timeout: float = 300.0) -> threading.Thread:
    """In the background: send `sig` to the model's worker once it is generating."""

    def watch() -> None:
        pid = model.worker.pid
        assert pid is not None
        idle = cpu_seconds(pid)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if cpu_seconds(pid) - idle > 0.3:  # it is working on a prompt
                os.kill(pid, sig)
                return
            time.sleep(0.02)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="module")
def worker_model() -> LlamaProcessModel:
    """The default model (SmolLM2, no adapter unless configured) in its worker, loaded:
    the worker the default extractor will share."""
    model = LlamaProcessModel("smollm2", lora_path=adapter_for(Settings()))
    model.load()
    return model


def test_parse_system_info_reads_llama_cpp_feature_line() -> None:
    line = "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 0 | AMX_INT8 = 0 | LLAMAFILE = 1 | "
    assert parse_system_info(line) == {
        "SSE3": True,
        "AVX": True,
        "AVX2": False,
        "AMX_INT8": False,
        "LLAMAFILE": True,
    }


def test_llama_build_has_no_amx_and_matches_this_cpu() -> None:
    build = read_build()
    assert not build.has_amx_kernels, "libggml-cpu.so holds ggml_backend_amx kernels"
    assert build.cpu_flags == cpu_flags()
    assert build.unsupported() == [], "compiled for instruction sets this CPU lacks"
    assert build.unused() == [], "instruction sets this CPU has were left off"
    assert build.features.get("AMX_INT8", False) is False
    if "avx2" in build.cpu_flags:
        assert {"AVX2", "FMA", "F16C"} <= set(build.enabled())


def test_models_of_one_file_share_one_worker(worker_model: LlamaProcessModel) -> None:
    other = LlamaProcessModel("smollm2", lora_path=worker_model.lora_path)
    assert other.worker is worker_model.worker
    answer = other.complete([Message("user", "Name one colour.")], max_tokens=8)
    assert answer.strip()
    assert worker_model.count_tokens("small language models") > 1
    assert worker_model.worker.pid not in (None, os.getpid())


def test_a_crashed_worker_fails_the_call_and_the_next_call_restarts_it(
    worker_model: LlamaProcessModel,
) -> None:
    old = worker_model.worker.pid
    assert old is not None
    thread = kill_when_busy(worker_model, signal.SIGSEGV)
    with pytest.raises(BackendError, match=r"model process died: signal 11 \(SIGSEGV\)"):
        worker_model.complete([Message("user", "Write a long story about chips.")], max_tokens=400)
    thread.join()
    answer = worker_model.complete([Message("user", "Name one colour.")], max_tokens=8)
    assert answer.strip()
    assert worker_model.worker.pid not in (None, old)


def test_a_missing_model_file_fails_before_any_worker_starts(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match="model file not found"):
        LlamaProcessModel(str(tmp_path / "nope.gguf"))


@pytest.mark.slow
def test_cli_batch_loses_only_the_article_whose_worker_died(
    worker_model: LlamaProcessModel, tmp_path: Path
) -> None:
    home = tmp_path / "kb"
    first, second = PAGES / CHIPS, tmp_path / "second.md"
    second.write_text((PAGES / CHIPS).read_text(encoding="utf-8").replace("chip", "wafer"))
    thread = kill_when_busy(worker_model, signal.SIGKILL)
    result = CliRunner().invoke(
        cli, ["--kb", str(home), "ingest", str(first), str(second)], catch_exceptions=False
    )
    thread.join()
    output = result.stdout + result.stderr
    assert "model process died: signal 9 (SIGKILL)" in output
    assert output.count("ingested:") == 1
    store = Store(home, embedder=HashEmbedder())
    (kept,) = store.list_articles()
    assert kept.url.endswith("second.md")
    with pytest.raises(NotFoundError):
        store.get(str(first))
    assert store.count()["articles"] == 1


@pytest.mark.slow
def test_web_job_goes_on_and_server_stays_up_when_the_worker_dies(
    worker_model: LlamaProcessModel, tmp_path: Path, fixture_server: str
) -> None:
    store = Store(tmp_path / "kb", embedder=HashEmbedder())
    settings = Settings(home=store.home, allow_private=True)
    app = app_for(store, settings, extractor=lambda: make_extractor(settings, store.embedder))
    first, second = f"{fixture_server}/{CLINICS}", f"{fixture_server}/{CHIPS}"
    thread = kill_when_busy(worker_model, signal.SIGSEGV)
    with TestClient(app, base_url="http://127.0.0.1") as local:
        job = local.post("/api/ingest", data={"urls": f"{first}\n{second}"}).json()["job"]
        end = time.monotonic() + 600
        while not job["done"] and time.monotonic() < end:
            time.sleep(0.5)
            job = local.get(f"/api/ingest/{job['id']}").json()["job"]
        thread.join()
        entries = {e["source"]: e for e in job["entries"]}
        assert entries[first]["status"] == "failed"
        assert "model process died: signal 11" in entries[first]["message"]
        assert entries[second]["status"] == "stored"
        assert local.get("/").status_code == 200
    assert store.count()["articles"] == 1


def test_doctor_reports_a_crashing_model_as_a_failed_line() -> None:
    from ingest.extract import llamaproc
    from signalkb.cli.doctor_cmd import check_model

    def crash_the_first_busy_worker() -> None:
        end = time.monotonic() + 300
        seen: dict[int, float] = {}
        while time.monotonic() < end:
            for worker in list(llamaproc._workers.values()):
                pid = worker.pid
                if pid is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    used = cpu_seconds(pid)
                    if pid in seen and used - seen[pid] > 0.3:
                        os.kill(pid, signal.SIGSEGV)
                        return
                    seen.setdefault(pid, used)
            time.sleep(0.02)

    thread = threading.Thread(target=crash_the_first_busy_worker, daemon=True)
    thread.start()
    result = check_model("smollm2")()
    thread.join()
    assert not result.ok
    assert "model process died: signal 11 (SIGSEGV)" in result.detail
    assert "rebuild llama-cpp-python portably" in result.detail


def test_doctor_prints_one_line_per_check_and_json() -> None:
    result = CliRunner().invoke(cli, ["doctor", "--only", "llama.cpp", "--only", "chromadb"])
    lines = result.stdout.splitlines()
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in lines] == [["ok", "llama.cpp"], ["ok", "chromadb"]]
    assert "no AMX" in lines[0]
    result = CliRunner().invoke(cli, ["doctor", "--only", "chromadb", "--json"])
    (check,) = json.loads(result.stdout)["checks"]
    assert check["part"] == "chromadb" and check["ok"] is True


def test_a_call_can_override_the_repeat_penalty() -> None:
    """The tuned extractor asks each task with its own penalty through the worker: a heavy
    penalty changes a greedy answer that repeats itself, and the default comes back after.

    On the base model: with the adapter, the same prompt asked right after itself can end
    differently (llama.cpp reuses the cached prefix and evaluates the rest in another batch
    shape, and the adapter's greedy choices have near ties), which is not what this checks."""
    model = LlamaProcessModel("smollm2-base")
    ask = [Message("user", "List ten fruits, one per line, each line starting with 'Fruit:'.")]
    plain = model.complete(ask, max_tokens=40, repeat_penalty=1.0)
    heavy = model.complete(ask, max_tokens=40, repeat_penalty=2.0)
    assert plain != heavy
    assert model.complete(ask, max_tokens=40, repeat_penalty=1.0) == plain
