"""Benchmark signalkb's store and search against bare chromadb on the same synthetic rows.

usage: python bench/search.py [--sizes 1000,10000,100000] [--queries 200] [--markdown FILE]

For each size it fills a signalkb store (Store.add_many, vectors given, so no model runs)
and a bare chromadb collection with the same rows, vectors and metadata, batch by batch in
turn (and times queries in turn), so both meet the same load on a shared machine; it times:
  - bulk add (rows/s), signalkb vs bare `collection.add`;
  - vector search unfiltered and filtered (kind = signals, relevancy >= 4), p50/p95 in ms,
    against a bare `collection.query` (with the same `where` for the filtered case);
  - hybrid search (vector + BM25, fused) unfiltered and filtered;
  - the in-memory index's load time on reopening and the process's resident memory.
Query embedding is excluded: query vectors are precomputed. Ratios are signalkb / bare.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kb.filters import Filters  # noqa: E402
from kb.records import KINDS, Article, article_id_for  # noqa: E402
from kb.store import Store, item_metadata, make_client  # noqa: E402

DIM = 384
ROWS_PER_ARTICLE = 10  # two of each kind
BATCH = 2000  # rows per add call, for both (signalkb's import also writes 200 articles a call)
WORDS = [f"w{i}" for i in range(3000)] + ["phi-3", "gpt-4", "llama", "gemma", "mistral"]


class TableEmbedder:
    """Looks texts up in a table of precomputed vectors (no model time in the figures)."""

    name: ClassVar[str] = "bench-table"
    dim: ClassVar[int] = DIM

    def __init__(self) -> None:
        self.table: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> list[list[float]]:
        """The stored vector of each text."""
        return [self.table[t] for t in texts]  # type: ignore[misc]


def synthetic(n_rows: int, seed: int = 0) -> tuple[list[Article], TableEmbedder, list[str]]:
    """Articles with `n_rows` rows in all, clustered unit vectors, and query texts."""
    rng = np.random.default_rng(seed)
    pick = random.Random(seed)
    centres = rng.normal(size=(200, DIM)).astype(np.float32)
    embedder = TableEmbedder()

    def vector() -> np.ndarray:
        v = centres[rng.integers(200)] + 0.6 * rng.normal(size=DIM).astype(np.float32)
        return (v / np.linalg.norm(v)).astype(np.float32)

    def words(k: int) -> str:
        return " ".join(pick.choices(WORDS, k=k))

    articles = []
    for a in range(n_rows // ROWS_PER_ARTICLE):
        url = f"https://site{a % 20}.example/post/{a}"
        rows: dict[str, list[dict[str, Any]]] = {}
        for kind in KINDS:
            rows[kind] = []
            for _ in range(2):
                row: dict[str, Any] = {
                    "name": words(4),
                    "description": words(12),
                    "relevancy": pick.randint(1, 5),
                }
                if kind == "signals":
                    row |= {"change": words(6), "ten_year": words(6), "driving_force": words(5)}
                rows[kind].append(row)
        article = Article.model_validate(
            {
                "id": article_id_for(url),
                "url": url,
                "title": words(6),
                "site": f"site{a % 20}.example",
                "published": date(2023, 1, 1) + timedelta(days=pick.randint(0, 900)),
                "themes": pick.sample([f"theme {i}" for i in range(30)], 3),
                "summary": words(40),
                **rows,
            }
        )
        articles.append(article)
        embedder.table[f"{article.title}. {article.summary}"] = vector()
        for _, _, item in article.all_items():
            embedder.table[item.text()] = vector()
    queries = [words(3) for _ in range(200)]
    for q in queries:
        embedder.table[q] = vector()
    return articles, embedder, queries


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timings(fn: Callable[[Any], object], args: list[Any]) -> tuple[float, float]:
    """p50 and p95 in ms of fn over args (after two warm-up calls)."""
    for a in args[:2]:
        fn(a)
    times = []
    for a in args:
        start = time.perf_counter()
        fn(a)
        times.append((time.perf_counter() - start) * 1000)
    q = statistics.quantiles(times, n=20)
    return statistics.median(times), q[18]


def fill_store(home: Path, articles: list[Article], embedder: TableEmbedder) -> float:
    """Fill a signalkb store alone; returns rows per second."""
    store = Store(home, embedder=embedder)  # type: ignore[arg-type]
    start = time.perf_counter()
    for i in range(0, len(articles), BATCH // ROWS_PER_ARTICLE):
        store.add_many(articles[i : i + BATCH // ROWS_PER_ARTICLE])
    return len(articles) * ROWS_PER_ARTICLE / (time.perf_counter() - start)


def paired(
    ours: Callable[[Any], object], bare: Callable[[Any], object], args: list[Any]
) -> tuple[tuple[float, float], tuple[float, float]]:
    """p50/p95 in ms of two functions called in turn on each arg, so both meet the same load."""
    for a in args[:2]:
        ours(a), bare(a)
    times: tuple[list[float], list[float]] = ([], [])
    for a in args:
        for fn, out in ((ours, times[0]), (bare, times[1])):
            start = time.perf_counter()
            fn(a)
            out.append((time.perf_counter() - start) * 1000)
    return tuple(  # type: ignore[return-value]
        (statistics.median(t), statistics.quantiles(t, n=20)[18]) for t in times
    )


def build_both(
    tmp: Path, articles: list[Article], embedder: TableEmbedder
) -> tuple[Store, Any, float, float]:
    """A signalkb store and a bare chromadb collection filled with the same rows, batch by
    batch in turn; returns both and their rows per second."""
    store = Store(tmp / "kb", embedder=embedder)  # type: ignore[arg-type]
    col = make_client(tmp / "bare").get_or_create_collection(
        "items", metadata={"hnsw:space": "cosine"}, embedding_function=None
    )
    per_batch = BATCH // ROWS_PER_ARTICLE
    spent = [0.0, 0.0]
    for i in range(0, len(articles), per_batch):
        batch = articles[i : i + per_batch]
        rows = [(a, kind, n, item) for a in batch for kind, n, item in a.all_items()]
        start = time.perf_counter()
        col.add(
            ids=[f"{a.id}:{kind}:{n}" for a, kind, n, _ in rows],
            embeddings=[embedder.table[item.text()] for *_, item in rows],
            metadatas=[item_metadata(a, kind, item) for a, kind, _, item in rows],
            documents=[item.text() for *_, item in rows],
        )
        middle = time.perf_counter()
        store.add_many(batch)
        spent[0] += time.perf_counter() - middle
        spent[1] += middle - start
    n_rows = len(articles) * ROWS_PER_ARTICLE
    return store, col, n_rows / spent[0], n_rows / spent[1]


def run_size(n_rows: int, n_queries: int) -> dict[str, Any]:
    """All figures for one size."""
    from kb.search import search

    articles, embedder, queries = synthetic(n_rows)
    queries = queries[:n_queries]
    where = {"$and": [{"kind": "signals"}, {"relevancy": {"$gte": 4}}]}
    flt: dict[str, Any] = {"kinds": ("signals",), "min_relevancy": 4}
    out: dict[str, Any] = {"rows": n_rows}
    with tempfile.TemporaryDirectory() as tmp:
        _, col, out["store_add"], out["bare_add"] = build_both(Path(tmp), articles, embedder)
        gc.collect()
        rss_before = rss_mb()
        start = time.perf_counter()
        store = Store(Path(tmp) / "kb", embedder=embedder)  # type: ignore[arg-type]
        with store.reading() as index:
            assert len(index) == n_rows
        out["load_s"] = time.perf_counter() - start
        out["index_mb"] = rss_mb() - rss_before
        start = time.perf_counter()
        assert len(Store(Path(tmp) / "kb", embedder=embedder).index) == n_rows  # type: ignore[arg-type]
        out["snapshot_s"] = time.perf_counter() - start
        gc.collect()
        start = time.perf_counter()
        search(store, queries[0])  # builds the BM25 index once
        out["bm25_s"] = time.perf_counter() - start

        def bare(q: str, filtered: bool = False) -> object:
            return col.query(
                query_embeddings=[embedder.table[q].tolist()],
                n_results=10,
                where=where if filtered else None,
                include=["metadatas", "distances"],
            )

        out["vector"], out["bare"] = paired(
            lambda q: search(store, q, mode="vector"), bare, queries
        )
        out["vector_filtered"], out["bare_filtered"] = paired(
            lambda q: search(store, q, Filters.of(**flt), mode="vector"),
            lambda q: bare(q, True),
            queries,
        )
        for name, filters in (("hybrid", {}), ("hybrid_filtered", flt)):
            out[name] = timings(
                lambda q, filters=filters: search(store, q, Filters.of(**filters)), queries
            )
        out["rss_mb"] = rss_mb()
    return out


def report(results: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| rows | add rows/s (bare) | vector p50/p95 ms (bare) | ratio p50/p95 "
        "| filtered p50/p95 ms (bare) | ratio p50/p95 | hybrid p50/p95 | hybrid filtered "
        "| index load s: chroma / snapshot | BM25 build s | index MB | RSS MB |",
        "|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        v, b, vf, bf = r["vector"], r["bare"], r["vector_filtered"], r["bare_filtered"]
        lines.append(
            f"| {r['rows']:,} | {r['store_add']:,.0f} ({r['bare_add']:,.0f}) "
            f"| {v[0]:.2f}/{v[1]:.2f} ({b[0]:.2f}/{b[1]:.2f}) "
            f"| {v[0] / b[0]:.2f}/{v[1] / b[1]:.2f} "
            f"| {vf[0]:.2f}/{vf[1]:.2f} ({bf[0]:.1f}/{bf[1]:.1f}) "
            f"| {vf[0] / bf[0]:.3f}/{vf[1] / bf[1]:.3f} "
            f"| {r['hybrid'][0]:.1f}/{r['hybrid'][1]:.1f} "
            f"| {r['hybrid_filtered'][0]:.1f}/{r['hybrid_filtered'][1]:.1f} "
            f"| {r['load_s']:.1f} / {r['snapshot_s']:.1f} | {r['bm25_s']:.1f} "
            f"| {r['index_mb']:.0f} | {r['rss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        results.append(run_size(size, args.queries))
        print(report(results[-1:]).splitlines()[-1], flush=True)
    print()
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
