"""The failures log: sources that failed to ingest, until they succeed (`signalkb failures`).

One JSON line per failure in `<home>/failures.jsonl`; a feed or sitemap is marked as a
listing, so that `--retry-failed` reads it as one again.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ingest.pipeline import Outcome


def failures_path(home: Path) -> Path:
    """The JSON-lines log of failed sources."""
    return Path(home) / "failures.jsonl"


_LOG_LOCK = threading.Lock()


def log_failure(
    home: Path, outcome: Outcome, *, listing: bool = False, allow_private: bool = False
) -> None:
    """Append a failed source and its reason to the failures log.

    `listing` marks a feed or sitemap, so that a retry reads it as one again;
    `allow_private` that it was fetched with private addresses allowed, as a retry will be.
    """
    with _LOG_LOCK:
        Path(home).mkdir(parents=True, exist_ok=True)
        entry = {**asdict(outcome), "at": datetime.now(UTC).isoformat(timespec="seconds")}
        if listing:
            entry["listing"] = True
        if allow_private:
            entry["allow_private"] = True
        with failures_path(home).open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry) + "\n")


def _read_log(home: Path) -> list[dict[str, Any]]:
    path = failures_path(home)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut short by a crash
    return entries


def load_failures(home: Path) -> list[dict[str, Any]]:
    """Sources that failed and have not succeeded since: the latest reason of each.

    Each entry has `source`, `message`, `at` (the last failure), `attempts`, `listing`
    (true for a feed or sitemap) and `allow_private` (it failed with private addresses
    allowed).
    """
    latest: dict[str, dict[str, Any]] = {}
    for entry in _read_log(home):
        source = str(entry.get("source", ""))
        if not source:
            continue
        attempts = latest.get(source, {}).get("attempts", 0) + 1
        latest[source] = {
            "source": source,
            "message": entry.get("message", ""),
            "at": entry.get("at", ""),
            "attempts": attempts,
            "listing": bool(entry.get("listing")),
            "allow_private": bool(entry.get("allow_private")),
        }
    return list(latest.values())


def resolve_failure(home: Path, source: str) -> None:
    """Drop a source from the failures log once it has been ingested (or skipped)."""
    with _LOG_LOCK:
        entries = _read_log(home)
        kept = [e for e in entries if e.get("source") != source]
        if len(kept) == len(entries):
            return
        path = failures_path(home)
        tmp = path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(e) + "\n" for e in kept), encoding="utf-8")
        tmp.replace(path)
