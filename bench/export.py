"""Benchmark exports: 100,000 stored rows to csv and parquet (goal: each in 2 s or less).

usage: python bench/export.py [--rows 100000] [--kb DIR]

Builds a synthetic store (as bench/search.py does; or reuses one at --kb), opens it
afresh, loads its in-memory index (timed apart: every command pays it once), then times
`export_frame(store, "all")` and `render(frame, fmt)` for csv and parquet, and the same
for xlsx at a tenth of the rows, for comparison.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import TableEmbedder, fill_store, synthetic  # noqa: E402

from kb.export import export_frame, render  # noqa: E402
from kb.store import Store  # noqa: E402


def timed(fn):  # type: ignore[no-untyped-def]
    """(result, seconds) of one call."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def indexed_rows(store: Store) -> int:
    """Rows in the store's in-memory index (loaded on first use)."""
    with store.reading() as index:
        return len(index)


def run(home: Path, embedder: TableEmbedder) -> list[str]:
    """Time the exports of the store at `home`; returns Markdown table rows."""
    store = Store(home, embedder=embedder)  # type: ignore[arg-type]
    _, load_s = timed(lambda: indexed_rows(store))
    again = Store(home, embedder=embedder)  # type: ignore[arg-type]
    _, snapshot_s = timed(lambda: indexed_rows(again))
    frame, frame_s = timed(lambda: export_frame(store, "all"))
    lines = [
        f"| index load from chroma / from its snapshot (once per process) | {len(frame):,} "
        f"| {load_s:.2f} / {snapshot_s:.2f} | | |"
    ]
    for fmt in ("csv", "parquet"):
        data, render_s = timed(lambda fmt=fmt: render(frame, fmt, kind="all"))
        lines.append(
            f"| {fmt} | {len(frame):,} | {frame_s:.2f} | {render_s:.2f} "
            f"| **{frame_s + render_s:.2f}** ({len(data) / 1e6:.0f} MB) |"
        )
    tenth = frame.iloc[: len(frame) // 10]
    data, xlsx_s = timed(lambda: render(tenth, "xlsx", kind="all"))
    lines.append(f"| xlsx | {len(tenth):,} | | {xlsx_s:.2f} | ({len(data) / 1e6:.1f} MB) |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--kb", type=Path, default=None, help="reuse (or fill) this store")
    args = parser.parse_args()
    articles, embedder, _ = synthetic(args.rows)
    with tempfile.TemporaryDirectory() as tmp:
        home = args.kb or Path(tmp) / "kb"
        if not (home / "chroma.sqlite3").exists():
            rate = fill_store(home, articles, embedder)
            print(f"built {args.rows:,} rows at {rate:,.0f} rows/s", flush=True)
        print("| step | rows | frame s | render s | total s |")
        print("|:--|--:|--:|--:|--:|")
        for line in run(home, embedder):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
