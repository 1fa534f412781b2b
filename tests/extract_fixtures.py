"""Session fixtures for the extractor tests: the real SmolLM2 model, loaded once."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.document import Document
from ingest.extract.llamacpp import LlamaCppModel
from ingest.extract.slm import SLMExtractor
from kb.records import Article

SHARED = Path("/work/shared")
SEED_ARTICLE = SHARED / "seeds" / "000_c38305f678f21f86.txt"


def seed_document() -> Document:
    """Seed article 000 (The Emergence of Small Language Models) as a Document."""
    text = SEED_ARTICLE.read_text(encoding="utf-8")
    title = text.splitlines()[0].strip("# ")
    return Document(source=str(SEED_ARTICLE), url=SEED_ARTICLE.as_uri(), title=title, text=text)


@pytest.fixture(scope="session")
def smollm2() -> LlamaCppModel:
    """The packaged SmolLM2-135M-Instruct, loaded once per test session."""
    return LlamaCppModel("smollm2")


@pytest.fixture(scope="session")
def seed_record(smollm2: LlamaCppModel) -> Article:
    """The record SmolLM2 extracts from seed article 000 (computed once)."""
    return SLMExtractor(smollm2).extract(seed_document())
