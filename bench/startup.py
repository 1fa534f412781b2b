"""Start-up of the read commands from a cold process: `list`, `show`, `search`, `stats`.

usage: python bench/startup.py [--runs 7] [--articles 50]

Each command runs `--runs` times as a new process (`python -m signalkb.cli.__main__`-style:
the installed `signalkb` script) on a store of `--articles` synthetic records, and the
median wall time is printed against two bare baselines run the same way:
  - `python -c pass` with chromadb imported and the store's collection opened (what any
    tool reading this store pays);
  - the same plus one query embedded by sentence-transformers and a chromadb vector
    query (what a search costs through the libraries signalkb is built on).
Ratios are signalkb / baseline. Page-cache effects are the same for both: every run reads
the same files.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.embed import MiniLMEmbedder  # noqa: E402
from kb.store import Store  # noqa: E402
from tests.kb_fixtures import TOPICS, make_article  # noqa: E402

SIGNALKB = str(Path(sys.executable).with_name("signalkb"))
OPEN = (
    "import chromadb, sys\n"
    "from chromadb.config import Settings\n"
    "client = chromadb.PersistentClient(\n"
    "    path=sys.argv[1], settings=Settings(anonymized_telemetry=False)\n"
    ")\n"
    "rows = client.get_collection('items')\n"
)
QUERY = OPEN + (
    "import os\nos.environ['HF_HUB_OFFLINE'] = '1'\n"
    "from sentence_transformers import SentenceTransformer\n"
    "from kb.embed import minilm_model_dir\n"
    "model = SentenceTransformer(str(minilm_model_dir()), device='cpu')\n"
    "vector = model.encode(['small models on phones'], normalize_embeddings=True)[0].tolist()\n"
    "rows.query(query_embeddings=[vector], n_results=10)\n"
)


def median_seconds(command: list[str], runs: int) -> float:
    """The median wall time of `runs` fresh processes running `command`."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    """Fill a store, time each command and the baselines, print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--articles", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "kb"
        topics = list(TOPICS)
        store = Store(home, embedder=MiniLMEmbedder())
        store.add_many(
            [
                make_article(topics[i % len(topics)], url=f"https://example.org/{i}")
                for i in range(args.articles)
            ]
        )
        first = store.list_articles()[0].id
        del store
        kb = [SIGNALKB, "--kb", str(home)]
        bare_open = median_seconds([sys.executable, "-c", OPEN, str(home)], args.runs)
        bare_query = median_seconds([sys.executable, "-c", QUERY, str(home)], args.runs)
        rows = [
            ("list", kb + ["list"], bare_open),
            ("show ID", kb + ["show", first], bare_open),
            ("stats", kb + ["stats"], bare_open),
            ("search QUERY", kb + ["search", "small models on phones"], bare_query),
            ("search --mode keyword", kb + ["search", "phones", "--mode", "keyword"], bare_open),
        ]
        print(f"| command | p50 s | baseline p50 s | ratio |  ({args.runs} cold runs each)")
        print("|---|---|---|---|")
        for name, command, baseline in rows:
            seconds = median_seconds(command, args.runs)
            label = "open" if baseline is bare_open else "open + embed + query"
            print(
                f"| `signalkb {name}` | {seconds:.2f} | {baseline:.2f} ({label}) | "
                f"{seconds / baseline:.2f} |"
            )


if __name__ == "__main__":
    main()
