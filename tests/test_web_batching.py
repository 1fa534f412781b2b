"""Query embeddings from concurrent requests are batched, and each gets its own vector."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from kb.embed import HashEmbedder, MiniLMEmbedder
from web.batching import BatchingEmbedder
from web.embedproc import ProcessEmbedder


class SlowCounting(HashEmbedder):
    """HashEmbedder that takes 50 ms a call and counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.calls: list[int] = []
        self.fail = fail
        self.lock = threading.Lock()

    def embed(self, texts: list[str]) -> list[list[float]]:
        with self.lock:
            self.calls.append(len(texts))
        time.sleep(0.05)
        if self.fail:
            raise RuntimeError("model crashed")
        return super().embed(texts)


def test_concurrent_queries_share_batches_and_get_their_own_vectors() -> None:
    inner = SlowCounting()
    batching = BatchingEmbedder(inner)
    texts = [f"query number {i} about topic {i * 7}" for i in range(16)]
    with ThreadPoolExecutor(16) as pool:
        vectors = list(pool.map(lambda t: batching.embed([t])[0], texts))
    assert vectors == HashEmbedder().embed(texts)
    assert sum(inner.calls) == len(texts)
    assert len(inner.calls) < len(texts) / 2, inner.calls
    assert batching.name == HashEmbedder.name and batching.dim == HashEmbedder.dim


def test_many_texts_go_straight_through_and_errors_reach_every_waiter() -> None:
    inner = SlowCounting()
    assert BatchingEmbedder(inner).embed(["a", "b", "c"]) == HashEmbedder().embed(["a", "b", "c"])
    assert inner.calls == [3]
    failing = BatchingEmbedder(SlowCounting(fail=True))
    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(failing.embed, [f"q{i}"]) for i in range(4)]
    for future in futures:
        with pytest.raises(RuntimeError, match="model crashed"):
            future.result()
    with pytest.raises(RuntimeError, match="model crashed"):
        failing.embed(["a later query is not left waiting"])


class BrokenEmbedder(HashEmbedder):
    """Fails on a text that says so (built in the child process by its "module:Class")."""

    def embed(self, texts: list[str]) -> list[list[float]]:
        if "fail" in texts:
            raise ValueError("asked to fail")
        return super().embed(texts)


def test_bulk_texts_go_to_the_bulk_embedder() -> None:
    queries, bulk = SlowCounting(), SlowCounting()
    batching = BatchingEmbedder(queries, bulk=bulk)
    assert batching.embed(["one query"]) == HashEmbedder().embed(["one query"])
    assert batching.embed(["a", "b"]) == HashEmbedder().embed(["a", "b"])
    assert (queries.calls, bulk.calls) == ([1], [2])
    with pytest.raises(ValueError, match="same model"):
        BatchingEmbedder(queries, bulk=MiniLMEmbedder())
    closed: list[str] = []
    queries.close = lambda: closed.append("queries")  # type: ignore[attr-defined]
    batching.close()
    assert closed == ["queries"], "closes what can be closed, once each"


def float32(texts: list[str]) -> list[list[float]]:
    """HashEmbedder's vectors as they cross the pipe: float32 (MiniLM's own precision)."""
    return np.asarray(HashEmbedder().embed(texts), dtype=np.float32).tolist()  # type: ignore[no-any-return]


def test_process_embedder_matches_in_process_and_survives_its_child() -> None:
    texts = ["small language models", "ünïcode — and a\nnewline", ""]
    embedder = ProcessEmbedder(
        "tests.test_web_batching:BrokenEmbedder", name=HashEmbedder.name, dim=HashEmbedder.dim
    )
    try:
        assert embedder.embed(texts) == float32(texts)
        with pytest.raises(RuntimeError, match="asked to fail"):
            embedder.embed(["fail"])
        assert embedder.embed(["after an error"]) == float32(["after an error"])
        first = embedder._child
        assert first is not None
        first.kill()
        first.wait()
        assert embedder.embed(["after a crash"]) == float32(["after a crash"])
        assert embedder._child is not None and embedder._child.pid != first.pid
    finally:
        embedder.close()
    assert embedder._child is None and first.poll() is not None
