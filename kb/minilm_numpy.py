"""all-MiniLM-L6-v2 in plain numpy, for the few texts of a command's first query.

Loading sentence-transformers (and torch under it) costs a CLI process two to four seconds
before the first vector; a search embeds one short query. This module runs the same BERT
forward pass (6 layers, 12 heads, mean pooling, unit norm) with numpy, from the package's
own `model.safetensors` and `tokenizer.json`, in about 0.2 s from a cold process. The
vectors equal sentence-transformers' to float32 rounding (tests/test_embed.py checks cosine
> 0.99999 on a spread of texts), so they mix freely with the vectors stored by the torch
path. `kb.embed.MiniLMEmbedder` uses it for small batches until torch is loaded anyway.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
_lock = threading.Lock()
_loaded: dict[Path, NumpyMiniLM] = {}


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class NumpyMiniLM:
    """The BERT encoder of a sentence-transformers model folder, with mean pooling."""

    def __init__(self, model_dir: Path) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        config = json.loads((model_dir / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.weights = load_file(str(model_dir / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)

    def _w(self, name: str) -> np.ndarray:
        return self.weights[name]

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self._w(f"{name}.weight").T + self._w(f"{name}.bias")

    def encode_one(self, text: str) -> np.ndarray:
        """The unit-length embedding of one text."""
        ids = np.asarray(self.tokenizer.encode(text).ids, dtype=np.int64)
        x = (
            self._w("embeddings.word_embeddings.weight")[ids]
            + self._w("embeddings.position_embeddings.weight")[: len(ids)]
            + self._w("embeddings.token_type_embeddings.weight")[0]
        )
        x = _layer_norm(
            x,
            self._w("embeddings.LayerNorm.weight"),
            self._w("embeddings.LayerNorm.bias"),
            self.eps,
        )
        n, width = x.shape
        size = width // self.heads
        for i in range(self.layers):
            at = f"encoder.layer.{i}"

            def heads(y: np.ndarray) -> np.ndarray:
                return y.reshape(n, self.heads, size).transpose(1, 0, 2)

            q = heads(self._linear(x, f"{at}.attention.self.query"))
            k = heads(self._linear(x, f"{at}.attention.self.key"))
            v = heads(self._linear(x, f"{at}.attention.self.value"))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(size)
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(1, 0, 2).reshape(n, width)
            x = _layer_norm(
                self._linear(context, f"{at}.attention.output.dense") + x,
                self._w(f"{at}.attention.output.LayerNorm.weight"),
                self._w(f"{at}.attention.output.LayerNorm.bias"),
                self.eps,
            )
            hidden = _gelu(self._linear(x, f"{at}.intermediate.dense"))
            x = _layer_norm(
                self._linear(hidden, f"{at}.output.dense") + x,
                self._w(f"{at}.output.LayerNorm.weight"),
                self._w(f"{at}.output.LayerNorm.bias"),
                self.eps,
            )
        pooled = x.mean(axis=0)
        return pooled / max(float(np.linalg.norm(pooled)), 1e-12)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length embeddings, one row per text."""
        return np.stack([self.encode_one(text) for text in texts]).astype(np.float32)


def numpy_minilm(model_dir: Path) -> NumpyMiniLM:
    """The numpy model of `model_dir`, loaded once per process."""
    with _lock:
        if model_dir not in _loaded:
            _loaded[model_dir] = NumpyMiniLM(model_dir)
        return _loaded[model_dir]
