"""Query embeddings computed in a child process, out of reach of the server's GIL.

MiniLM's forward pass calls a few hundred torch operations from Python; each one releases
the GIL and must take it back. In the server, 20 request threads rendering pages hold the
GIL most of the time, so each operation waited for it: a batch of 10 queries that costs
30 ms of CPU took 80–120 ms under load. In its own process the model has an interpreter to
itself, and a batch costs one round trip through a pipe.

The child is `python -m web.embedproc module:Class [nice]` (not multiprocessing, whose
spawned children re-import the parent's main script). Protocol, one batch at a time: the parent
writes a JSON list of texts on one line; the child answers a JSON line, `{"n": N}`
followed by N float32 vectors as raw bytes, or `{"error": "..."}`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import numpy as np

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class ProcessEmbedder:
    """An embedder run in a child process, started on first use (again if it dies).

    Args:
        factory: "module:Class" of the embedder the child builds, e.g. "kb.embed:MiniLMEmbedder".
        name, dim: those of that embedder.
        nice: added to the child's nice value (POSIX), for work that must yield to pages.
    """

    def __init__(self, factory: str, *, name: str, dim: int, nice: int = 0) -> None:
        self.factory = factory
        self.name = name
        self.dim = dim
        self.nice = nice
        self._lock = threading.Lock()  # one batch in the pipe at a time
        self._child: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        paths = [str(PACKAGE_ROOT), os.environ.get("PYTHONPATH", "")]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
        self._child = subprocess.Popen(
            [sys.executable, "-m", "web.embedproc", self.factory, str(self.nice)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        return self._child

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Vectors of `texts`, computed in the child."""
        with self._lock:
            for attempt in (1, 2):
                child = self._child if self._child is not None else self._start()
                try:
                    vectors = _ask(child, texts, self.dim)
                    break
                except (OSError, EOFError):  # the child died: start a new one, once
                    self._stop()
                    if attempt == 2:
                        raise
        return vectors.tolist()  # type: ignore[no-any-return]

    def close(self) -> None:
        """Stop the child process."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        if self._child is None:
            return
        child, self._child = self._child, None
        with contextlib.suppress(OSError):  # closing stdin tells the child to exit
            assert child.stdin is not None
            child.stdin.close()
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def _ask(child: subprocess.Popen[bytes], texts: list[str], dim: int) -> np.ndarray:
    """Send one batch to the child and read its vectors (or raise its error)."""
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(json.dumps(texts).encode() + b"\n")
    child.stdin.flush()
    header = child.stdout.readline()
    if not header:
        raise EOFError("the embedding process exited")
    answer = json.loads(header)
    if "error" in answer:
        raise RuntimeError(f"embedding failed: {answer['error']}")
    size = answer["n"] * dim * 4
    data = child.stdout.read(size)
    if len(data) != size:
        raise EOFError("the embedding process exited mid-answer")
    return np.frombuffer(data, dtype=np.float32).reshape(answer["n"], dim)


def serve(factory: str, stdin: IO[bytes], stdout: IO[bytes], nice: int = 0) -> None:
    """The child's loop: embed each batch read from `stdin` until it closes."""
    import torch

    if nice and hasattr(os, "nice"):
        os.nice(nice)
    # One intra-op thread. Measured on 2 shared cores: a batch of 20 queries took 59 ms
    # of CPU on one thread against 88 ms on two, and when the other core was busy (the
    # server, an ingest job) the two threads waited on each other (one batch: 390 ms).
    torch.set_num_threads(1)
    module, _, name = factory.partition(":")
    embedder = getattr(importlib.import_module(module), name)()
    for line in stdin:
        try:
            vectors = np.asarray(embedder.embed(json.loads(line)), dtype=np.float32)
        except Exception as exc:  # the parent raises it for the requests of this batch
            stdout.write(json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode() + b"\n")
        else:
            stdout.write(json.dumps({"n": len(vectors)}).encode() + b"\n" + vectors.tobytes())
        stdout.flush()


if __name__ == "__main__":
    # The answers go to the original stdout; anything a library prints goes to stderr.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    serve(sys.argv[1], sys.stdin.buffer, answers, int(sys.argv[2]) if len(sys.argv) > 2 else 0)
