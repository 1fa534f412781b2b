"""Benchmark the extractor: backend speed against bare llama.cpp, and seconds per article.

usage: python bench/extract.py [--model smollm2|gemma3|PATH] [--words 1500] [--runs 3]

1. Tokens/s: the same summary prompt (a ~1,500-word article) through signalkb's backend
   as the extractor runs it (`LlamaProcessModel`: the model in a child process, answers
   over a pipe), through the same backend in-process (`LlamaCppModel.complete`, streaming
   with its deadline check), and through a bare `llama_cpp.Llama.create_chat_completion`
   (or `create_completion` for a base model) on the same GGUF file (no adapter), threads and greedy
   settings. The paths take turns run by run; each run's prompt starts with its own
   marker, so no path reuses a cached prefix, and load on the shared machine slows all alike.
2. Seconds per article: one full extraction of that article by the extractor `--model`
   gives (`make_extractor`: for smollm2 the tuned adapter's `TunedExtractor`, for
   smollm2-base, gemma3 or a path the untuned `SLMExtractor`) through the child-process
   backend, with the number of model calls it made.
The article is the seed articles (../shared/seeds 000, 001, 003) joined and cut to --words.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.document import Document  # noqa: E402
from ingest.extract import make_extractor, prompts  # noqa: E402
from ingest.extract.base import Message  # noqa: E402
from ingest.extract.llamacpp import SEED, LlamaCppModel, plain_prompt, threads  # noqa: E402
from ingest.extract.llamaproc import LlamaProcessModel  # noqa: E402
from ingest.extract.text import truncate_words  # noqa: E402
from kb.settings import Settings  # noqa: E402

SEEDS = ROOT.parent / "shared" / "seeds"
ARTICLES = ("000_c38305f678f21f86.txt", "001_d6359aa3cc63db76.txt", "003_539afb5106abca1c.txt")


def bench_article(words: int) -> str:
    """The seed articles joined and cut to about `words` words (lines kept)."""
    text = "\n\n".join((SEEDS / name).read_text(encoding="utf-8") for name in ARTICLES)
    kept, count = [], 0
    for line in text.splitlines():
        if count >= words:
            break
        kept.append(line)
        count += len(line.split())
    return "\n".join(kept)


def bare_run(llm: Any, messages: list[Message], chat: bool, max_tokens: int) -> tuple[float, int]:
    """Seconds and completion tokens of one bare llama.cpp call."""
    start = time.perf_counter()
    kwargs = {"temperature": 0.0, "seed": SEED, "max_tokens": max_tokens, "repeat_penalty": 1.2}
    if chat:
        out = llm.create_chat_completion(
            messages=[{"role": m.role, "content": m.content} for m in messages], **kwargs
        )
    else:  # what signalkb's backend sends a base model: plain prompt, blank line stops
        out = llm.create_completion(prompt=plain_prompt(messages), stop=["\n\n"], **kwargs)
    return time.perf_counter() - start, int(out["usage"]["completion_tokens"])


def ours_run(
    model: LlamaCppModel | LlamaProcessModel, messages: list[Message], max_tokens: int
) -> tuple[float, int]:
    """Seconds and completion tokens of one call through signalkb's backend."""
    start = time.perf_counter()
    text = model.complete(messages, max_tokens=max_tokens)
    seconds = time.perf_counter() - start
    return seconds, model.count_tokens(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--words", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=128)
    args = parser.parse_args()

    from llama_cpp import Llama

    article = bench_article(args.words)
    title = article.splitlines()[0].strip("# ")
    ours = LlamaCppModel(args.model)
    worker = LlamaProcessModel(args.model)
    worker.load()
    bare = Llama(
        model_path=str(ours.path), n_ctx=ours.n_ctx, seed=SEED, n_threads=threads(), verbose=False
    )
    body = truncate_words(article, 900)
    prompt_tokens = ours.count_tokens(prompts.summary(title, body))
    rows: dict[str, list[tuple[float, int]]] = {
        "bare llama.cpp": [],
        "signalkb backend, in-process": [],
        "signalkb backend, child process": [],
    }
    for run in range(args.runs):
        messages = [
            Message("system", f"[run {run}] {prompts.SYSTEM}"),
            Message("user", prompts.summary(title, body)),
        ]
        if not ours.chat:  # a base model continues the start of its answer, as the extractor
            messages.append(Message("assistant", prompts.SUMMARY_START))
        rows["bare llama.cpp"].append(bare_run(bare, messages, ours.chat, args.max_tokens))
        rows["signalkb backend, in-process"].append(ours_run(ours, messages, args.max_tokens))
        rows["signalkb backend, child process"].append(ours_run(worker, messages, args.max_tokens))
    print(f"model {ours.model_id}, threads {threads()}, prompt ~{prompt_tokens} tokens, ")
    print(f"max {args.max_tokens} new tokens, {args.runs} runs each (median)\n")
    print("| path | s/call | new tokens | tokens/s (new / s) |")
    print("|---|---|---|---|")
    speeds = {}
    for name, runs in rows.items():
        secs = statistics.median(s for s, _ in runs)
        toks = statistics.median(t for _, t in runs)
        speeds[name] = statistics.median(t / s for s, t in runs)
        print(f"| {name} | {secs:.2f} | {toks:.0f} | {speeds[name]:.1f} |")
    for name in list(rows)[1:]:
        print(f"ratio {name} / bare: {speeds[name] / speeds['bare llama.cpp']:.2f}")

    extractor = make_extractor(Settings(model=args.model))
    model = extractor.model
    if hasattr(model, "load"):
        model.load()
    calls = 0
    original = model.complete

    def counted(messages: list[Message], **kwargs: Any) -> str:
        nonlocal calls
        calls += 1
        return original(messages, **kwargs)

    model.complete = counted  # type: ignore[method-assign]
    document = Document(source="bench", url="file:bench", title=title, text=article)
    start = time.perf_counter()
    record = extractor.extract(document)
    seconds = time.perf_counter() - start
    rows_n = len(record.all_items())
    print(
        f"\nfull extraction ({type(extractor).__name__}, {model.model_id}): "
        f"{len(article.split())} words, {seconds:.1f} s, {calls} model calls, "
        f"{rows_n} rows, incomplete={record.incomplete}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
