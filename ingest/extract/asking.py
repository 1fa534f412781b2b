"""Asking the model: the per-article time budget, free-text and JSON questions, repair.

A JSON answer is checked against its schema; a wrong one is asked again once with the
errors, and what is still missing is then asked for field by field in plain words.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ingest.extract import prompts
from ingest.extract.base import ChatModel, Message
from ingest.extract.schema import coerce_field, errors
from ingest.extract.text import first_sentence


@dataclass
class Budget:
    """The per-article time limit: checked before each model call."""

    seconds: float
    start: float = field(default_factory=time.monotonic)

    @property
    def deadline(self) -> float:
        """Monotonic time at which the article's extraction must stop."""
        return self.start + self.seconds

    def left(self) -> float:
        """Seconds left."""
        return self.deadline - time.monotonic()


class TimeUp(Exception):
    """Internal: the per-article time limit passed; the record is finished as it is."""


class Asker:
    """Asks one ChatModel the questions of one article, within the article's budget."""

    def __init__(self, model: ChatModel, budget: Budget) -> None:
        self.model = model
        self.budget = budget

    def complete(self, messages: list[Message], **kwargs: Any) -> str:
        """The model's raw reply; raises TimeUp once the budget is spent."""
        if self.budget.left() <= 0:
            raise TimeUp
        if hasattr(self.model, "deadline"):
            # Backends that stream (llama.cpp) stop a generation part-way at the deadline.
            self.model.deadline = self.budget.deadline
        return self.model.complete(messages, **kwargs)

    def ask(self, prompt: str, *, max_tokens: int, prefill: str = "") -> str:
        """A free-text answer. A base model (no chat template) is handed `prefill` as the
        start of its answer to continue; a chat model is asked for it in the prompt."""
        messages = [Message("system", prompts.SYSTEM), Message("user", prompt)]
        if prefill and not getattr(self.model, "chat", True):
            messages.append(Message("assistant", prefill))
            return f"{prefill} {self.complete(messages, max_tokens=max_tokens).strip()}"
        return self.complete(messages, max_tokens=max_tokens).strip()

    def line(self, prompt: str, *, max_tokens: int) -> str:
        """A one-sentence free-text answer, with chatter like "This sentence ..." cut."""
        return first_sentence(self.ask(prompt, max_tokens=max_tokens))

    def ask_json(self, prompt: str, schema: dict[str, Any], *, max_tokens: int) -> dict[str, Any]:
        """A JSON answer checked against `schema`: asked, retried once with the errors, then
        repaired field by field with plain questions. Returns the valid fields found."""
        messages = [Message("system", prompts.SYSTEM), Message("user", prompt)]
        raw = self.complete(messages, json_schema=schema, max_tokens=max_tokens)
        value, problems = parse_answer(raw, schema)
        if problems:
            retry = [
                *messages,
                Message("assistant", raw),
                Message("user", prompts.retry(problems, schema)),
            ]
            raw = self.complete(retry, json_schema=schema, max_tokens=max_tokens)
            value, problems = parse_answer(raw, schema)
        if problems:
            value = {k: v for k, v in value.items() if not errors({k: v}, _only(schema, k))}
            for key, sub in schema.get("properties", {}).items():
                if key not in value:
                    answer = self.ask(prompts.field(prompt, key, sub), max_tokens=40)
                    fixed = coerce_field(answer, sub)
                    if fixed is not None:
                        value[key] = fixed
        return value


def parse_answer(raw: str, schema: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The JSON object in a reply (also when wrapped in other text), and its schema errors."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        start, end = raw.find("{"), raw.rfind("}")
        try:
            value = json.loads(raw[start : end + 1]) if 0 <= start < end else None
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, dict):
        return {}, ["the answer is not a JSON object"]
    return value, errors(value, schema)


def _only(schema: dict[str, Any], key: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: schema["properties"].get(key, {})}}
