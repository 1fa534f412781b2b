"""The OpenAI-compatible backend: any server speaking `/v1/chat/completions`.

Ollama, llama.cpp's server, vLLM, LM Studio and hosted APIs differ in how they take a JSON
schema, so the backend tries, in order, and remembers what worked:

1. `response_format={"type": "json_object", "schema": ...}` (llama.cpp's server, Ollama);
2. `response_format={"type": "json_schema", "json_schema": {...}}` (OpenAI, vLLM);
3. no constraint: the schema goes into the prompt and the extractor's validate-and-retry
   takes care of bad answers.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar, Literal

import httpx

from ingest.extract.base import ChatModel, Message
from kb.errors import BackendError

SchemaMode = Literal["json_object", "json_schema", "prompt"]
MODES: tuple[SchemaMode, ...] = ("json_object", "json_schema", "prompt")
SEED = 1234


class OpenAICompatModel(ChatModel):
    """A chat model behind an OpenAI-compatible HTTP API."""

    name: ClassVar[str] = "openai"

    def __init__(
        self,
        base_url: str,
        model: str = "",
        *,
        api_key: str = "",
        timeout: float = 120.0,
        transport: httpx.BaseTransport | None = None,
        modes: tuple[SchemaMode, ...] = MODES,
    ) -> None:
        if not base_url:
            raise BackendError("no server URL: set SIGNALKB_OPENAI_BASE_URL", source="openai")
        self.base_url = base_url.rstrip("/")
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=timeout, transport=transport
        )
        self.modes = modes
        self.mode: SchemaMode | None = None
        self.deadline: float | None = None

    @property
    def model_id(self) -> str:
        """`openai:<model>@<base url>`."""
        return f"{self.name}:{self.model or 'default'}@{self.base_url}"

    def complete(
        self,
        messages: list[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        stop: list[str] | None = None,
        repeat_penalty: float | None = None,
    ) -> str:
        """The server's reply, constrained to `json_schema` as far as the server allows."""
        body: dict[str, Any] = {
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "temperature": 0,
            "seed": SEED,
            "max_tokens": max_tokens,
        }
        if self.model:
            body["model"] = self.model
        if stop:
            body["stop"] = stop
        if json_schema is None:
            return self._post(body)
        modes = [self.mode] if self.mode else list(self.modes)
        last: BackendError | None = None
        for mode in modes:
            try:
                reply = self._post(_with_schema(body, json_schema, mode))
            except _Rejected as exc:
                last = BackendError(f"server rejected {mode} output: {exc}", source=self.base_url)
                continue
            self.mode = mode
            return reply
        raise last or BackendError("no schema mode worked", source=self.base_url)

    def _post(self, body: dict[str, Any]) -> str:
        try:
            response = self.client.post("/chat/completions", json=body)
        except httpx.HTTPError as exc:
            raise BackendError(f"server unreachable: {exc}", source=self.base_url) from exc
        if "response_format" in body and _rejects_format(response):
            raise _Rejected(response.text[:300])
        if response.status_code >= 400:
            raise BackendError(
                f"server answered {response.status_code}: {response.text[:300]}",
                source=self.base_url,
            )
        try:
            return str(response.json()["choices"][0]["message"]["content"] or "")
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise BackendError("malformed answer from the server", source=self.base_url) from exc

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self.client.close()


def _rejects_format(response: httpx.Response) -> bool:
    # llama.cpp's server answers 500 (not 400) when it refuses a response_format type.
    if response.status_code in (400, 422):
        return True
    return response.status_code == 500 and "response_format" in response.text


class _Rejected(Exception):
    """The server refused a response_format; the next mode is tried."""


def _with_schema(body: dict[str, Any], schema: dict[str, Any], mode: SchemaMode) -> dict[str, Any]:
    if mode == "json_object":
        return {**body, "response_format": {"type": "json_object", "schema": schema}}
    if mode == "json_schema":
        spec = {"name": "answer", "schema": schema, "strict": False}
        return {**body, "response_format": {"type": "json_schema", "json_schema": spec}}
    messages = list(body["messages"])
    hint = "\n\nAnswer with only a JSON object matching this schema: " + json.dumps(schema)
    messages[-1] = {**messages[-1], "content": messages[-1]["content"] + hint}
    return {**body, "messages": messages}
