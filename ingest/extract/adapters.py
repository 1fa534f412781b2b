"""The shipped LoRA adapter and llama.cpp with an adapter applied.

`load_tuned_llama(model_path, lora_path)` opens a llama-cpp-python `Llama` with a GGUF LoRA
adapter (written by `signalkb tune`) applied at scale 1.0; `shipped_adapter()` is the adapter
committed with the project (`data/adapters/smollm2-signalkb.gguf`, manifest beside it). The
task prompts and answer parsers are in `ingest.extract.tasks`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.extract.llamacpp import check_gguf
from kb.errors import BackendError

if TYPE_CHECKING:
    from llama_cpp import Llama

SEED = 1234
ADAPTER_NAME = "smollm2-signalkb.gguf"


def shipped_adapter() -> Path:
    """The committed adapter for the packaged SmolLM2-135M-Instruct (may be missing in a
    checkout that has not run `make tune`)."""
    return Path(__file__).resolve().parents[2] / "data" / "adapters" / ADAPTER_NAME


def load_tuned_llama(
    model_path: Path,
    lora_path: Path | None,
    *,
    n_ctx: int = 2048,
    n_threads: int = 1,
    **kwargs: Any,
) -> Llama:
    """A llama.cpp model with the LoRA adapter at `lora_path` applied (none when None).

    llama-cpp-python turns mmap off when an adapter is given; the adapter's
    `general.architecture` must match the model's.
    """
    from llama_cpp import Llama

    if lora_path is not None:
        check_gguf(Path(lora_path))
    try:
        return Llama(
            model_path=str(model_path),
            lora_path=str(lora_path) if lora_path is not None else None,
            n_ctx=n_ctx,
            n_threads=n_threads,
            seed=SEED,
            verbose=False,
            **kwargs,
        )
    except (ValueError, RuntimeError) as exc:
        raise BackendError(
            f"llama.cpp cannot load the model with the adapter: {exc}", source=str(lora_path)
        ) from exc
