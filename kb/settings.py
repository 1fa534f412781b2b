"""One typed settings object: every limit and default of signalkb, with its help text.

Each setting can be set in the environment as `SIGNALKB_<NAME>` (e.g. `SIGNALKB_HOME`,
`SIGNALKB_MAX_BYTES`); CLI options override the environment. `docs/settings.md` lists
them all and a test keeps it in step with this file.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """signalkb's settings, read from `SIGNALKB_*` environment variables."""

    model_config = SettingsConfigDict(env_prefix="SIGNALKB_", extra="ignore")

    home: Path = Field(Path("data/kb"), description="Directory of the embedded knowledge base.")
    chroma_url: str = Field(
        "", description="URL of a chroma server (http://host:port); empty: embedded store."
    )
    max_bytes: int = Field(
        10_000_000, description="Largest response body read; a longer one is cut off."
    )
    connect_timeout: float = Field(10.0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(20.0, description="Seconds to wait between bytes of a response.")
    total_timeout: float = Field(60.0, description="Seconds a whole download may take.")
    max_redirects: int = Field(5, description="Redirects followed before giving up.")
    retries: int = Field(2, description="Retries of a 5xx or 429 answer, with backoff.")
    retry_backoff: float = Field(
        1.0, description="Seconds before the first retry; doubled for each further one."
    )
    retry_max_delay: float = Field(
        30.0, description="Longest wait before a retry, also when Retry-After asks for more."
    )
    allow_private: bool = Field(
        False, description="Fetch private, loopback and link-local addresses (refused by default)."
    )
    user_agent: str = Field(
        "signalkb/0.1 (+https://github.com/signalkb/signalkb)",
        description="User-Agent header sent with every request.",
    )
    min_text_chars: int = Field(
        200, description="Shortest main text accepted as an article, in characters."
    )
    backend: str = Field(
        "llamacpp", description="Extractor backend: llamacpp, openai or a registered name."
    )
    model: str = Field(
        "smollm2",
        description=(
            "GGUF model for llamacpp: a packaged one (smollm2: SmolLM2 with the shipped "
            "LoRA adapter; smollm2-base: without it, today's untuned path; gemma3) or a path."
        ),
    )
    adapter: str = Field(
        "",
        description=(
            "LoRA adapter (llama.cpp GGUF, from `signalkb tune`) for the llamacpp model; "
            "empty: the shipped one for smollm2, none otherwise; `none`: no adapter."
        ),
    )
    openai_base_url: str = Field(
        "", description="Base URL of an OpenAI-compatible server (e.g. http://127.0.0.1:11434/v1)."
    )
    openai_model: str = Field("", description="Model name on the OpenAI-compatible server.")
    openai_api_key: str = Field("", description="API key for the OpenAI-compatible server.")
    extract_timeout: float = Field(300.0, description="Seconds one article's extraction may take.")
    concurrency: int = Field(4, description="URLs fetched at once in a batch.")
    max_listing_entries: int = Field(
        200, description="New articles taken from one feed or sitemap per run; 0: all."
    )
    host_delay: float = Field(
        0.5, description="Seconds between two requests to the same host in a batch."
    )
    token: str = Field("", description="Token the web UI requires when bound beyond 127.0.0.1.")
    raise_errors: bool = Field(
        False,
        description="Raise errors with their traceback instead of a one-line message (CLI) "
        "or a failed source (ingest).",
    )
