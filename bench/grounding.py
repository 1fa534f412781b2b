"""Measure grounding on analyst records: how many gold rows would `ground_rows` keep?

usage: python bench/grounding.py [PAIRS_DIR] [--n 30] [--offset 0]

PAIRS_DIR (default ../shared/train) holds NNN_article.md + NNN_gold.md. Gold rows are
abstractions an analyst wrote from the article, so they should be kept; the same rows
grounded against a *different* article should not. Prints numbers only (no article or
gold text), for docs/grounding.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

from ingest.extract.grounding import (
    ArticleSentences,
    _best,
    ground_rows,
    ground_summary,
    named_technologies,
)
from kb.embed import MiniLMEmbedder
from kb.records import ITEM_TYPES, KINDS, Item, Kind

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _scorer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("score", SHARED / "eval" / "score.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _rows(gold: dict[str, Any]) -> dict[Kind, list[Item]]:
    rows: dict[Kind, list[Item]] = {}
    for kind in KINDS:
        for r in gold[kind]:
            name, desc = r.get("name", "").strip(), r.get("description", "").strip()
            if not name or not desc:
                continue  # some gold technologies tables have no name column
            rel = str(r.get("relevancy", "3")).strip()
            data: dict[str, Any] = {
                "name": name[:300],
                "description": desc[:2000],
                "relevancy": int(rel) if rel.isdigit() and 1 <= int(rel) <= 5 else 3,
            }
            if kind == "signals":
                for key, col in (("change", "change"), ("ten_year", "10-year")):
                    data[key] = r.get(col, "").strip()[:1000] or "-"
                data["driving_force"] = r.get("driving-force", "").strip()[:1000] or "-"
            rows.setdefault(kind, []).append(ITEM_TYPES[kind].model_validate(data))
    return rows


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).strip()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("pairs", nargs="?", default=str(SHARED / "train"))
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--show", action="store_true", help="list dropped rows (tuning only)")
    args = parser.parse_args(argv)
    pairs_dir = Path(args.pairs)
    if pairs_dir.name == "val":
        sys.exit("val/ is for measuring records, not for tuning grounding")
    score = _scorer()
    embedder = MiniLMEmbedder()
    cache: dict[str, list[float]] = {}

    def embed(texts: list[str]) -> list[list[float]]:
        new = [t for t in dict.fromkeys(texts) if t not in cache]
        cache.update(zip(new, embedder.embed(new), strict=True))
        return [cache[t] for t in texts]

    golds = sorted(pairs_dir.glob("*_gold.md"))[args.offset : args.offset + args.n]
    pairs = [(p, p.with_name(p.name.replace("_gold", "_article"))) for p in golds]
    data = [(score.parse(g.read_text()), a.read_text()) for g, a in pairs if a.exists()]
    t0 = time.perf_counter()
    kept = total = 0
    reasons: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    by_kind_total: Counter[str] = Counter()
    pos_scores: list[float] = []
    neg_scores: list[float] = []
    neg_kept = neg_total = 0
    foreign_cells: Counter[str] = Counter()
    sum_sents = sum_dropped = 0
    tech_gold = tech_hit = tech_in_text = tech_in_text_hit = 0
    n_named = 0
    for i, (gold, article) in enumerate(data):
        rows = _rows(gold)
        report = ground_rows(rows, article, embed)
        n = sum(len(v) for v in rows.values())
        total += n
        kept += report.kept
        reasons.update(report.counts)
        for kind in KINDS:
            by_kind_total[kind] += len(rows.get(kind, []))
            by_kind[kind] += len(report.rows[kind])
        for d in report.dropped:
            if d.reason == "foreign_terms":
                foreign_cells["terms"] += len(d.detail.split(", "))
            if args.show:
                print(f"  [{i}] {d.kind} {d.reason}: {d.item.name!r} ({d.detail})", file=sys.stderr)
        # evidence scores of gold rows on their own article and on another article
        own = ArticleSentences.of(article, embed)
        other_article = data[(i + 1) % len(data)][1]
        other = ArticleSentences.of(other_article, embed)
        claims = [f"{it.name}. {it.description}" for v in rows.values() for it in v]
        descs = [it.description for v in rows.values() for it in v]
        vecs = embed(claims) if claims else []
        dvecs = embed(descs) if descs else []
        for c, v, d in zip(claims, vecs, dvecs, strict=True):
            b = _best(c, v, own, d)
            if b:
                pos_scores.append(b.score)
            b = _best(c, v, other, d)
            if b:
                neg_scores.append(b.score)
        neg = ground_rows(rows, other_article, embed)
        neg_kept += neg.kept
        neg_total += n
        # summary sentences
        if gold["summary"]:
            kept_s, dropped = ground_summary(gold["summary"], article)
            sum_dropped += len(dropped)
            sum_sents += len(dropped) + len(re.findall(r"[.!?](?:\s|$)", kept_s))
        # named technologies against gold technology names
        names = named_technologies(article)
        n_named += len(names)
        gold_names = [t.get("name", "") for t in gold["technologies"] if t.get("name")]
        if gold_names:
            sim = score._cos_matrix(gold_names, names) if names else None
            for gi, g in enumerate(gold_names):
                hit = any(
                    _norm(g) and _norm(o) and (_norm(g) in _norm(o) or _norm(o) in _norm(g))
                    for o in names
                ) or (sim is not None and float(sim[gi].max()) >= 0.75)
                tech_gold += 1
                tech_hit += hit
                if _norm(g) in _norm(article):
                    tech_in_text += 1
                    tech_in_text_hit += hit
    elapsed = time.perf_counter() - t0

    def pct(a: float, b: float) -> str:
        return f"{100 * a / b:.1f}% ({a}/{b})" if b else "n/a"

    def q(xs: list[float], p: float) -> float:
        return statistics.quantiles(xs, n=100)[int(p) - 1] if len(xs) > 2 else float("nan")

    print(f"pairs: {len(data)} from {pairs_dir.name}/ (offset {args.offset})")
    print(f"gold rows kept: {pct(kept, total)}; dropped by reason: {dict(reasons)}")
    dup = reasons.get("duplicate", 0)
    print(f"gold rows kept, repeats across tables aside: {pct(kept, total - dup)}")
    for kind in KINDS:
        print(f"  {kind}: {pct(by_kind[kind], by_kind_total[kind])}")
    print(f"gold rows against another article kept: {pct(neg_kept, neg_total)}")
    for name, xs in (("own article", pos_scores), ("other article", neg_scores)):
        print(
            f"evidence score, {name}: p5 {q(xs, 5):.3f} p10 {q(xs, 10):.3f} "
            f"median {statistics.median(xs):.3f} p90 {q(xs, 90):.3f}"
        )
    for thr in (0.30, 0.32, 0.35, 0.38, 0.40, 0.45):
        pos = sum(s >= thr for s in pos_scores) / len(pos_scores)
        neg = sum(s >= thr for s in neg_scores) / len(neg_scores)
        print(f"  min_score {thr:.2f}: own kept {pos:.3f}, other kept {neg:.3f}")
    print(f"summary sentences dropped: {pct(sum_dropped, sum_sents)}")
    print(
        f"named_technologies: {n_named} names; gold tech recall {pct(tech_hit, tech_gold)}; "
        f"of gold names found in the text: {pct(tech_in_text_hit, tech_in_text)}"
    )
    print(f"seconds: {elapsed:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
