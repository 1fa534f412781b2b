"""The task formats of the tuned extractor, shared by training (`signalkb tune`) and inference.

A record is written by several small tasks, each its own chat turn with the same article:

    summary       one paragraph, third person
    terms         Keywords: a, b, ... / Themes: ... / Category: ... / Type: ...
    signals       blocks of labelled lines `Signal: / Description: / Change: / 10-year: /
                  Driving force: / Relevancy:`, one block per signal
    concerns      rows `name | description | relevancy` (likewise behaviors, issues,
    behaviors     technologies)
    issues
    technologies

For each task: `messages(task, article_text)` builds the chat (the article FIRST and the
instruction LAST, so llama.cpp's prefix cache reuses the article's KV across the tasks of one
record), `target(task, gold)` is the answer the model learns, built from a parsed gold record
(`kb.markdown.parse_record_markdown` or a record's JSON), and `parse(task, answer)` turns an
answer back into fields: a dict for summary/terms, a list of row dicts for the tables whose
keys are `kb.records` field names (name, description, relevancy and, for signals, change,
ten_year, driving_force), so `Signal(**row)` builds an item. `parse` never raises: junk lines
are skipped.

The article is cut to `ARTICLE_WORDS` words (about 400 SmolLM2 tokens) at a sentence end, by
words rather than tokens so that training and inference cut it the same way without a
tokenizer. The budget is set by training on a shared 2-core machine and by the 30 s a
record may take there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ARTICLE_WORDS = 300
SYSTEM = "You are an analyst who writes tech-watch records from articles."
ROW_SEP = " | "


@dataclass(frozen=True)
class Task:
    """One task: its instruction, the columns of its rows and its output budget."""

    name: str
    instruction: str
    columns: tuple[str, ...] = ()  # row fields before relevancy; empty for prose tasks
    max_rows: int = 0
    max_tokens: int = 256  # generation budget at inference
    blocks: bool = False  # rows as blocks of labelled lines instead of `a | b | relevancy`
    repeat_penalty: float = 1.1  # at inference: 1.0 where the format repeats its labels


_ROWS = "one per line"
TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            "summary",
            "Summarise the article in one paragraph of 60 to 150 words, in the third person.",
            max_tokens=260,
        ),
        Task(
            "terms",
            "Give the article's keywords and themes (lower case), its category and its type, "
            "as lines: Keywords: ... / Themes: ... / Category: ... / Type: ...",
            max_tokens=80,
        ),
        Task(
            "signals",
            "List the signals, the emerging changes the article gives evidence of, each as "
            "lines Signal: / Description: / Change: / 10-year: / Driving force: / "
            "Relevancy: 1-5",
            ("name", "description", "change", "ten_year", "driving_force"),
            max_rows=4,
            max_tokens=460,
            blocks=True,
            # each block repeats the labels of the last one, within llama.cpp's 64-token
            # penalty window: a penalty garbles them ("Driving Force" before "10-year")
            repeat_penalty=1.0,
        ),
        Task(
            "concerns",
            "List the concerns, the risks or worries the article raises, "
            f"{_ROWS}: name | description | relevancy 1-5",
            ("name", "description"),
            max_rows=4,
            max_tokens=200,
        ),
        Task(
            "behaviors",
            "List the behaviors, what people or organisations are observed doing, "
            f"{_ROWS}: name | description | relevancy 1-5",
            ("name", "description"),
            max_rows=4,
            max_tokens=200,
        ),
        Task(
            "issues",
            "List the issues, the topics of debate or attention the article feeds, "
            f"{_ROWS}: name | description | relevancy 1-5",
            ("name", "description"),
            max_rows=4,
            max_tokens=200,
        ),
        Task(
            "technologies",
            "List the technologies, products, models or methods the article names, "
            f"{_ROWS}: name | description | relevancy 1-5",
            ("name", "description"),
            max_rows=5,
            max_tokens=200,
        ),
    )
}
TASK_NAMES: tuple[str, ...] = tuple(TASKS)
# The labels of a block's lines, by row field (signals). Distinct from the `a | b | n` rows
# of the four other tables: a model trained on one shared format wrote signals in it.
BLOCK_LABELS = {
    "name": "Signal",
    "description": "Description",
    "change": "Change",
    "ten_year": "10-year",
    "driving_force": "Driving force",
    "relevancy": "Relevancy",
}
_LIMITS = {
    "name": 300,
    "description": 2000,
    "change": 1000,
    "ten_year": 1000,
    "driving_force": 1000,
}


def get_task(task: str | Task) -> Task:
    """The Task for a name (or the Task itself)."""
    if isinstance(task, Task):
        return task
    try:
        return TASKS[task]
    except KeyError:
        raise ValueError(f"unknown task {task!r} (expected one of {', '.join(TASKS)})") from None


def cut_article(text: str, max_words: int = ARTICLE_WORDS) -> str:
    """The article's first `max_words` words (at most), ending at a sentence end where one
    is near.

    Whitespace inside a line is collapsed and blank lines are dropped (they cost tokens and
    carry nothing the tasks need); line breaks between paragraphs stay.
    """
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    out: list[str] = []
    left = max_words
    for line in lines:
        words = line.split(" ")
        if len(words) <= left:
            out.append(line)
            left -= len(words)
            if left == 0:
                break
            continue
        part = " ".join(words[:left])
        # Cut at the last sentence end in the kept part of the line if it keeps most of it;
        # drop a part with no sentence end when whole lines came before it.
        ends = [m.end() for m in re.finditer(r"[.!?][\"')\]]?(?=\s|$)", part)]
        if ends and ends[-1] >= len(part) // 2:
            out.append(part[: ends[-1]])
        elif not out:
            out.append(part)
        break
    return "\n".join(out)


def messages(
    task: str | Task, article_text: str, *, max_words: int = ARTICLE_WORDS
) -> list[dict[str, str]]:
    """The chat for one task: system, then the user turn (article first, instruction last)."""
    spec = get_task(task)
    article = cut_article(article_text, max_words)
    return [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": f"Article:\n{article}\n\nTask: {spec.instruction}"},
    ]


def _clean(value: Any) -> str:
    text = str(value if value is not None else "")
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # markdown links -> their text
    text = text.replace("\\|", "/").replace("|", "/")
    return " ".join(text.split())


def _relevancy(value: Any) -> int | None:
    match = re.search(r"[1-5]", str(value))
    return int(match.group(0)) if match else None


def target(task: str | Task, gold: dict[str, Any]) -> str | None:
    """The answer the model learns for `task`, from a parsed gold record; None when the
    gold has nothing for it (e.g. a record without a Concerns table)."""
    spec = get_task(task)
    if spec.name == "summary":
        summary = _clean(gold.get("summary", ""))
        return summary or None
    if spec.name == "terms":
        keywords = [_clean(k).lower() for k in gold.get("keywords") or []]
        themes = [_clean(t).lower() for t in gold.get("themes") or []]
        keywords = [k for k in keywords if k][:8]
        themes = [t for t in themes if t][:6]
        if not keywords and not themes:
            return None
        lines = [f"Keywords: {', '.join(keywords)}", f"Themes: {', '.join(themes)}"]
        lines.append(f"Category: {_clean(gold.get('category', '')).lower() or 'others'}")
        lines.append(f"Type: {_clean(gold.get('type', '')).lower() or 'others'}")
        return "\n".join(lines)
    rows = []
    for row in gold.get(spec.name) or []:
        cells = [_clean(row.get(column, "")) for column in spec.columns]
        rel = _relevancy(row.get("relevancy", ""))
        if all(cells) and rel is not None:
            rows.append((rel, cells))
    if not rows:
        return None
    # The most relevant rows first (stable), so a cut-off answer loses the least.
    rows.sort(key=lambda r: -r[0])
    if spec.blocks:
        return "\n\n".join(
            "\n".join(
                f"{BLOCK_LABELS[column]}: {value}"
                for column, value in zip(
                    [*spec.columns, "relevancy"], [*cells, str(rel)], strict=True
                )
            )
            for rel, cells in rows[: spec.max_rows]
        )
    return "\n".join(ROW_SEP.join([*cells, str(rel)]) for rel, cells in rows[: spec.max_rows])


_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s*")


def parse(task: str | Task, answer: str) -> Any:
    """An answer turned into fields; robust to junk (it never raises).

    summary -> {"summary": str}; terms -> {"keywords", "themes", "category", "type"};
    a table task -> a list of row dicts (kb.records field names, relevancy an int 1-5).
    """
    spec = get_task(task)
    answer = answer or ""
    if spec.name == "summary":
        text = re.sub(r"^\s*summary\s*:\s*", "", answer, flags=re.I)
        return {"summary": _clean(text)}
    if spec.name == "terms":
        return _parse_terms(answer)
    if spec.blocks:
        return _parse_blocks(spec, answer) or _parse_rows(spec, answer)
    return _parse_rows(spec, answer)


def _split_terms(value: str, limit: int) -> list[str]:
    seen: list[str] = []
    for term in re.split(r"[,;]", value):
        term = _clean(term).strip(" .*\"'").lower()
        if term and len(term) <= 80 and term not in seen:
            seen.append(term)
    return seen[:limit]


def _parse_terms(answer: str) -> dict[str, Any]:
    out: dict[str, Any] = {"keywords": [], "themes": [], "category": "", "type": ""}
    for line in answer.splitlines():
        label, sep, value = _BULLET.sub("", line).partition(":")
        key = label.strip().lower()
        if not sep:
            continue
        if key in ("keywords", "keyword"):
            out["keywords"] = _split_terms(value, 8)
        elif key in ("themes", "theme"):
            out["themes"] = _split_terms(value, 6)
        elif key in ("category", "type"):
            out[key] = _clean(value).strip(" .").lower()[:60]
    return out


_LABEL_FIELDS = {label.lower(): column for column, label in BLOCK_LABELS.items()}
_LABEL_FIELDS |= {"name": "name", "10-year outlook": "ten_year", "driving-force": "driving_force"}


def _parse_blocks(spec: Task, answer: str) -> list[dict[str, Any]]:
    """Blocks of labelled lines; a block starts at its name's label. A block missing a
    column is skipped; a missing relevancy is 3."""
    blocks: list[dict[str, str]] = []
    for line in answer.splitlines():
        label, sep, value = _BULLET.sub("", line).strip().strip("*_").partition(":")
        column = _LABEL_FIELDS.get(label.strip(" *_").lower()) if sep else None
        if column is None:
            continue
        if column == "name" or not blocks:
            blocks.append({})
        blocks[-1].setdefault(column, _clean(value).strip("*_ "))
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for block in blocks:
        if not all(block.get(column) for column in spec.columns):
            continue
        key = block["name"].lower()
        if key in seen:
            continue
        seen.add(key)
        row: dict[str, Any] = {c: block[c][: _LIMITS[c]] for c in spec.columns}
        row["relevancy"] = _relevancy(block.get("relevancy", "")) or 3
        rows.append(row)
        if len(rows) >= max(spec.max_rows, 1) * 2:
            break
    return rows


def _parse_rows(spec: Task, answer: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    n = len(spec.columns)
    for line in answer.splitlines():
        line = _BULLET.sub("", line).strip().strip("|")
        if "|" not in line or set(line) <= set("|-: "):
            continue  # prose, or a markdown table's rule
        cells = [_clean(cell).strip("*_ ") for cell in line.split("|")]
        rel = _relevancy(cells[-1]) if len(cells) > n and len(cells[-1]) <= 12 else None
        if rel is not None:
            cells = cells[:-1]
        if len(cells) > n:  # extra pipes: fold them into the last column
            cells = [*cells[: n - 1], " / ".join(cells[n - 1 :])]
        if len(cells) < n or not all(cells):
            continue
        row: dict[str, Any] = {
            column: cell[: _LIMITS[column]]
            for column, cell in zip(spec.columns, cells, strict=True)
        }
        key = row["name"].lower()
        if key in seen or key in ("name", "technology", "signal"):
            continue  # a repeat, or a header row
        seen.add(key)
        row["relevancy"] = rel if rel is not None else 3
        rows.append(row)
        if len(rows) >= max(spec.max_rows, 1) * 2:
            break
    return rows
