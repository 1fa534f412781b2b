"""Grounding for abstractive records: every row kept is backed by the article.

A model that writes rows in its own words ("Traditional Irrigation System Revival") can
also write facts the article never gave. This module checks each row against the article
text alone, with the sentence embedder passed in (nothing here loads a model):

- `evidence_for`: the article sentence that supports a claim best (MiniLM cosine plus
  shared content words), always a verbatim span of the article, or None;
- `foreign_terms`: names (people, products, organisations, places) and numbers that a text
  mentions and the article does not;
- `ground_rows`: rows kept only with evidence and no foreign term, repeated rows merged
  across tables, and a report of what was dropped and why;
- `ground_summary`: summary sentences naming what the article lacks are dropped;
- `is_technology` / `named_technologies`: a technologies row is a technology, not a date,
  place, person or bare company, and the technologies the article names are found.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ingest.extract.text import (
    STOPWORDS,
    Sentence,
    content_words,
    is_speaker,
    is_verbatim,
    named_terms,
    normalize,
    noun_phrases,
    plain,
    sentences,
    tech_phrases,
)
from kb.records import ITEM_TYPES, KINDS, Item, Kind, Signal

Embed = Callable[[list[str]], list[list[float]]]
"""A sentence embedder: one unit-length vector per text (dot product = cosine)."""

# Thresholds, measured on analyst records of ../shared/train (docs/grounding.md).
COSINE_WEIGHT = 0.7  # evidence score = 0.7 * cosine + 0.3 * share of the claim's words found
OVERLAP_WEIGHT = 0.3
MIN_EVIDENCE_SCORE = 0.33  # below this no sentence of the article supports the row
DUPLICATE_COSINE = 0.9  # two rows this close (name + description) say the same thing
MAX_SENTENCE_WORDS = 150  # longer "sentences" are run-on lists, still usable as evidence

# What each table holds, to decide which table keeps a row that two tables repeat.
TABLE_PROTOTYPES: dict[Kind, str] = {
    "signals": "an emerging trend: something new is growing, rising, shifting or spreading",
    "concerns": "a risk, danger, harm, cost or problem that people worry about",
    "behaviors": "companies, people or organisations are using, adopting, building or doing it",
    "technologies": "a technology, product, AI model, tool, dataset or method",
    "issues": "a topic of public debate: regulation, ethics, policy, transparency, access",
}


class Evidence(NamedTuple):
    """The article sentence that supports a claim, and how well (0..1)."""

    sentence: Sentence
    score: float


@dataclass(frozen=True)
class ArticleSentences:
    """An article's sentences with their vectors and stems, computed once for many claims."""

    sentences: list[Sentence]
    matrix: np.ndarray
    stems: list[set[str]]

    @classmethod
    def of(cls, text: str, embed: Embed) -> ArticleSentences:
        """Split `text` into verbatim sentences and embed them (as a reader sees them)."""
        sents = [
            s
            for s in sentences(text, min_words=4, max_words=MAX_SENTENCE_WORDS)
            if is_verbatim(s.text, text)
        ]
        return cls.from_sentences(sents, embed)

    @classmethod
    def from_sentences(cls, sents: Sequence[Sentence], embed: Embed) -> ArticleSentences:
        """Embed given sentences."""
        sents = list(sents)
        vectors = embed([plain(s.text) for s in sents]) if sents else []
        matrix = np.asarray(vectors, dtype=np.float32).reshape(len(sents), -1 if sents else 0)
        return cls(sents, matrix, [_stems(content_words(plain(s.text))) for s in sents])


def evidence_for(
    claim: str,
    sentences: Sequence[Sentence] | ArticleSentences,
    embed: Embed,
    *,
    min_score: float = MIN_EVIDENCE_SCORE,
) -> Evidence | None:
    """The sentence that supports `claim` best, or None when none reaches `min_score`.

    Args:
        claim: what a row says, e.g. its name and description.
        sentences: the article's sentences (`text.sentences()`), or an `ArticleSentences`
            whose vectors are reused.
        embed: the sentence embedder.
        min_score: the least score (0.7 * cosine + 0.3 * share of the claim's content
            words in the sentence) that counts as support.

    Returns:
        `Evidence(sentence, score)`; the sentence is verbatim article text.
    """
    if not isinstance(sentences, ArticleSentences):
        sentences = ArticleSentences.from_sentences(sentences, embed)
    if not sentences.sentences or not claim.strip():
        return None
    found = _best(claim, embed([plain(claim)])[0], sentences)
    return found if found is not None and found.score >= min_score else None


def _best(
    claim: str, vector: Sequence[float], article: ArticleSentences, *more: Sequence[float]
) -> Evidence | None:
    """The best sentence for a claim; `more` are vectors of other wordings of the claim
    (a row's description alone), of which the closest counts."""
    if not article.sentences:
        return None
    words = _stems(content_words(plain(claim)))
    cosine = article.matrix @ np.asarray(vector, dtype=np.float32)
    for other in more:
        cosine = np.maximum(cosine, article.matrix @ np.asarray(other, dtype=np.float32))
    overlap = np.array(
        [len(words & s) / len(words) if words else 0.0 for s in article.stems], dtype=np.float32
    )
    scores = COSINE_WEIGHT * cosine + OVERLAP_WEIGHT * overlap
    i = int(np.argmax(scores))
    return Evidence(article.sentences[i], round(float(scores[i]), 4))


def _stems(words: set[str]) -> set[str]:
    # Crude but enough to let "regulations" meet "regulation" and "prices" meet "price".
    return {_stem(w) for w in words}


def _stem(word: str) -> str:
    word = word.lower().replace("’", "'").removesuffix("'s").strip("'")
    for suffix in ("ies", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


# -- names and numbers the article lacks ----------------------------------------------------

_TOKEN = re.compile(r"[A-Za-z0-9$€£][A-Za-z0-9'’.\-&+]*")
_NUM = re.compile(
    r"(?<![\w.\-])[$€£]?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w\-]*[A-Za-z])"
    r"(?:\s*(%|percent|per cent))?"
    r"(?:\s*(thousand|million|billion|trillion|bn)\b)?",
    re.I,
)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "bn": 1e9, "trillion": 1e12}
_SMALL_NUMBERS_TEXT = """
    zero one two three four five six seven eight nine ten eleven twelve
    thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"""
_NUMBER_WORDS = {w: i for i, w in enumerate(_SMALL_NUMBERS_TEXT.split())} | {
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "thousand": 1000,
    "dozen": 12,
}
_NUMBER_WORDS |= {"decade": 10, "decades": 10, "half": 50, "double": 2, "twice": 2}
# Capitalised words that are not names wherever they stand (pronouns, titles of sections).
_NOT_NAMES = frozenset(
    {"i", "i'm", "i've", "mr", "mrs", "ms", "dr", "prof", "st", "ok", "okay", "vs", "etc"}
)
# A "sentence start" for capitalisation: text start, after . ! ? : ; or an opening mark.
_START = re.compile(r"(?:^|[.!?:;]\s+|[\"“(\[\n]\s*|\s[-–—•*]\s+)$")


@dataclass
class _ArticleIndex:
    """The article reduced to what presence checks need (built once per article)."""

    text: str
    tokens: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    numbers: set[float] = field(default_factory=set)
    squashed: str = ""

    @classmethod
    def of(cls, article: str) -> _ArticleIndex:
        index = cls(article)
        flat = plain(article).replace("’", "'")
        for raw in _TOKEN.findall(flat):
            parts = [p for p in re.split(r"[.\-/]", raw) if p]
            for form in {f for piece in [raw, *parts] for f in _forms(piece)}:
                index.tokens.add(form)
                for k in range(5, len(form)):
                    index.prefixes.add(form[:k])
        index.numbers = _numbers(flat) | {
            float(v) for w, v in _NUMBER_WORDS.items() if w in index.tokens
        }
        index.squashed = " " + " ".join(_squash(t) for t in _TOKEN.findall(flat)) + " "
        return index

    def has_word(self, word: str) -> bool:
        """Whether the article has the word (case, punctuation, plural, possessive aside)."""
        forms = _forms(word)
        if not forms or any(self._has_form(f) for f in forms):
            return True
        # "Brussels-based" when the article has "Brussels" and "based"; never for model
        # names ("GPT-35" is not "GPT" plus "35").
        parts = [p for p in re.split(r"[.\-/]", word) if p]
        if len(parts) > 1 and not any(c.isdigit() for c in word):
            return all(self.has_word(p) for p in parts)
        return False

    def _has_form(self, form: str) -> bool:
        if form in self.tokens or _stem(form) in self.tokens:
            return True
        if any(c.isdigit() for c in form):
            return False
        # "Europe" / "European", "Canada" / "Canadian": a shared stem of 5+ letters.
        if len(form) >= 5 and (form in self.prefixes or form[:-1] in self.prefixes):
            return True
        return len(form) >= 7 and form[:-2] in self.prefixes

    def has_acronym(self, acronym: str) -> bool:
        """Whether the article spells out the acronym ("AI": "artificial intelligence")."""
        letters = acronym.rstrip("s") if len(acronym) > 2 else acronym
        letters = re.sub(r"[^A-Za-z]", "", letters)
        if not 2 <= len(letters) <= 6:
            return False
        glue = r"(?:\s+(?:of|and|for|the|&|in|on)\s+|[\s\-]+)"
        pattern = r"\b" + glue.join(rf"{c}[a-z]*" for c in letters) + r"\b"
        return re.search(pattern, plain(self.text), re.I) is not None

    def has_initials(self, words: list[str]) -> bool:
        """Whether the article has the initials of a spelled-out name ("UN" for it)."""
        parts = [p for w in words for p in w.split("-") if p and p.lower() not in STOPWORDS]
        initials = "".join(p[0] for p in parts).lower()
        return len(initials) >= 2 and (initials in self.tokens or initials + "s" in self.tokens)


def _forms(raw: str) -> set[str]:
    """Lower-case forms of a whole token: as written, squashed, possessive and plural cut."""
    word = raw.lower().replace("’", "'").strip(".-'&+")
    word = re.sub(r"'s?$", "", word)
    if not word:
        return set()
    forms = {word, _squash(word)}
    return {f for f in forms if f} | {_stem(f) for f in forms if f}


def _squash(word: str) -> str:
    return re.sub(r"[^a-z0-9]", "", word.lower())


def _numbers(text: str) -> set[float]:
    values: set[float] = set()
    for value, scale in _number_values(text):
        values.add(value)
        values.add(round(value * scale, 6))
    return values


def _number_values(text: str) -> list[tuple[float, float]]:
    out = []
    for m in _NUM.finditer(text):
        value = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        out.append((round(value, 6), _SCALE.get((m.group(4) or "").lower(), 1.0)))
    return out


def foreign_terms(text: str, article: str | _ArticleIndex) -> list[str]:
    """Names and numbers that `text` mentions and the article does not contain.

    Names are capitalised words and runs ("Jane Smith", "GPT-35", "Gentleman"), acronyms,
    and words with digits or inner capitals; a capitalised common word at a sentence start
    ("Growing", "Companies") and Title Case headings count only when they look like a
    model name. Matching ignores case and punctuation and tolerates plurals, possessives,
    acronyms spelled out, and numbers written "20%" / "20 percent" or "1,000" / "1000".

    Args:
        text: a row cell or summary sentence written by a model.
        article: the article text.

    Returns:
        The foreign terms, in order of appearance, each once.
    """
    index = article if isinstance(article, _ArticleIndex) else _ArticleIndex.of(article)
    flat = plain(text).replace("’", "'")
    found: list[str] = []
    for run in _name_runs(flat):
        missing = _missing(run, index)
        if missing and missing not in found:
            found.append(missing)
    for m in _NUM.finditer(flat):
        value = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        scale = _SCALE.get((m.group(4) or "").lower(), 1.0)
        if round(value, 6) in index.numbers or round(value * scale, 6) in index.numbers:
            continue
        term = m.group(0).strip()
        if term not in found:
            found.append(term)
    return found


_HELD = "\0"  # marks a sentence opener joined to the name after it: reported, never decisive
_BREAK = re.compile(r"[,;()\[\]|/]|\s[-–—]\s|[\"“”]")
_SENTENCE_GAP = re.compile(r"(?:^|[.!?:;][\"')\]”]*\s*|\n\s*|\s[-–—•*]\s+|[\"“]\s*)$")
_ABBREVIATION = re.compile(r"^(?:[A-Z]\.)+$|^(?:mr|mrs|ms|dr|prof|st|vs|etc|inc|ltd|no)\.$", re.I)


def _name_runs(text: str) -> list[list[str]]:
    """Runs of consecutive name-like words, each run one name."""
    alpha = [w for w in re.findall(r"[A-Za-z][\w'.\-&+]*", text) if w.lower() not in STOPWORDS]
    # A Title Case heading ("Traditional Irrigation System Revival") names nothing by its
    # capitals alone; only model-like words in it count.
    title_case = len(alpha) >= 2 and sum(w[0].isupper() for w in alpha) >= 0.8 * len(alpha)
    runs: list[list[str]] = []
    run: list[str] = []
    held = ""  # a capitalised sentence opener, kept in case a name follows ("John Smith")
    prev_end, prev_word = 0, ""
    for m in re.finditer(r"[A-Za-z0-9][A-Za-z0-9'.\-&+]*", text):
        gap = text[prev_end : m.start()]
        ended = prev_word.endswith(".") and not _ABBREVIATION.match(prev_word)
        at_start = not prev_word or ended or _SENTENCE_GAP.search(gap) is not None
        if run and (ended or _BREAK.search(gap)):
            runs.append(run)
            run = []
        prev_end, prev_word = m.end(), m.group(0)
        word = m.group(0).rstrip(".-")
        if _is_name(word, at_start=at_start or title_case):
            if held and not run and not title_case:
                run.append(_HELD + held)
            run.append(word)
        elif run:
            runs.append(run)
            run = []
        held = (
            word
            if at_start and word[:1].isupper() and word.lower() not in STOPWORDS and not run
            else ""
        )
    if run:
        runs.append(run)
    return runs


def _strong(word: str) -> bool:
    """A word that is a name wherever it stands: digits, inner capitals, dotted."""
    return (
        any(c.isdigit() for c in word)
        or sum(c.isupper() for c in word) >= 2
        or (word[:1].islower() and any(c.isupper() for c in word[1:]))
        or bool(re.search(r"[a-z]\.[a-z]", word))  # llama.cpp, node.js
    )


def _is_name(word: str, *, at_start: bool) -> bool:
    if not word or word.lower() in _NOT_NAMES or not any(c.isalpha() for c in word):
        return False
    if "-" in word and not any(c.isdigit() for c in word):
        # "AI-driven", "Brussels-based", "Long-Term": judged by their parts.
        parts = [p for p in word.split("-") if p]
        if any(_strong(p) for p in parts):
            return True
        return not at_start and word[0].isupper() and parts[0].lower() not in STOPWORDS
    if _strong(word):
        return True
    if at_start or not word[0].isupper():
        return False
    return word.lower() not in STOPWORDS


def _checked_parts(word: str) -> list[str]:
    """The parts of a word that must be in the article: "Brussels" of "Brussels-based",
    "AI" of "AI-driven" or "AI-Driven" (Title Case capitals name nothing)."""
    if "-" not in word or any(c.isdigit() for c in word):
        return [word]
    parts = [p for p in word.split("-") if p and p.lower() not in STOPWORDS]
    if all(p[0].isupper() for p in parts):
        return [p for p in parts if _strong(p)]
    return [p for p in parts if p[0].isupper() or _strong(p)]


def _missing(run: list[str], index: _ArticleIndex) -> str:
    """The run (as written) when a word of it is not in the article, else ""."""
    shown = " ".join(w.removeprefix(_HELD) for w in run)
    run = [w for w in run if not w.startswith(_HELD)]
    if len(run) >= 2 and index.has_initials(run):
        return ""
    for word in run:
        if word.lower() in STOPWORDS or index.has_word(word):
            continue
        for part in _checked_parts(word):
            if index.has_word(part) or (part.isupper() and index.has_acronym(part)):
                continue
            if re.fullmatch(r"[A-Z]{2,6}s", part) and index.has_acronym(part[:-1]):
                continue
            return shown
    return ""


# -- rows -----------------------------------------------------------------------------------

REASONS = ("no_evidence", "foreign_terms", "not_technology", "duplicate")


@dataclass(frozen=True)
class Dropped:
    """A row that grounding removed, with the reason and what made it fail."""

    kind: Kind
    item: Item
    reason: str
    detail: str = ""


@dataclass
class GroundingReport:
    """The rows kept (evidence set to a verbatim sentence) and the rows dropped."""

    rows: dict[Kind, list[Item]]
    dropped: list[Dropped] = field(default_factory=list)
    scores: dict[Kind, list[float]] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Dropped rows by reason."""
        return dict(Counter(d.reason for d in self.dropped))

    @property
    def kept(self) -> int:
        """Number of rows kept."""
        return sum(len(v) for v in self.rows.values())

    def message(self) -> str:
        """A one-line account, e.g. "3 rows dropped (2 no_evidence, 1 duplicate)"."""
        if not self.dropped:
            return "0 rows dropped"
        parts = ", ".join(f"{n} {reason}" for reason, n in self.counts.items())
        n = len(self.dropped)
        return f"{n} row{'s' if n != 1 else ''} dropped ({parts})"


def _kind_of(item: Item) -> Kind:
    for kind, cls in ITEM_TYPES.items():
        if type(item) is cls:
            return kind
    raise TypeError(f"not a record row: {type(item).__name__}")


def _checked_cells(item: Item) -> list[str]:
    cells = [item.name, item.description]
    if isinstance(item, Signal):
        # "In 10 years" is the column's own frame, not a fact taken from anywhere.
        ten_year = re.sub(r"\b(?:10|ten)(?=[\s-]+years?\b)", "", item.ten_year, flags=re.I)
        cells += [item.change, ten_year, item.driving_force]
    return cells


def ground_rows(
    rows: Mapping[Kind, Sequence[Item]] | Sequence[Item],
    article_text: str,
    embed: Embed,
    *,
    min_score: float = MIN_EVIDENCE_SCORE,
    duplicate_cosine: float = DUPLICATE_COSINE,
    sentences: ArticleSentences | None = None,
) -> GroundingReport:
    """Keep the rows the article supports, each with its best verbatim evidence sentence.

    A row is dropped when no sentence supports it (`no_evidence`), when a checked cell
    (name, description; for signals also change, 10-year and driving force) names a person,
    product, organisation, place or number the article lacks (`foreign_terms`), when a
    technologies row is no technology (`not_technology`), or when it repeats a row of any
    table (`duplicate`: the same name, or name and description this close in meaning; the
    copy in the table it fits best is kept).

    Args:
        rows: rows by table, or a flat list of rows (their type gives the table).
        article_text: the article the rows were written from.
        embed: the sentence embedder.
        min_score: see `evidence_for`.
        duplicate_cosine: rows at least this close are one row.
        sentences: the article's sentences already embedded (`ArticleSentences.of`), to
            save embedding them again.

    Returns:
        A `GroundingReport` with the kept rows by table and the dropped ones.
    """
    by_kind: dict[Kind, list[Item]] = {kind: [] for kind in KINDS}
    if isinstance(rows, Mapping):
        for kind, items in rows.items():
            by_kind[kind].extend(items)
    else:
        for item in rows:
            by_kind[_kind_of(item)].append(item)
    report = GroundingReport({kind: [] for kind in KINDS})
    index = _ArticleIndex.of(article_text)
    article = sentences if sentences is not None else ArticleSentences.of(article_text, embed)
    candidates: list[tuple[Kind, Item]] = []
    for kind in KINDS:
        for item in by_kind[kind]:
            foreign = [t for cell in _checked_cells(item) for t in foreign_terms(cell, index)]
            if foreign:
                report.dropped.append(Dropped(kind, item, "foreign_terms", ", ".join(foreign)))
                continue
            if kind == "technologies" and not is_technology(item.name, article_text):
                report.dropped.append(Dropped(kind, item, "not_technology", item.name))
                continue
            candidates.append((kind, item))
    if not candidates:
        return report
    claims = [f"{plain(item.name)}. {plain(item.description)}" for _, item in candidates]
    vectors = embed(claims)
    descriptions = embed([plain(item.description) for _, item in candidates])
    protos = dict(zip(KINDS, embed([TABLE_PROTOTYPES[k] for k in KINDS]), strict=True))
    supported: list[tuple[Kind, Item, Evidence, list[float]]] = []
    for (kind, item), claim, vec, desc in zip(
        candidates, claims, vectors, descriptions, strict=True
    ):
        best = _best(claim, vec, article, desc)
        if best is None or best.score < min_score:
            score = f"{best.score:.2f}" if best else "no sentences"
            report.dropped.append(Dropped(kind, item, "no_evidence", score))
            continue
        supported.append((kind, item, best, vec))
    # Repeated rows: the copy that fits its table best (and is best supported) stays.
    fit = [ev.score + _dot(vec, protos[kind]) for kind, _, ev, vec in supported]
    order = sorted(range(len(supported)), key=lambda i: -fit[i])
    kept: list[int] = []
    names = [" ".join(plain(item.name).lower().split()) for _, item, _, _ in supported]
    for i in order:
        twin = next(
            (
                j
                for j in kept
                if names[i] == names[j]
                or _dot(supported[i][3], supported[j][3]) >= duplicate_cosine
            ),
            None,
        )
        if twin is not None:
            kind, item, _, _ = supported[i]
            report.dropped.append(Dropped(kind, item, "duplicate", supported[twin][1].name))
            continue
        kept.append(i)
    for i in sorted(kept):
        kind, item, ev, _ = supported[i]
        report.rows[kind].append(item.model_copy(update={"evidence": ev.sentence.text}))
        report.scores.setdefault(kind, []).append(ev.score)
    return report


# -- summary --------------------------------------------------------------------------------

_SUMMARY_SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")


def ground_summary(summary: str, article_text: str) -> tuple[str, list[str]]:
    """The summary minus its sentences that name a name or number the article lacks.

    Returns:
        (the kept sentences joined as one paragraph, the dropped sentences).
    """
    index = _ArticleIndex.of(article_text)
    kept: list[str] = []
    dropped: list[str] = []
    for sent in _SUMMARY_SPLIT.split(normalize(summary)):
        if not sent.strip():
            continue
        (dropped if foreign_terms(sent, index) else kept).append(sent.strip())
    return " ".join(kept), dropped


# -- technologies ---------------------------------------------------------------------------

# Words that make a phrase a technology ("vector database", "Llama 3 model").
_TECH_HEADS_TEXT = """
    model models llm llms slm slms framework frameworks library libraries protocol protocols
    chip chips gpu gpus cpu cpus tpu npu processor processors algorithm algorithms network
    networks dataset datasets platform platforms tool tools toolkit sdk api apis engine engines
    runtime runtimes database databases format formats language languages compiler
    architecture architectures transformer transformers app apps application applications
    software system systems assistant assistants agent agents chatbot chatbots robot robots
    sensor sensors battery batteries device devices drone drones vehicle vehicles reactor
    reactors panel panels cell cells server servers browser browsers interface interfaces
    standard standards technique techniques method methods benchmark benchmarks quantization
    learning intelligence vision recognition generation diffusion blockchain blockchains
    ledger encryption cryptography printing computing computation cloud storage grid turbine
    turbines proof proofs
    satellite satellites headset headsets glasses wearable wearables printer printers
    technology technologies tech kernel kernels plugin plugins extension extensions
    inference embedding embeddings adapter adapters weights tokenizer pipeline pipelines
    simulation simulator twin twins editor ide os script scripts code"""
TECH_HEADS = frozenset(w.replace("_", " ") for w in _TECH_HEADS_TEXT.split())
# Companies and organisations that are no technology on their own.
_ORGS_TEXT = """
    google alphabet microsoft meta facebook apple amazon aws openai anthropic nvidia intel amd
    ibm oracle samsung huawei tencent alibaba baidu bytedance tiktok twitter x tesla spacex
    netflix uber airbnb salesforce adobe deepmind mistral cohere hugging_face huggingface
    stability qualcomm arm tsmc sony dell hp cisco xiaomi linkedin youtube instagram
    whatsapp reddit github gitlab codiste un eu nasa fda who oecd unesco unicef nato
    imf wto sec ftc fcc nhs mit stanford harvard oxford cambridge berkeley"""
_ORGS = frozenset(w.replace("_", " ") for w in _ORGS_TEXT.split())
_PLACES_TEXT = """
    afghanistan africa albania algeria america americas argentina asia australia austria
    bangladesh belgium brazil britain bulgaria cambodia canada chile china colombia croatia
    cuba czechia denmark egypt england estonia ethiopia europe finland france germany ghana
    greece hungary iceland india indonesia iran iraq ireland israel italy japan jordan kazakhstan
    kenya korea latvia lebanon lithuania luxembourg malaysia mexico morocco nepal netherlands
    nigeria norway pakistan peru philippines poland portugal qatar romania russia rwanda
    scotland senegal serbia singapore slovakia slovenia spain sweden switzerland syria taiwan
    tanzania thailand turkey uganda ukraine uae usa us uk vietnam wales yemen zambia zimbabwe
    london paris berlin brussels amsterdam madrid rome vienna geneva zurich munich dublin
    stockholm oslo copenhagen helsinki warsaw prague lisbon athens moscow kyiv istanbul dubai
    beijing shanghai shenzhen hong_kong tokyo seoul singapore mumbai delhi bangalore bengaluru
    sydney melbourne toronto vancouver montreal new_york san_francisco los_angeles seattle
    boston chicago austin washington silicon_valley california texas florida massachusetts
    nairobi lagos cairo johannesburg dubai riyadh tel_aviv"""
_PLACES = frozenset(w.replace("_", " ") for w in _PLACES_TEXT.split())
_MONTHS = (
    "january|february|march|april|may|june|july|august|september|october|november|december|"
    "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)
_DATE = re.compile(
    rf"^(?:(?:early|mid|late)[\s-]+)?(?:(?:{_MONTHS})\.?(?:\s+\d{{1,2}}(?:st|nd|rd|th)?,?)?"
    rf"(?:\s+\d{{4}})?|\d{{1,2}}\s+(?:{_MONTHS})(?:\s+\d{{4}})?|(?:q[1-4]|h[12])\s+\d{{4}}|"
    r"\d{4}s?|\d{4}[-–/]\d{2,4}|(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
    r"|(?:spring|summer|autumn|fall|winter)\s+\d{4}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})$",
    re.I,
)
_PERSON_ROLES = (
    r"ceo|cto|cfo|coo|founder|co-founder|cofounder|president|chairman|chairwoman|director|"
    r"professor|researcher|scientist|engineer|analyst|author|journalist|reporter|editor|"
    r"spokesperson|spokesman|spokeswoman|minister|senator|secretary|head|lead|manager|"
    r"partner|investor|economist|executive|chief"
)
_ORG_NOUNS = (
    r"company|companies|startup|start-up|firm|corporation|business|maker|manufacturer|"
    r"provider|vendor|lab|laboratory|agency|organisation|organization|group|giant|"
    r"conglomerate|retailer|bank|university|institute|publisher|nonprofit|non-profit|"
    r"developer|operator|utility|government|ministry|council|commission|regulator|outlet"
)


def _looks_techy(name: str) -> bool:
    """Pattern cues of a product or tool name: CamelCase, digits, dots, acronyms."""
    words = name.split()
    return any(
        re.search(r"[a-z][A-Z]", w)  # PyTorch, vLLM, LoRA
        or re.search(r"[A-Za-z]\d|\d[A-Za-z]|[A-Za-z]-\d", w)  # GPT-4, H100, 5G
        or re.search(r"[A-Za-z]\.[a-z]", w)  # llama.cpp
        or re.fullmatch(r"[A-Z]{2,6}s?", w)  # GGUF, ONNX
        for w in words
    )


def _has_head(name: str) -> bool:
    words = [w.lower().strip(".,") for w in re.split(r"[\s\-/]+", name) if w]
    return bool(words) and (words[-1] in TECH_HEADS or any(w in TECH_HEADS for w in words[1:]))


def is_technology(name: str, article_text: str) -> bool:
    """Whether a technologies row's name is a technology, product, model or method.

    Dates ("January 2026"), places ("Brussels-based", countries, cities), people and bare
    company names are not. Cues: generic technology head nouns (model, framework, chip,
    ...), name patterns (CamelCase, digits, dotted names, acronyms) and what the article
    says around the name ("X, a company", "CEO of X", "based in X", "X said").
    """
    name = normalize(plain(name)).strip(" .,:;\"'()")
    if not name or not any(c.isalpha() for c in name):
        return False
    low = name.lower()
    if _DATE.match(name) or re.search(r"\bbased$", low) or _NOT_TECH_TAIL.search(name):
        return False
    if low in _PLACES or low.removeprefix("the ") in _PLACES or low in _NOT_TECH_WORDS:
        return False
    text = plain(article_text)
    esc = re.escape(name)
    if re.search(rf"\b(?:based|headquartered|located|born)\s+in\s+(?:the\s+)?{esc}\b", text, re.I):
        return False
    if _is_person(name, text) or _is_org(name, text) or _named_place_or_org(name):
        return False
    if _has_head(name):
        return True
    return low not in _ORGS


# Names that end like a law, an event or an institution ("AI Act", "World Health Organization").
_NOT_TECH_TAIL = re.compile(
    r"\b(?:act|law|directive|regulation|bill|treaty|agreement|accord|summit|conference|"
    r"organi[sz]ation|agency|union|nations|council|commission|association|institute|"
    r"university|panel|fund|bank|department|administration|party|committee|board|"
    r"authority|office|foundation|society|forum|ministry|court|parliament|inc|ltd|corp|llc|"
    # and like a heading or a table's label ("Real-World Example", "Key Benefits")
    r"examples?|overview|introduction|conclusions?|summary|takeaways?|benefits|advantages|"
    r"disadvantages|drawbacks|features|comparison|differences|faqs?)$",
    re.I,
)
# Acronyms and short words that are units, roles or regions, not technologies.
_NOT_TECH_WORDS_TEXT = """
    ai it us uk eu un usa ceo cto cfo coo cio phd faq q&a gb mb tb kb gbps mbps ghz mhz kw
    kwh mw mwh gw gwh twh co2 co₂ ghg gdp usd eur gbp pm am est pst utc gmt bbc cnn nyt
    ama diy tl;dr tldr ps nb tv ok covid covid-19 sars-cov-2 h1n1"""
_NOT_TECH_WORDS = frozenset(w.replace("_", " ") for w in _NOT_TECH_WORDS_TEXT.split())


# The last word of a capitalised name that makes it a place ("Carlisle Bridge", "Lake
# District") or, after a company's name, a part of that company ("Microsoft Research").
_PLACE_TAILS_TEXT = """
    bridge district street road avenue lake river valley county island islands park square
    station airport bay coast mountains hills region province city town village harbour port"""
_PLACE_TAILS = frozenset(_PLACE_TAILS_TEXT.split())
_ORG_TAILS_TEXT = "research labs lab news tonight today ventures capital press studios"
_ORG_TAILS = frozenset(_ORG_TAILS_TEXT.split())


def _named_place_or_org(name: str) -> bool:
    words = name.split()
    if len(words) < 2 or not all(w[:1].isupper() for w in words) or _looks_techy(words[-1]):
        return False
    low = [w.lower() for w in words]
    first, last = low[0], low[-1]
    if last in _PLACE_TAILS:  # "Azure Data Lake" is a product: a tech word before the tail
        return first not in _ORGS and not any(_stem(w) in TECH_HEADS for w in low[:-1])
    return (first in _ORGS or first in _NOT_TECH_WORDS) and last in _ORG_TAILS


def _is_person(name: str, text: str) -> bool:
    esc = re.escape(name)
    if is_speaker(name, text):
        # "Ollama said" is rare; a name that speaks is a person or organisation.
        return not _looks_techy(name)
    plain_camel = not re.search(r"\d|[A-Za-z]\.[a-z]|^[A-Z]+s?$", name)  # "DeTomasi"
    patterns = (
        rf"\b(?:mr|mrs|ms|dr|prof)\.?\s+{esc}\b",
        rf"\b{esc},\s+(?:the\s+|a\s+|an\s+)?(?:[\w-]+\s+){{0,3}}(?:{_PERSON_ROLES})\b",
        rf"\b(?:{_PERSON_ROLES})\s+(?:at\s+\w+\s+)?{esc}\b",
        rf"\baccording\s+to\s+{esc}\b",
    )
    if any(re.search(p, text, re.I) for p in patterns):
        # Role words also follow products ("GPT-4, the lead model"): patterns decide only
        # for names without digits, dots or all capitals.
        return plain_camel or not _looks_techy(name)
    return False


def _is_org(name: str, text: str) -> bool:
    esc = re.escape(name)
    patterns = (
        rf"\b{esc},\s+(?:a|an|the)\s+(?:[\w-]+\s+){{0,4}}(?:{_ORG_NOUNS})\b",
        rf"\b(?:{_PERSON_ROLES})\s+(?:of|at)\s+{esc}\b",
        rf"\b{esc}(?:'s?)\s+(?:ceo|founder|chief|president|board|shares|stock|investors)\b",
        rf"\b{esc}\s+(?:inc|ltd|llc|corp|corporation|gmbh|plc|co)\b\.?",
        rf"\b(?:company|startup|start-up|firm)\s+(?:called\s+|named\s+)?{esc}\b",
        rf"\b(?:{_ORG_NOUNS})\s+like\s+{esc}\b",
    )
    return any(re.search(p, text, re.I) for p in patterns)


_DOTTED = re.compile(r"\b[A-Za-z][\w-]*\.(?:cpp|js|py|rs|go|net|jl|ai)\b")
_CAMEL = re.compile(r"\b[a-z]+[A-Z][A-Za-z0-9]*\b|\b[A-Z][a-z]+[A-Z][A-Za-z0-9]*\b")
_WEB = re.compile(r"\S+\.(?:com|org|io|net|ai|co|gov|edu)\b|https?://\S+|www\.\S+")
_APPOSITION = re.compile(
    r"\b([A-Z][\w.\-]*(?:\s+[A-Z0-9][\w.\-]*){0,2}),\s+(?:a|an|the)\s+(?:[\w-]+\s+){0,4}"
    r"(?:library|framework|model|tool|toolkit|runtime|format|protocol|platform|engine|app|"
    r"application|chip|processor|language|database|server|assistant|chatbot|system)\b"
)
_SUCH_AS = re.compile(
    r"\b(?:tools?|frameworks?|libraries|models?|runtimes?|platforms?|engines?|formats?|"
    r"apps?|chatbots?|assistants?|systems?)\s*,?\s+(?:such\s+as|like|including)\s+"
    r"([^.;:]{2,200})"
)


def named_technologies(article_text: str, *, phrases: bool = False) -> list[str]:
    """The technologies the article names (llama.cpp, Ollama, vLLM, GGUF, PyTorch, GPT-4).

    Found by name patterns (dotted, CamelCase, digits, acronyms), by apposition ("X, an
    open-source library"), by lists after "tools such as" and by company with a technology
    beside them; dates, places, people and bare companies are left out (`is_technology`).
    With `phrases`, generic technology phrases the article repeats ("sodium-ion
    batteries", "domestic robots") follow the names.
    Returns the names in order of first mention (then the phrases, most frequent first),
    each once.
    """
    text = _WEB.sub(" ", plain(article_text))
    found: Counter[str] = Counter()
    first: dict[str, int] = {}

    def add(term: str, pos: int) -> None:
        term = term.strip(" .,:;\"'()-")
        if len(term) < 2 or term.lower() in STOPWORDS or _stem(term) in TECH_HEADS:
            return  # "GPU", "APIs": generic nouns, not names
        found[term] += 1
        first.setdefault(term, pos)

    for m in _DOTTED.finditer(text):
        add(m.group(0), m.start())
    for m in _CAMEL.finditer(text):
        add(m.group(0), m.start())
    for term, _ in named_terms(text):
        if _pattern_name(term, text):
            pos = text.find(term)
            add(term, pos if pos >= 0 else len(text))
    for m in _APPOSITION.finditer(text):
        add(_trim_name(m.group(1)), m.start(1))
    for m in _SUCH_AS.finditer(text):
        for part in re.split(r",\s*|\s+(?:and|or)\s+", m.group(1)):
            words = part.split()
            if words and words[0][:1].isupper() or _looks_techy(part):
                add(_trim_name(part), m.start(1) + m.group(1).find(part))
    # A capitalised name listed beside technologies ("Ollama, llama.cpp and vLLM").
    strong = {t for t in found if _pattern_name(t, text) or _DOTTED.fullmatch(t)}
    for m in re.finditer(r"[^.;:!?\n]+", text):
        clause = m.group(0)
        items = re.split(r",\s*|\s+(?:and|or)\s+", clause)
        if len(items) < 2 or not any(i.strip() in strong for i in items):
            continue
        for item in items:
            item = item.strip()
            if re.fullmatch(r"[A-Z][\w.\-]*(?:\s+[A-Z0-9][\w.\-]*)?", item):
                add(item, m.start() + clause.find(item))
    names = sorted(found, key=lambda t: first[t])
    out: list[str] = []
    for term in names:
        if not is_technology(term, article_text) or _is_acronym_of_place_or_org(term, text):
            continue
        if any(term.lower() == o.lower() for o in out):
            continue
        out.append(term)
    if phrases:
        counts: Counter[str] = Counter(dict(tech_phrases(article_text)))
        for phrase, n in noun_phrases(article_text):
            words = phrase.split()
            if len(words) >= 2 and _stem(words[-1]) in TECH_HEADS:
                counts[phrase] = max(counts[phrase], n)
        for phrase, count in sorted(counts.items(), key=lambda x: (-x[1], -len(x[0]))):
            if count < 2 or any(phrase in o.lower() or o.lower() in phrase for o in out):
                continue
            if is_technology(phrase, article_text):
                out.append(phrase)
    return out


_HEADS_RE = "|".join(sorted(TECH_HEADS))


def _pattern_name(term: str, text: str) -> bool:
    """Whether a capitalised term is shaped like a product name, read in its article.

    Model-like words (GPT-4, PyTorch, llama.cpp) are enough; a bare acronym must sit before
    a technology noun ("the GGUF format") or recur, and must not be a shouted word ("NEXT",
    found lower case in the text) or part of an all-capitals byline.
    """
    words = term.split()
    if term.lower() in _NOT_TECH_WORDS:
        return False
    if any(
        re.search(r"[a-z][A-Z]|[A-Za-z]\d|\d[A-Za-z]|[A-Za-z]-\d|[A-Za-z]\.[a-z]|[a-z]-[A-Z]", w)
        for w in words
    ):
        return True
    if len(words) >= 2 and _stem(words[-1]) in TECH_HEADS and words[0][0].isupper():
        return True  # "Fully Homomorphic Encryption", "Stable Diffusion"
    if len(words) != 1 or not re.fullmatch(r"[A-Z]{2,8}s?", term):
        return False  # "EU Scrambling", "DER SPIEGEL": an acronym inside a longer name
    bare = term[:-1] if term.endswith("s") and len(term) > 3 else term
    if re.search(rf"(?<![A-Za-z]){re.escape(bare.lower())}(?![A-Za-z])", text):
        return False  # a word in capitals, written lower case elsewhere
    if re.search(rf"\b{re.escape(term)}\s+(?:[\w-]+\s+)?(?:{_HEADS_RE})\b", text, re.I):
        return True
    return len(bare) >= 3 and len(re.findall(rf"\b{re.escape(bare)}s?\b", text)) >= 2


def _trim_name(name: str) -> str:
    """The leading name of a phrase: "Jan on the same laptop" gives "Jan"."""
    words = name.split()
    while words and (words[0].lower() in STOPWORDS or not words[0][:1].isalnum()):
        words = words[1:]
    run: list[str] = []
    for w in words[:4]:
        if not (w[:1].isupper() or w[:1].isdigit() or _looks_techy(w)):
            break
        run.append(w)
    return " ".join(run)


def _is_acronym_of_place_or_org(term: str, text: str) -> bool:
    if term.lower() in _ORGS or term.lower() in _PLACES:
        return True
    # "World Health Organization (WHO)": an acronym spelled out as an institution.
    if re.fullmatch(r"[A-Z]{2,8}s?", term):
        m = re.search(rf"((?:[A-Z][\w-]*\s+){{0,5}}[A-Z][\w-]*)\s*\({re.escape(term)}\)", text)
        if m and _NOT_TECH_TAIL.search(m.group(1)):
            return True
    return False


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return float(np.dot(np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)))


__all__ = [
    "ArticleSentences",
    "Dropped",
    "Embed",
    "Evidence",
    "GroundingReport",
    "evidence_for",
    "foreign_terms",
    "ground_rows",
    "ground_summary",
    "is_technology",
    "named_technologies",
]
