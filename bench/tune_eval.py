"""Score the task prompts of ingest/extract/tasks.py, with and without the tuned adapter.

usage: python bench/tune_eval.py PAIRS_DIR [--adapter data/adapters/smollm2-signalkb.gguf]
       [--base] [--n 10] [--out DIR]

For each of the first N pairs (NN_article.md + NN_gold.md) it asks SmolLM2 the seven tasks
through llama.cpp (greedy, one Llama per run so the article's KV is reused across tasks),
parses the answers with `tasks.parse`, renders the record (kb.markdown), and scores it with
score.py beside PAIRS_DIR's parent (`../shared/eval/score.py`). It prints score.py's mean and
the seconds per article. No grounding is applied here: this measures what the model writes,
not what the tuned extractor will keep. Use it on `val/` (measuring only).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.extract import tasks as T  # noqa: E402
from ingest.extract.adapters import load_tuned_llama, shipped_adapter  # noqa: E402
from kb.markdown import record_markdown  # noqa: E402
from kb.records import ITEM_TYPES, KINDS, Article  # noqa: E402


def record(llm: object, text: str, title: str) -> tuple[Article, float]:
    """The record the seven tasks write for `text`, and the seconds it took."""
    started = time.monotonic()
    fields: dict = {"id": "x", "url": "file:x", "title": title or "untitled"}
    for name in T.TASK_NAMES:
        task = T.TASKS[name]
        out = llm.create_chat_completion(  # type: ignore[attr-defined]
            messages=T.messages(task, text),
            temperature=0.0,
            max_tokens=task.max_tokens,
            repeat_penalty=1.1,
            seed=1234,
        )
        parsed = T.parse(task, out["choices"][0]["message"]["content"] or "")
        if name in KINDS:
            fields[name] = [ITEM_TYPES[name](**row) for row in parsed[: task.max_rows]]
        else:
            fields.update(parsed)
    return Article(**fields), time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("pairs", type=Path)
    parser.add_argument("--adapter", type=Path, default=shipped_adapter())
    parser.add_argument("--base", action="store_true", help="without the adapter")
    parser.add_argument("--n", type=int, default=10)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()

    from ingest.tune.chat import packaged_smollm2

    lora = None if args.base else args.adapter
    llm = load_tuned_llama(packaged_smollm2(), lora, n_ctx=2048, n_threads=1)
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="tune-eval-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    gold_dir = Path(tempfile.mkdtemp(prefix="tune-gold-"))
    seconds = []
    for gold in sorted(args.pairs.glob("*_gold.md"))[: args.n]:
        nn = gold.name[: -len("_gold.md")]
        text = (args.pairs / f"{nn}_article.md").read_text(encoding="utf-8")
        title = text.strip().splitlines()[0][:200] if text.strip() else nn
        article, took = record(llm, text, title)
        seconds.append(took)
        (out_dir / f"{nn}.md").write_text(record_markdown(article), encoding="utf-8")
        (gold_dir / gold.name).symlink_to(gold.resolve())
        print(f"{nn}: {took:.1f} s, {len(text.split())} words", flush=True)
    score_py = args.pairs.resolve().parent / "eval" / "score.py"
    if not score_py.exists():
        score_py = args.pairs.resolve().parent.parent / "eval" / "score.py"
    proc = subprocess.run(
        [sys.executable, str(score_py), str(gold_dir), str(out_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    print(proc.stdout[-3000:] or proc.stderr[-2000:])
    label = "base" if args.base else args.adapter.name
    print(f"{label}: {sum(seconds) / max(1, len(seconds)):.1f} s/article; records in {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
