"""Text helpers for extraction: sentences, evidence checks and mined candidates.

Everything here works on the article text alone (no model), so each row's evidence can
be checked and each mined term traced back to the article.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

_WS = re.compile(r"\s+")
# Markdown furniture at the start of a line: list bullets, quotes, headings, numbering.
_LINE_MARK = re.compile(r"^(?:[#>*\-+]+|\d+[.)])\s+")
_SENT_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_IMAGE_OR_LINK_LINE = re.compile(r"^!?\[[^\]]*\]\([^)]*\)\s*$")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’\-]*")

_STOPWORDS_TEXT = """a about above after again against all also am an and any are as at be
    because been
    being below between both but by can could did do does doing down during each even few for
    from further had has have having he her here hers herself him himself his how however i if
    in into is it its itself just like made make makes many may me might more most much must my
    myself new no nor not now of off often on once one only or other our ours ourselves out over
    own per rather same she should so some such than that the their theirs them themselves then
    there these they this those through to too under until up upon us use used uses using very
    via was we were what when where which while who whom why will with within without would yet
    you your yours yourself"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def normalize(text: str) -> str:
    """Collapse every run of whitespace to one space."""
    return _WS.sub(" ", text).strip()


def _fold(text: str) -> str:
    # Case- and quote-insensitive form used only to *locate* a quote; the stored evidence
    # is always cut from the article text itself.
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return normalize(text).lower()


_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]*)\]\((?:[^()\s]|\([^)]*\))*(?:\s+\"[^\"]*\")?\)")
_BARE_URL = re.compile(r"<?\bhttps?://[^\s<>]*[^\s<>.,;:!?)\"']>?")
_EMPHASIS = re.compile(r"(\*{1,3}|_{2,3})(?=\S)(.+?)(?<=\S)\1")


def plain(text: str) -> str:
    """Text as a reader sees it: link text without its address, no images, bare URLs or
    emphasis marks. For names and descriptions only; evidence stays verbatim."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _BARE_URL.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def cell_text(text: str, name: str = "") -> str:
    """A sentence as a table cell: `plain`, on one line, without a markdown table row's
    pipes. Of a row's cells, the one naming `name` is kept, else the longest, after the
    first cell as its label when that is short ("Lower Cost: Due to ...")."""
    cells = [c.strip() for c in re.split(r"\\?\|", plain(text)) if c.strip()]
    if len(cells) <= 1:
        return " ".join(cells[0].split()) if cells else ""
    named = [c for c in cells if name and name.lower() in c.lower()]
    if named:
        return " ".join(named[0].split())
    body = max(cells[1:], key=len)
    label = cells[0] if len(cells[0].split()) <= 6 and len(cells[0]) < len(body) else ""
    return " ".join(f"{label}: {body}".split()) if label else " ".join(body.split())


def is_verbatim(quote: str, text: str) -> bool:
    """Whether `quote` occurs in `text` after whitespace normalisation."""
    quote = normalize(quote)
    return bool(quote) and quote in normalize(text)


@dataclass(frozen=True)
class Sentence:
    """One sentence of the article, verbatim, with its position (0 = first)."""

    text: str
    index: int

    @property
    def words(self) -> int:
        """Number of words."""
        return len(self.text.split())


def sentences(text: str, *, min_words: int = 5, max_words: int = 80) -> list[Sentence]:
    """The article's prose sentences, each a verbatim span of the normalised text.

    Markdown bullets, quote marks and headings are cut off the front of a line (the rest is
    still verbatim); headings, image lines and very short fragments are skipped.
    """
    out: list[Sentence] = []
    for raw_line in text.splitlines():
        line = normalize(raw_line)
        if not line or line.startswith("#") or _IMAGE_OR_LINK_LINE.match(line):
            continue
        while _LINE_MARK.match(line):
            line = _LINE_MARK.sub("", line, count=1)
        for part in _SENT_END.split(line):
            part = part.strip()
            n = len(part.split())
            if min_words <= n <= max_words and _WORD.search(part):
                out.append(Sentence(part, len(out)))
    return out


def best_sentence(quote: str, candidates: list[Sentence]) -> Sentence | None:
    """The candidate sentence sharing most content words with `quote` (None when none do)."""
    words = content_words(quote)
    if not words:
        return None
    scored = [(len(words & content_words(s.text)) / len(words), -s.index, s) for s in candidates]
    scored = [x for x in scored if x[0] > 0]
    if not scored:
        return None
    return max(scored, key=lambda x: (x[0], x[1]))[2]


def locate(quote: str, text: str) -> str | None:
    """The span of `text` matching `quote` (case/quote-insensitive), cut from `text` itself."""
    quote_n, text_n = normalize(quote), normalize(text)
    if not quote_n:
        return None
    if quote_n in text_n:
        return quote_n
    start = _fold(text_n).find(_fold(quote_n))
    if start < 0:
        return None
    # _fold keeps lengths on normalised text, so the offsets carry over.
    return text_n[start : start + len(quote_n)]


def content_words(text: str) -> set[str]:
    """Lower-cased words of a text minus stopwords."""
    return {w.lower() for w in _WORD.findall(text) if w.lower() not in STOPWORDS and len(w) > 2}


_TERM = re.compile(
    r"\b(?:[A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*)(?:\s+(?:[A-Z0-9][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*))*"
)
_ACRONYM = re.compile(r"\(([A-Z][A-Za-z0-9-]{1,10}s?)\)")


def named_terms(text: str) -> list[tuple[str, int]]:
    """Capitalised names, acronyms and model names in the text, with their counts.

    A sentence's first word counts only when it looks like a name (an acronym, a digit,
    or inner capitals), so "Being lightweight" does not become a term.
    """
    counts: Counter[str] = Counter()
    text = plain(text)
    for sent in sentences(text, min_words=1, max_words=1000):
        body = split_label(sent.text)[1]  # "Label: " bullet headings are not names
        for m in _TERM.finditer(body):
            term = m.group(0).strip(" .-")
            words = term.split()
            while words and (
                words[0].lower() in STOPWORDS or (m.start() == 0 and not _looks_named(words[0]))
            ):
                words = words[1:]
                if m.start() == 0 and words and _looks_named(words[0]):
                    break
            while words and words[-1].lower() in STOPWORDS:
                words = words[:-1]
            term = " ".join(words)
            if len(term) >= 2 and (len(words) > 1 or _looks_named(term) or m.start() > 0):
                counts[term] += 1
    for m in _ACRONYM.finditer(text):
        counts[m.group(1)] += 0
    return counts.most_common()


def is_speaker(term: str, text: str) -> bool:
    """Whether the text has the term speak ("Network Rail said"): a person or an
    organisation, not a technology."""
    pattern = rf"\b{re.escape(term)}(?:'s?)?\s+(?:said|says|told|added|explained|wrote)\b"
    return re.search(pattern, text, re.I) is not None


def is_name_list(sentence: str) -> bool:
    """Whether a sentence is a list of names (a byline): nearly every word capitalised."""
    words = [w for w in _WORD.findall(sentence) if w.lower() not in ("and", "of")]
    return len(words) >= 4 and sum(w[0].isupper() for w in words) >= 0.85 * len(words)


def looks_named(term: str) -> bool:
    """Whether a term looks like a product or model name (digits, inner capitals)."""
    return any(_looks_named(w) for w in term.split())


def _looks_named(word: str) -> bool:
    return (
        any(c.isdigit() for c in word)
        or sum(c.isupper() for c in word) >= 2
        or ("-" in word and word[0].isupper())
    )


def noun_phrases(text: str, *, max_len: int = 3) -> list[tuple[str, int]]:
    """Frequent runs of 1-3 content words (lower case), most frequent first.

    Runs break at stopwords and at punctuation, so "models (SLMs) offer" gives "models".
    """
    counts: Counter[str] = Counter()
    for sent in sentences(plain(text), min_words=1, max_words=1000):
        for segment in _PUNCT.split(sent.text):
            run: list[str] = []
            for w in [*(w.lower() for w in _WORD.findall(segment)), ""]:
                if w and w not in STOPWORDS and w not in WEAK_WORDS and len(w) > 2:
                    run.append(w)
                    continue
                for n in range(1, max_len + 1):
                    for i in range(len(run) - n + 1):
                        counts[" ".join(run[i : i + n])] += 1
                run = []
    return [(p, c) for p, c in counts.most_common() if c >= 2 or " " in p]


_PUNCT = re.compile(r"[()\[\]{}:;,.!?\"“”/|]+")
# Words that rarely head or close a keyword on their own (verbs, vague adverbs).
WEAK_WORDS = frozenset(
    {
        "alongside",
        "despite",
        "including",
        "across",
        "among",
        "around",
        "beyond",
        "toward",
        "towards",
        "offer",
        "offers",
        "offering",
        "show",
        "shows",
        "showing",
        "make",
        "making",
        "made",
        "lead",
        "leading",
        "leads",
        "help",
        "helps",
        "allow",
        "allows",
        "well",
        "often",
        "even",
        "still",
        "already",
        "generally",
        "approximately",
        "really",
        "very",
        "much",
        "many",
        "several",
        "various",
        "certain",
        "specific",
        "particular",
        "said",
        "says",
        "say",
        "according",
    }
)


def key_phrase(sentence: str, *, max_words: int = 5) -> str:
    """The longest run of content words in a sentence: an extractive name for it."""
    best: list[str] = []
    for segment in _PUNCT.split(sentence):
        run: list[str] = []
        for w in [*_WORD.findall(segment), ""]:
            if w and w.lower() not in STOPWORDS and w.lower() not in WEAK_WORDS:
                run.append(w)
                continue
            if len(run) > len(best):
                best = run
            run = []
    return " ".join(best[:max_words]) or " ".join(sentence.split()[:max_words])


def title_case(name: str) -> str:
    """Capitalise a name's first letter, leaving acronyms and model names alone."""
    name = " ".join(name.split()).strip(" .:;,\"'")
    return name[:1].upper() + name[1:]


_TECH_HEAD = re.compile(
    r"\b((?:[A-Za-z][\w-]*\s+){0,2}(?:models?|chatbots?|algorithms?|networks?|datasets?|"
    r"platforms?|tools?|assistants?|agents?|engines?|systems?|chips?|GPUs?|APIs?|frameworks?|"
    r"transformers?|imagery|images?|vision|recognition|generation|learning))\b",
    re.I,
)


def tech_phrases(text: str) -> list[tuple[str, int]]:
    """Lower-case technology phrases ("ai chatbot", "foundation models"), with counts."""
    counts: Counter[str] = Counter()
    for sent in sentences(plain(text), min_words=1, max_words=1000):
        for m in _TECH_HEAD.finditer(sent.text):
            words = m.group(1).split()
            # Keep only what follows the last stopword: "ran the image" is no technology.
            for i in range(len(words) - 1, -1, -1):
                if words[i].lower() in STOPWORDS or words[i].lower() in WEAK_WORDS:
                    words = words[i + 1 :]
                    break
            if words and words[0].lower().endswith(("ed", "ing")) and words[0].islower():
                words = words[1:]
            if len(words) >= 2:
                counts[" ".join(words).lower()] += 1
    return counts.most_common()


def split_chunks(text: str, words: int) -> list[str]:
    """The text cut into chunks of about `words` words, at line ends where possible."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines():
        n = len(line.split())
        if n > words:  # one enormous line: cut it at word boundaries
            tokens = line.split()
            pieces = [" ".join(tokens[i : i + words]) for i in range(0, len(tokens), words)]
        else:
            pieces = [line]
        for piece in pieces:
            n = len(piece.split())
            if current and size + n > words:
                chunks.append("\n".join(current))
                current, size = [], 0
            current.append(piece)
            size += n
    if size:
        chunks.append("\n".join(current))
    return chunks


def truncate_words(text: str, limit: int) -> str:
    """The first `limit` words of a text, ending at a sentence end when one is near."""
    words = text.split()
    if len(words) <= limit:
        return " ".join(words)
    cut = " ".join(words[:limit])
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "))
    return cut[: end + 1] if end > len(cut) // 2 else cut


# "This release provides a first: ..." and "We say: ..." are sentences, not labelled bullets.
_NOT_LABELS = frozenset(
    {
        "this",
        "that",
        "these",
        "those",
        "we",
        "it",
        "our",
        "they",
        "there",
        "here",
        "i",
        "you",
        "he",
        "she",
        "his",
        "her",
        "their",
    }
)
_LABEL = re.compile(r"^([A-Z][A-Za-z0-9&,'’\- ]{2,60}):\s+(.+)$")


def split_label(sentence: str) -> tuple[str, str]:
    """Split a bullet like "Cost-Effectiveness: SLMs offer ..." into (label, rest)."""
    m = _LABEL.match(sentence)
    if m and len(m.group(1).split()) <= 6 and m.group(1).split()[0].lower() not in _NOT_LABELS:
        body = m.group(2)
        return m.group(1).strip(), body[:1].upper() + body[1:]
    return "", sentence


_CHATTER = re.compile(
    r"^(?:(?:this|the) (?:sentence|text|article|passage)\b[^,.]*?\b(?:is|shows|raises|"
    r"highlights|feeds|suggests|describes|discusses)\b(?: (?:a|an|the))?(?: (?:concern|worry|"
    r"trend|topic|debate|classic example))?(?: (?:about|of|that|on))?\s*)",
    re.I,
)


def first_sentence(answer: str) -> str:
    """The first sentence of a model answer, minus "This sentence raises ..." openers."""
    text = normalize(answer.replace("*", "").replace("#", "")).strip(" \"'")
    if not text:
        return ""
    parts = _SENT_END.split(text, maxsplit=1)
    text = parts[0].strip()
    text = _CHATTER.sub("", text).strip(" :,")
    if text:
        text = text[:1].upper() + text[1:]
        if text[-1] not in ".!?":
            text += "."
    return text


_NUMBER = re.compile(r"\d[\d,.]*")


def grounded(answer: str, text: str, *, min_overlap: float = 0.5) -> bool:
    """Whether a model answer stays within the article: no names or numbers the article
    lacks, and at least `min_overlap` of its content words found in the article."""
    if not answer or len(answer.split()) < 2:
        return False
    folded = _fold(text)
    words = _WORD.findall(answer)
    for i, w in enumerate(words):
        is_name = i > 0 and (w[0].isupper() or _looks_named(w))
        if is_name and w.lower() not in folded:
            return False
    if any(n.strip(".,") not in text for n in _NUMBER.findall(answer)):
        return False
    content = content_words(answer)
    if not content:
        return False
    found = sum(1 for w in content if w in folded)
    return found / len(content) >= min_overlap
