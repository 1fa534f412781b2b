"""Training pairs: an article's text and the record written from it.

Two sources: a folder of `NNN_article.md` + `NNN_gold.md` (the layout of RECORD-FORMAT.md;
`shared/train`), or the JSON of `signalkb export --kind all --format json` (each record's
`text` is its article), so records a big model wrote can be distilled into the small one.
Each pair has a hash for the manifest: the shipped adapter lists what it learned from by
hashes, never by text.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kb.markdown import parse_record_markdown
from kb.records import KINDS


@dataclass(frozen=True)
class Pair:
    """One article and its gold record (parsed: `kb.markdown.parse_record_markdown` keys)."""

    name: str
    article: str
    gold: dict[str, Any]
    hash: str  # sha256 of the article text and the gold record, 16 hex digits


def pair_hash(article: str, gold_source: str) -> str:
    """A stable id of a pair: sha256 over the article text and the gold record's source."""
    digest = hashlib.sha256()
    digest.update(article.encode("utf-8"))
    digest.update(b"\0")
    digest.update(gold_source.encode("utf-8"))
    return digest.hexdigest()[:16]


def read_pairs(source: Path) -> list[Pair]:
    """Pairs from a folder of NNN_article.md + NNN_gold.md, or an export JSON file."""
    source = Path(source)
    if source.is_dir():
        return _read_folder(source)
    if source.is_file():
        return _read_json(source)
    raise FileNotFoundError(f"no pairs at {source}")


def _read_folder(folder: Path) -> list[Pair]:
    pairs = []
    for gold_path in sorted(folder.glob("*_gold.md")):
        stem = gold_path.name[: -len("_gold.md")]
        article_path = folder / f"{stem}_article.md"
        if not article_path.is_file():
            continue
        article = article_path.read_text(encoding="utf-8")
        gold_md = gold_path.read_text(encoding="utf-8")
        gold = parse_record_markdown(gold_md)
        pairs.append(Pair(stem, article, gold, pair_hash(article, gold_md)))
    return pairs


def _read_json(path: Path) -> list[Pair]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        raise ValueError(f"{path}: expected a JSON list of records")
    pairs = []
    for index, record in enumerate(data):
        if not isinstance(record, dict) or not str(record.get("text", "")).strip():
            continue  # a record without its article text cannot teach anything
        gold: dict[str, Any] = {
            key: record.get(key, default)
            for key, default in (
                ("title", ""),
                ("keywords", []),
                ("themes", []),
                ("category", ""),
                ("type", ""),
                ("summary", ""),
            )
        }
        for kind in KINDS:
            gold[kind] = [dict(row) for row in record.get(kind) or [] if isinstance(row, dict)]
        name = str(record.get("id") or f"{index:04d}")
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        source = json.dumps(gold, sort_keys=True, ensure_ascii=False)
        pairs.append(Pair(name, str(record["text"]), gold, pair_hash(record["text"], source)))
    return pairs


def split_pairs(pairs: list[Pair], holdout: int) -> tuple[list[Pair], list[Pair]]:
    """A fixed train / held-out split: the held-out pairs are those with the smallest hash
    (deterministic, independent of file order, and not the first or last files)."""
    if holdout <= 0 or len(pairs) < 2:
        return list(pairs), []
    holdout = min(holdout, len(pairs) - 1)
    held = set(p.hash for p in sorted(pairs, key=lambda p: p.hash)[:holdout])
    return [p for p in pairs if p.hash not in held], [p for p in pairs if p.hash in held]
