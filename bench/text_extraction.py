"""Article-body extraction: signalkb's extractor vs bare trafilatura on the shared benchmark.

Scores both on ../shared/bench/article-extraction (181 real pages with their true body)
with that folder's own metric (score.py: 4-token shingles, per-page P/R averaged, F1 of
the means) and prints F1, precision, recall and pages/s for each.

usage: .venv/bin/python bench/text_extraction.py [--data DIR] [--limit N] [--worst N]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import json
import time
from collections.abc import Callable
from pathlib import Path
from statistics import mean
from types import ModuleType

import trafilatura

from ingest.html import decode_bytes, extract_main_text

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "article-extraction"
SHARED_DATA = Path("/work/shared/bench/article-extraction")


def load_scorer(data: Path) -> ModuleType:
    """The benchmark's own score.py, imported from the data folder."""
    spec = importlib.util.spec_from_file_location("article_score", data / "score.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"no score.py in {data}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bare_trafilatura(body: bytes, url: str) -> str:
    """trafilatura 2.x with its defaults, as the published figures use it."""
    return trafilatura.extract(body, url=url) or ""


def signalkb(body: bytes, url: str) -> str:
    """Exactly what ingest keeps: decode the bytes, then signalkb's main-text extractor."""
    return extract_main_text(decode_bytes(body), url)


def run_both(
    extractors: dict[str, Callable[[bytes, str], str]],
    pages: dict[str, bytes],
    urls: dict[str, str],
) -> dict[str, tuple[dict[str, str], float]]:
    """Predictions and pages/s of each extractor.

    The extractors take turns page by page, so a load change on a shared machine slows
    both alike and the speed ratio stays fair.
    """
    predictions: dict[str, dict[str, str]] = {name: {} for name in extractors}
    seconds = dict.fromkeys(extractors, 0.0)
    for key, body in pages.items():
        for name, extract in extractors.items():
            started = time.perf_counter()
            predictions[name][key] = extract(body, urls[key])
            seconds[name] += time.perf_counter() - started
    return {name: (predictions[name], len(pages) / seconds[name]) for name in extractors}


def score(
    scorer: ModuleType, truth: dict[str, dict[str, str]], predictions: dict[str, str]
) -> tuple[float, float, float, dict[str, float]]:
    """F1, precision, recall (score.py's method) and per-page F1."""
    rows = {k: scorer.tp_fp_fn(truth[k].get("articleBody", ""), predictions[k]) for k in truth}
    p = mean(scorer.prec(*r) for r in rows.values() if r[0] + r[1] > 0)
    r = mean(scorer.rec(*x) for x in rows.values() if x[0] + x[2] > 0)
    per_page = {}
    for key, (tp, fp, fn) in rows.items():
        pp, rr = scorer.prec(tp, fp, fn), scorer.rec(tp, fp, fn)
        per_page[key] = 2 * pp * rr / (pp + rr) if pp + rr else 0.0
    return 2 * p * r / (p + r), p, r, per_page


def main() -> None:
    """Score both extractors and print a small table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="benchmark folder")
    parser.add_argument("--limit", type=int, default=0, help="only the first N pages")
    parser.add_argument("--worst", type=int, default=0, help="list signalkb's N worst pages")
    args = parser.parse_args()
    data = args.data or (DEFAULT_DATA if DEFAULT_DATA.exists() else SHARED_DATA)
    scorer = load_scorer(data)
    truth = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    keys = sorted(truth)[: args.limit or None]
    truth = {k: truth[k] for k in keys}
    pages = {k: gzip.decompress((data / "html" / f"{k}.html.gz").read_bytes()) for k in keys}
    urls = {k: truth[k].get("url", "") for k in keys}

    runs = run_both({"bare trafilatura": bare_trafilatura, "signalkb": signalkb}, pages, urls)
    results = {
        name: (*score(scorer, truth, predictions), speed)
        for name, (predictions, speed) in runs.items()
    }
    print(f"{len(keys)} pages from {data}")
    print(f"{'extractor':<18} {'F1':>6} {'P':>6} {'R':>6} {'pages/s':>8}")
    for name, (f1, p, r, _, speed) in results.items():
        print(f"{name:<18} {f1:6.3f} {p:6.3f} {r:6.3f} {speed:8.1f}")
    base, ours = results["bare trafilatura"], results["signalkb"]
    print(f"speed ratio (signalkb / bare): {ours[4] / base[4]:.2f}")
    if args.worst:
        print("worst pages (signalkb F1, bare F1):")
        for key in sorted(ours[3], key=ours[3].__getitem__)[: args.worst]:
            print(f"  {key}  {ours[3][key]:.3f}  {base[3][key]:.3f}  {urls[key]}")


if __name__ == "__main__":
    main()
