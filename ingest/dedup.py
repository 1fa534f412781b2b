"""Near-duplicate detection: one 64-bit SimHash per article text, compared by Hamming distance.

The same story reposted under another URL (syndication, AMP, print view, a mirror) gets
a SimHash within a few bits of the original, while different articles differ in about
half their bits. A close fingerprint is only a candidate: it is confirmed by comparing
the two texts' shingles (`resemblance`). `FingerprintIndex` keeps one fingerprint per
stored article in `<home>/fingerprints.jsonl` (append-only, last line per id wins); the
pipeline rebuilds it from the store when the two disagree (another process wrote).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)
SHINGLE = 3
# Candidates are confirmed by `resemblance`, so the bit limit can be generous: on the 181
# benchmark pages, two different articles were never closer than 17 bits, while the same
# article extracted two ways was within 12 bits in 57 of 60 pages.
CANDIDATE_BITS = 12
SAME_TEXT = 0.6  # shingle Jaccard above which two texts are one article
_BITS = 64


def shingles(text: str, size: int = SHINGLE) -> Iterator[str]:
    """Lower-cased word n-grams of a text (the whole text when shorter than one n-gram)."""
    words = [w.lower() for w in _WORD.findall(text)]
    if len(words) < size:
        if words:
            yield " ".join(words)
        return
    for i in range(len(words) - size + 1):
        yield " ".join(words[i : i + size])


def simhash(text: str) -> int:
    """The 64-bit SimHash of a text over its word 3-shingles."""
    counts: dict[str, int] = {}
    for gram in shingles(text):
        counts[gram] = counts.get(gram, 0) + 1
    if not counts:
        return 0
    values = np.array(
        [
            int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big")
            for g in counts
        ],
        dtype=np.uint64,
    )
    bits = (values[:, None] >> np.arange(_BITS, dtype=np.uint64)) & np.uint64(1)
    weight = np.array(list(counts.values()), dtype=np.int64)[:, None]
    totals = (np.where(bits == 1, weight, -weight)).sum(axis=0)
    return sum(1 << bit for bit in range(_BITS) if totals[bit] > 0)


def distance(a: int, b: int) -> int:
    """Hamming distance between two fingerprints."""
    return (a ^ b).bit_count()


@dataclass(frozen=True)
class Fingerprint:
    """One stored article's identity for duplicate checks."""

    article_id: str
    url: str
    simhash: int
    text_hash: str


class FingerprintIndex:
    """Fingerprints of a knowledge base's articles, persisted beside the store.

    Args:
        path: the JSON-lines file (created on first add).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._by_id: dict[str, Fingerprint] = {}
        self._load()

    def _load(self) -> None:
        self._by_id.clear()
        if not self.path.exists():
            return
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                fp = Fingerprint(row["id"], row["url"], int(row["simhash"]), row["text_hash"])
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue  # a line cut short by a crash
            self._by_id[fp.article_id] = fp

    def __len__(self) -> int:
        return len(self._by_id)

    def add(self, fingerprint: Fingerprint) -> None:
        """Record (or replace) an article's fingerprint."""
        with self._lock:
            self._by_id[fingerprint.article_id] = fingerprint
            self._append(_row(fingerprint))

    def _append(self, row: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(row) + "\n")

    def rebuild(self, fingerprints: Iterable[Fingerprint]) -> None:
        """Replace the whole index (and its file) with these fingerprints."""
        with self._lock:
            self._by_id = {fp.article_id: fp for fp in fingerprints}
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(
                "".join(json.dumps(_row(fp)) + "\n" for fp in self._by_id.values()),
                encoding="utf-8",
            )
            tmp.replace(self.path)

    def candidates(
        self, fingerprint: int, text_hash: str, *, exclude: str = "", limit: int = CANDIDATE_BITS
    ) -> list[Fingerprint]:
        """Stored articles within `limit` bits, closest first (exact text matches lead)."""
        found: list[tuple[int, Fingerprint]] = []
        for fp in self._by_id.values():
            if fp.article_id == exclude:
                continue
            d = -1 if fp.text_hash == text_hash else distance(fp.simhash, fingerprint)
            if d <= limit:
                found.append((d, fp))
        return [fp for _, fp in sorted(found, key=lambda pair: pair[0])]


def resemblance(a: str, b: str) -> float:
    """Jaccard similarity of two texts' word 3-shingle sets (1.0: the same wording)."""
    sa, sb = set(shingles(a)), set(shingles(b))
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def _row(fp: Fingerprint) -> dict[str, Any]:
    return {"id": fp.article_id, "url": fp.url, "simhash": fp.simhash, "text_hash": fp.text_hash}
