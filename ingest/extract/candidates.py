"""Choosing what the model is asked about: keywords, technologies and evidence sentences.

Pure functions over the text, its sentences and their MiniLM vectors (computed by the
caller): candidates are mined from the text and ranked by closeness to the article's
subject (`focus`, the title and summary) and to what each table holds
(`vocabulary.PROTOTYPES`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from ingest.extract.text import (
    Sentence,
    content_words,
    grounded,
    is_name_list,
    is_speaker,
    looks_named,
    named_terms,
    noun_phrases,
    plain,
    tech_phrases,
)
from ingest.extract.vocabulary import (
    CUES,
    GENERIC_TERMS,
    MAX_TABLES_PER_SENTENCE,
    PROTOTYPES,
    ROW_TABLES,
)
from kb.records import Kind

Vector = list[float]


def dot(a: Vector, b: Vector) -> float:
    """The dot product (the cosine, for MiniLM's unit vectors)."""
    return sum(x * y for x, y in zip(a, b, strict=True))


def unique(values: list[str]) -> list[str]:
    """The values in order, each once."""
    return list(dict.fromkeys(values))


# -- keywords ------------------------------------------------------------------------------


def keyword_candidates(text: str) -> tuple[list[str], dict[str, int]]:
    """Noun phrases and names of the text (lower-cased), and each phrase's mentions."""
    counts = dict(noun_phrases(text))
    phrases = list(counts)[:60]
    names = [t for t, _ in named_terms(text)[:20]]
    return unique([*phrases, *(n.lower() for n in names)]), counts


def pick_keywords(
    candidates: list[str], vectors: list[Vector], focus: Vector, counts: dict[str, int]
) -> list[str]:
    """Up to six keywords: closest to the subject first, mentions adding a little, none
    containing or contained in one already picked."""
    scores = {
        c: dot(focus, v) + 0.05 * math.log1p(counts.get(c, 1))
        for c, v in zip(candidates, vectors, strict=True)
    }
    keywords: list[str] = []
    for phrase in sorted(candidates, key=lambda c: -scores[c]):
        if not any(phrase in k or k in phrase for k in keywords):
            keywords.append(phrase)
        if len(keywords) >= 6:
            break
    return keywords


# -- technologies --------------------------------------------------------------------------


def technology_candidates(text: str) -> tuple[list[str], dict[str, int]]:
    """Up to 40 names and tech phrases by mentions (acronyms joined to their long form),
    and the mentions of each."""
    counts: dict[str, int] = {}
    for term, n in named_terms(text):
        counts[term] = counts.get(term, 0) + n
    for term, n in tech_phrases(text):
        counts.setdefault(term, n)
    candidates = [t for t in merge_acronyms(counts) if t.lower() not in GENERIC_TERMS]
    return candidates[:40], counts


def rank_technologies(
    candidates: list[str], vectors: list[Vector], proto: Vector, counts: dict[str, int]
) -> list[str]:
    """Candidates that look most like a technology first (closeness to what the table
    holds, a model-like name, mentions), so people and places come last; near-repeats go."""
    score = {
        term: dot(proto, vec)
        + 0.15 * math.log1p(counts.get(term.split(" (")[0], 1))
        + (0.2 if looks_named(term) else 0.0)
        for term, vec in zip(candidates, vectors, strict=True)
    }
    return distinct(sorted(candidates, key=lambda t: -score[t]))


def mined_technologies(
    text: str, embed: Callable[[list[str]], list[Vector]]
) -> tuple[list[str], dict[str, int]]:
    """The article's mined names and tech phrases (`technology_candidates`), the most
    technology-like first (`rank_technologies`, by closeness to what the technologies
    table holds), and the mentions of each."""
    candidates, counts = technology_candidates(text)
    if not candidates:
        return [], counts
    proto = embed([PROTOTYPES["technologies"]])[0]
    return rank_technologies(candidates, embed(candidates), proto, counts), counts


def technology_evidence(term: str, sents: list[Sentence], text: str) -> Sentence | None:
    """The first sentence naming `term`, or None when there is none or the term is a
    person (a speaker, or a name in a byline)."""
    evidence = next((s for s in sents if term.lower() in s.text.lower()), None)
    if evidence is None or is_speaker(term.split(" (")[0], text):
        return None
    if is_name_list(evidence.text) and not looks_named(term):
        return None  # a byline's names are people
    return evidence


def merge_acronyms(counts: dict[str, int]) -> list[str]:
    """Terms by count, with "Small Language Models" and "SLMs" joined as one row.

    The acronym's mentions are added to its long form's in `counts`.
    """
    terms = sorted(counts, key=lambda t: -counts[t])
    merged: list[str] = []
    dropped: set[str] = set()
    for term in terms:
        if term in dropped:
            continue
        initials = "".join(w[0] for w in term.split() if w[:1].isupper())
        if len(initials) >= 2:
            for other in terms:
                if other.rstrip("s") == initials and other != term:
                    counts[term] += counts[other]
                    dropped.add(other)
                    term = f"{term} ({other})"
                    break
        merged.append(term)
    return sorted(merged, key=lambda t: -counts.get(t.split(" (")[0], counts.get(t, 0)))


def distinct(terms: list[str]) -> list[str]:
    """Terms minus those that contain, or are contained in, a better-ranked one."""
    kept: list[str] = []
    keys: list[str] = []
    for term in terms:
        words = [w.rstrip("s") for w in re.findall(r"[a-z0-9]+", term.lower())]
        key = " ".join(words)
        # "Open-Orca" and "OpenOrca" are one name.
        joined = "".join(words)
        if key and not any(key in k or k in key or joined == k.replace(" ", "") for k in keys):
            kept.append(term)
            keys.append(key)
    return kept


# -- evidence sentences --------------------------------------------------------------------


def sentence_fit(
    kind: str, sents: list[Sentence], vectors: list[Vector], proto: Vector, focus: Vector
) -> list[float]:
    """How well each sentence fits a table: cue words, closeness to what the table holds
    (`proto`) and closeness to the article's subject."""
    fit: list[float] = []
    for i, s in enumerate(sents):
        low = s.text.lower()
        cues = sum(1 for c in CUES.get(kind, ()) if c in low)
        fit.append(
            0.15 * min(cues, 3)
            + dot(proto, vectors[i])
            + 0.5 * dot(focus, vectors[i])
            - weak_evidence(s.text)
        )
    return fit


def allocate(
    fits: dict[Kind, list[float]],
    chunk_of: list[int],
    vectors: list[Vector],
    rows_per_table: int,
) -> dict[Kind, list[int]]:
    """The evidence sentences (indices, in text order) of the four item tables, chosen
    together from each sentence's fit to each table.

    The tables take turns, each taking its best-fitting sentence still free, so one
    sentence serves at most two tables; within a table, near-duplicates (cosine >= 0.8) are
    skipped, and each chunk offers at most `rows_per_table` sentences, so a long
    article's later parts are heard too.
    """
    kinds = ROW_TABLES
    pools: dict[Kind, list[int]] = {}
    for kind in kinds:
        per_chunk: dict[int, list[int]] = {}
        for i in sorted(range(len(chunk_of)), key=lambda i: -fits[kind][i]):
            per_chunk.setdefault(chunk_of[i], []).append(i)
        pool = [i for chunk in per_chunk.values() for i in chunk[:rows_per_table]]
        pools[kind] = sorted(pool, key=lambda i: -fits[kind][i])
    uses: dict[int, int] = {}
    picked: dict[Kind, list[int]] = {kind: [] for kind in kinds}
    for _ in range(rows_per_table):
        for kind in kinds:
            chosen = next(
                (
                    i
                    for i in pools[kind]
                    if uses.get(i, 0) < MAX_TABLES_PER_SENTENCE
                    and all(dot(vectors[i], vectors[j]) < 0.8 for j in picked[kind])
                ),
                None,
            )
            if chosen is not None:
                picked[kind].append(chosen)
                uses[chosen] = uses.get(chosen, 0) + 1
    return {kind: sorted(picked[kind]) for kind in kinds}


_CALL_TO_ACTION = re.compile(
    r"^(?:if you(?:'d| would)? like|want to|check out|click|subscribe|sign up|follow us|"
    r"join us|read more|learn more|share this|download|don't miss)\b",
    re.I,
)


def weak_evidence(sentence: str) -> float:
    """How much worse a sentence is as a row's evidence than its closeness says: a call to
    action, a question or a lead-in to a link or list says little on its own."""
    said = plain(sentence).strip()
    if _CALL_TO_ACTION.match(said):
        return 0.5
    if said.endswith((":", "?")) or len(said.split()) < 6:
        return 0.3
    return 0.0


# -- rows ----------------------------------------------------------------------------------

_CHATTY_NAMES = ("the trend", "the risk", "the topic", "the title", "title", "this", "the ai")


def good_name(name: str, body: str, text: str) -> bool:
    """A model-written title is kept when it is short, not chatter ("The topic is ..."),
    and at least half of its words come from its own sentence."""
    words = name.rstrip(".").split()
    if not 2 <= len(words) <= 8 or name.lower().startswith(_CHATTY_NAMES):
        return False
    own = content_words(name)
    shared = own & content_words(body)
    return len(shared) * 2 >= len(own) > 0 and grounded(name, text, min_overlap=0.3)


def same_row(row: dict[str, Any], rows: list[dict[str, Any]]) -> bool:
    """True when `rows` has one with the same name (content words) or the same evidence."""
    name = content_words(str(row["name"]))
    return any(
        (name and content_words(str(r["name"])) == name) or r["evidence"] == row["evidence"]
        for r in rows
    )


def relevancy(focus: Vector, row_vector: Vector, mentions: int) -> int:
    """The record format's 1-5 rubric (5 = central to the article and important):
    closeness to the title and summary stands for "central", repeated mention adds weight."""
    closeness = dot(focus, row_vector) + 0.05 * min(mentions, 4)
    if closeness >= 0.6:
        return 5
    if closeness >= 0.3:
        return 4
    return 3
