"""MiniLM's two forward passes: sentence-transformers (torch) and kb.minilm_numpy."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from kb.embed import MiniLMEmbedder, _load_minilm, minilm_model_dir
from kb.minilm_numpy import MAX_TOKENS, numpy_minilm

TEXTS = [
    "Small language models move onto phones",
    "",
    "GPT-4 vs Phi-3: ünïcode façade — naïve 東京, emoji 🚀",
    "What is the EU AI Act?",
    "word " * (MAX_TOKENS * 2),  # cut at 256 tokens, as sentence-transformers cuts it
]


def test_numpy_vectors_equal_sentence_transformers() -> None:
    torch_vectors = _load_minilm().encode(TEXTS, normalize_embeddings=True)
    numpy_vectors = numpy_minilm(minilm_model_dir()).encode(TEXTS)
    assert numpy_vectors.shape == (len(TEXTS), MiniLMEmbedder.dim)
    cosines = (torch_vectors * numpy_vectors).sum(axis=1)
    assert np.all(cosines > 0.99999), cosines
    assert np.allclose(np.linalg.norm(numpy_vectors, axis=1), 1.0, atol=1e-5)


def test_a_query_is_embedded_without_loading_torch() -> None:
    code = (
        "import sys\n"
        "from kb.embed import MiniLMEmbedder\n"
        "vector = MiniLMEmbedder().embed(['a query'])[0]\n"
        "print(len(vector), 'torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.split() == ["384", "False", "False"]
