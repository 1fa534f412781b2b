"""Query embeddings from concurrent requests are batched, and each gets its own vector."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kb.embed import HashEmbedder
from web.batching import BatchingEmbedder


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
