"""Benchmark signalkb's store and search against bare chromadb on the same synthetic rows.

usage: python bench/search.py [--sizes 1000,10000,100000] [--queries 200] [--markdown FILE]

For each size it builds a signalkb store (Store.add_many, vectors given, so no model runs)
and a bare chromadb collection with the same rows, vectors and metadata, then times:
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


def build_store(home: Path, articles: list[Article], embedder: TableEmbedder) -> float:
    """Fill a signalkb store; returns rows per second."""
    store = Store(home, embedder=embedder)  # type: ignore[arg-type]
    n_rows = sum(len(a.all_items()) for a in articles)
    start = time.perf_counter()
    for i in range(0, len(articles), BATCH // ROWS_PER_ARTICLE):
        store.add_many(articles[i : i + BATCH // ROWS_PER_ARTICLE])
    return n_rows / (time.perf_counter() - start)


def build_bare(home: Path, articles: list[Article], embedder: TableEmbedder) -> tuple[Any, float]:
    """Fill a bare chromadb collection with the same rows; returns it and rows per second."""
    client = make_client(home)
    col = client.get_or_create_collection(
        "items", metadata={"hnsw:space": "cosine"}, embedding_function=None
    )
    ids, vecs, metas, docs = [], [], [], []
    for a in articles:
        for kind, i, item in a.all_items():
            ids.append(f"{a.id}:{kind}:{i}")
            vecs.append(embedder.table[item.text()])
            metas.append(item_metadata(a, kind, item))
            docs.append(item.text())
    start = time.perf_counter()
    for i in range(0, len(ids), BATCH):
        col.add(
            ids=ids[i : i + BATCH],
            embeddings=vecs[i : i + BATCH],
            metadatas=metas[i : i + BATCH],
            documents=docs[i : i + BATCH],
        )
    return col, len(ids) / (time.perf_counter() - start)


def run_size(n_rows: int, n_queries: int) -> dict[str, Any]:
    """All figures for one size."""
    from kb.search import search

    articles, embedder, queries = synthetic(n_rows)
    queries = queries[:n_queries]
    qvecs = [embedder.table[q].tolist() for q in queries]
    where = {"$and": [{"kind": "signals"}, {"relevancy": {"$gte": 4}}]}
    out: dict[str, Any] = {"rows": n_rows}
    with tempfile.TemporaryDirectory() as tmp:
        out["bare_add"] = build_bare(Path(tmp) / "bare", articles, embedder)[1]
        col = make_client(Path(tmp) / "bare").get_collection("items", embedding_function=None)

        def bare(v: list[float], filtered: bool = False) -> object:
            include = ["metadatas", "distances"]
            return col.query(
                query_embeddings=[v],
                n_results=10,
                where=where if filtered else None,
                include=include,
            )

        out["bare"] = timings(bare, qvecs)
        out["bare_filtered"] = timings(lambda v: bare(v, True), qvecs)
        gc.collect()
        out["store_add"] = build_store(Path(tmp) / "kb", articles, embedder)
        rss_before = rss_mb()
        start = time.perf_counter()
        store = Store(Path(tmp) / "kb", embedder=embedder)  # type: ignore[arg-type]
        index = store.index
        out["load_s"] = time.perf_counter() - start
        out["index_mb"] = rss_mb() - rss_before
        assert len(index) == n_rows
        flt: dict[str, Any] = {"kinds": ("signals",), "min_relevancy": 4}
        start = time.perf_counter()
        search(store, queries[0])  # builds the BM25 index once
        out["bm25_s"] = time.perf_counter() - start
        for name, mode, filters in (
            ("vector", "vector", {}),
            ("vector_filtered", "vector", flt),
            ("hybrid", "hybrid", {}),
            ("hybrid_filtered", "hybrid", flt),
        ):
            out[name] = timings(
                lambda q, mode=mode, filters=filters: search(store, q, mode=mode, **filters),
                queries,
            )
        out["rss_mb"] = rss_mb()
    return out


def report(results: list[dict[str, Any]]) -> str:
    """The figures as a Markdown table."""
    lines = [
        "| rows | add rows/s (bare) | vector p50/p95 ms (bare) | ratio p50/p95 "
        "| filtered p50/p95 ms (bare) | ratio p50/p95 | hybrid p50/p95 | hybrid filtered "
        "| index load s | BM25 build s | index MB | RSS MB |",
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
            f"| {r['load_s']:.1f} | {r['bm25_s']:.1f} | {r['index_mb']:.0f} | {r['rss_mb']:.0f} |"
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
