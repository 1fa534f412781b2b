"""signalkb's article-body extractor: trafilatura twice, readability as a rescue, then rules.

1. trafilatura in its precision mode and in its default mode, both without its own
   fallback chain (`fast=True`, which scored better and runs faster here). The precise
   text wins unless it lost much of the default one (then precision cut real body).
2. When that text is short beside the page's paragraph text, readability-lxml gets a
   try: its text replaces ours when it is much longer and contains ours (trafilatura
   missed part of a body split over several containers).
3. Line rules drop what extractors keep that is not body: the headline (it is the
   title, kept apart), menus (long runs of one-to-three-word lines), "Related:/Read
   more:/Share this" lines, newsletter and copyright boxes, and "[SOURCE]" link tags.

bench/text_extraction.py scores this against bare trafilatura on the shared benchmark
(docs/benchmarks.md has the figures); each threshold below was chosen on that set, and
no rule names a site.
"""

from __future__ import annotations

import re

import lxml.html
import trafilatura
from lxml import etree

_WORD = re.compile(r"\w+")

PRECISION_KEEPS = 0.6  # precise text must keep this share of the default text's length
RESCUE_BELOW = 0.5  # try readability when our text is under this share of <p> text
RESCUE_LONGER = 2.0  # readability's text must be this many times longer than ours...
RESCUE_CONTAINS = 0.8  # ...and hold this share of our text's 4-word shingles
MENU_RUN, MENU_WORDS = 10, 3  # this many lines in a row of at most this many words: a menu

_LEAD = re.compile(
    r"^\W*(read more|related( articles?| stories| coverage| content| posts?| reading)?|"
    r"see more|see also|more from|more on this|also on|also read|don'?t miss|"
    r"recommended( for you)?|trending( now)?|advertisement|sponsored( content)?|tags?|"
    r"topics?|share( this( article| story)?)?|follow us|sign up|subscribe|"
    r"most (read|popular)|you (may|might) also like|more stories|watch|image|photo|source)"
    r"\b\s*[:|\-\u2013\u2014]?",
    re.I,
)
# Phrases that mark furniture on any short line...
_PHRASE = re.compile(
    r"click here|sign up (for|to)|subscribe (now|today|to our)|all rights reserved|"
    r"copyright (\u00a9 ?)?\d{4}|\u00a9 ?\d{4}|order reprints|print article|share it with|"
    r"like this story|follow (us|him|her|them) on|reading time|min(ute)?s? read|\[/?button|"
    r"thanks for reading|this copy is for your personal|an error has occurred|"
    r"has been sent to|download (our|the) app|get (the|our) .{0,30}(app|newsletter|delivered)",
    re.I,
)
# ...and words that do only on a label-sized line (an article may discuss copyright).
_LABEL = re.compile(
    r"newsletter|copyright|\u00a9|cookies?\b|privacy policy|terms of (use|service)|join (us|now)",
    re.I,
)
LABEL_WORDS = 8
_SEPARATORS = frozenset(":|-\u2013\u2014")
_SOURCE_TAG = re.compile(r"\[[A-Z][A-Z ]{2,}\]\s*\|?\s*$")
_BLOCKS = frozenset(
    {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "br", "tr", "blockquote", "pre"}
    | {"section", "article", "figcaption", "dd", "dt"}
)


def _trafilatura(html: str, url: str | None, *, precision: bool) -> str:
    text = trafilatura.extract(
        html,
        url=url,
        fast=True,
        favor_precision=precision,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
    )
    return text or ""


_UTF8_PARSER = lxml.html.HTMLParser(encoding="utf-8")


def _parse(html: str) -> lxml.html.HtmlElement | None:
    # bytes with an explicit encoding: lxml refuses str with an XML encoding declaration
    try:
        return lxml.html.fromstring(html.encode("utf-8", errors="replace"), parser=_UTF8_PARSER)
    except (etree.ParserError, ValueError):
        return None


def paragraph_chars(tree: lxml.html.HtmlElement) -> int:
    """Characters of text inside the page's <p> elements."""
    return sum(len(p.text_content().strip()) for p in tree.iter("p"))


def page_titles(tree: lxml.html.HtmlElement) -> list[str]:
    """The page's title candidates (<title>, <h1>, og:title), as normalised word strings."""
    found: list[str] = []
    for path in ("//title", "//h1", '//meta[@property="og:title"]/@content'):
        for node in tree.xpath(path)[:3]:
            value = node if isinstance(node, str) else node.text_content()
            words = _words(value)
            if words:
                found.append(words)
    return found


def _words(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _shingles(text: str, size: int = 4) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + size]) for i in range(max(1, len(words) - size + 1))}


def block_text(element: lxml.html.HtmlElement) -> str:
    """An element's text with a line break after each block element."""
    parts: list[str] = []
    for node in element.iter():
        if not isinstance(node.tag, str) or node.tag in ("script", "style"):
            if node.tail:
                parts.append(node.tail)
            continue
        if node.text:
            parts.append(node.text)
        if node.tag in _BLOCKS:
            parts.append("\n")
        if node.tail and node is not element:
            parts.append(node.tail)
    return re.sub(r"\n\s*\n+", "\n", "".join(parts)).strip()


def _readability(html: str) -> str:
    from readability import Document

    try:
        summary = Document(html).summary(html_partial=True)
    except Exception:  # readability raises bare Exceptions on odd pages; it is only a rescue
        return ""
    tree = _parse(summary) if summary.strip() else None
    return block_text(tree) if tree is not None else ""


def is_boilerplate_line(line: str) -> bool:
    """True for a line that is page furniture rather than article body."""
    words = _WORD.findall(line)
    if not words:
        return True
    lead = _LEAD.match(line)
    # a lead word opens furniture when a separator follows it or the line is a mere label
    if lead and len(line) < 250 and (lead.group(0).rstrip()[-1:] in _SEPARATORS or len(words) <= 5):
        return True
    if len(line) < 120 and _PHRASE.search(line):
        return True
    if len(words) <= LABEL_WORDS and _LABEL.search(line):
        return True
    return len(words) > 3 and bool(_SOURCE_TAG.search(line))


def menu_lines(lines: list[str]) -> set[int]:
    """Indices of lines in a long run of one-to-three-word lines: a menu, not prose.

    List items ("- ...") never count: a real list in an article keeps its items.
    """
    found: set[int] = set()
    run: list[int] = []
    for i, line in enumerate([*lines, ""]):
        if line and not line.startswith("- ") and len(_WORD.findall(line)) <= MENU_WORDS:
            run.append(i)
            continue
        if len(run) >= MENU_RUN:
            found.update(run)
        run = []
    return found


def drop_boilerplate(text: str, titles: list[str]) -> str:
    """Remove a leading headline (when it is one of `titles`), menus and boilerplate lines."""
    lines = [line for line in text.split("\n") if line.strip()]
    if lines:
        first = _words(lines[0])
        if (
            first
            and len(first) < 250
            and any(first == t or (len(first) > 15 and first in t) for t in titles)
        ):
            lines = lines[1:]
    menus = menu_lines(lines)
    return "\n".join(
        line for i, line in enumerate(lines) if i not in menus and not is_boilerplate_line(line)
    )


def extract_main_text(html: str, url: str | None = None) -> str:
    """The article body of an HTML page as plain text, one paragraph per line ("" if none).

    Args:
        html: the decoded page.
        url: its address, which helps trafilatura's link and site rules.
    """
    default = _trafilatura(html, url, precision=False)
    precise = _trafilatura(html, url, precision=True)
    text = precise if len(precise) >= PRECISION_KEEPS * len(default) else default
    tree = _parse(html)
    if tree is None:
        return text
    if len(text) < RESCUE_BELOW * paragraph_chars(tree):
        rescue = _readability(html)
        if len(rescue) > RESCUE_LONGER * len(text):
            ours = _shingles(text) if text else set()
            if not ours or len(ours & _shingles(rescue)) >= RESCUE_CONTAINS * len(ours):
                text = rescue
    return drop_boilerplate(text, page_titles(tree))
