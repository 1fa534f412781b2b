"""The fixed words extraction works with: categories, types, themes and what each table holds.

Pure data. `SLMExtractor` offers the model `CATEGORIES` and `TYPES` to choose from, ranks
`THEMES` by closeness to the summary, and scores evidence sentences for each table by its
`CUES` and by MiniLM closeness to its `PROTOTYPES` sentence (`ingest.extract.candidates`).
"""

from __future__ import annotations

from kb.records import Kind

CATEGORIES = ("technology", "business", "science", "policy", "society", "research", "culture")
TYPES = ("blog post", "news", "research paper", "opinion", "documentation", "report", "tutorial")
# Broad subject areas for the themes section, ranked by closeness to the summary.
THEMES = (
    "artificial intelligence",
    "machine learning",
    "language models",
    "natural language processing",
    "generative ai",
    "computer vision",
    "robotics",
    "ai safety",
    "ai ethics",
    "ai regulation",
    "public policy",
    "law and compliance",
    "privacy",
    "cybersecurity",
    "misinformation",
    "media and journalism",
    "business applications",
    "enterprise software",
    "economics",
    "labor and employment",
    "education",
    "healthcare",
    "science and research",
    "open source",
    "software development",
    "hardware and chips",
    "cloud computing",
    "edge computing",
    "sustainability",
    "energy",
    "transportation",
    "infrastructure",
    "finance",
    "society",
    "culture and creativity",
    "geopolitics",
    "startups and investment",
    "data and datasets",
    "benchmarks and evaluation",
    "model training",
    "human-computer interaction",
)
# The tables whose rows are built from evidence sentences (technologies come from names).
ROW_TABLES: tuple[Kind, ...] = ("signals", "concerns", "behaviors", "issues")
# What each table holds, in words MiniLM can compare evidence sentences with.
PROTOTYPES: dict[str, str] = {
    "signals": "an emerging trend: something new is growing, rising, shifting or spreading",
    "concerns": "a risk, danger, harm, cost or problem that people worry about",
    "behaviors": "companies, people or organisations are using, adopting, building or doing it",
    "issues": "a topic of public debate: regulation, ethics, policy, transparency, access",
    "technologies": "a technology, product, AI model, tool, dataset or method",
}
CUES: dict[str, tuple[str, ...]] = {
    "signals": (
        "emerg", "grow", "trend", "shift", "rise", "rising", "increas", "new ", "future",
        "transform", "becom", "rapid", "alternative", "first", "more ",
    ),
    "concerns": (
        "risk", "concern", "bias", "halluc", "expensive", "cost", "danger", "harm", "fake",
        "hoax", "misinform", "threat", "challenge", "problem", "fail", "unsafe", "safety",
        "copyright", "privacy", "lack", "rarely", "delay", "disrupt", "worr",
    ),
    "behaviors": (
        "use ", "using", "adopt", "deploy", "build", "train", "fine-tun", "tuned", "creat",
        "shar", "invest", "evaluat", "release", "compan", "business", "people", "team",
        "urged", "halted", "stopped",
    ),
    "issues": (
        "regulat", "law", "act ", "policy", "policymaker", "transparen", "ethic", "debate",
        "accountab", "comply", "compliance", "access", "govern", "sustainab", "impact",
        "public", "trust", "open", "disclos",
    ),
}  # fmt: skip
# A sentence central to the article often shows, say, both a trend and a behaviour; in
# more tables than two it stops telling the tables apart.
MAX_TABLES_PER_SENTENCE = 2
# Names too common or too vague to be a technology row.
GENERIC_TERMS = frozenset({"ai", "it", "us", "eu", "uk", "gmt", "bbc", "ceo"})
