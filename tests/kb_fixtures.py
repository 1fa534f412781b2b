"""Records for the knowledge-base tests: small, complete, and different enough to search."""

from __future__ import annotations

import importlib.util
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from kb.records import Article, article_id_for

SHARED = Path(__file__).resolve().parents[2] / "shared"
SCORER = SHARED / "eval" / "score.py"
SEED_RECORD = SHARED / "seeds" / "002_61f95d86ecc6b6dd.txt"

TOPICS: dict[str, dict[str, Any]] = {
    "slm": {
        "title": "Small language models move onto phones",
        "summary": "The article discusses small language models running on devices.",
        "themes": ["language models", "edge computing"],
        "signal": ("Shift towards small language models", "Compact models replace big ones."),
        "concern": ("Accuracy of tiny models", "Small models make more factual mistakes."),
        "behavior": ("Companies fine-tune compact models", "Firms adapt small models."),
        "technology": ("Phi-3", "A small open model by Microsoft."),
        "issue": ("On-device privacy", "Whether local inference protects user data."),
    },
    "energy": {
        "title": "Data centres strain the power grid",
        "summary": "The article discusses electricity demand of AI data centres.",
        "themes": ["energy", "infrastructure"],
        "signal": ("AI drives electricity demand", "Training clusters need gigawatts of power."),
        "concern": ("Carbon emissions of training", "Fossil power feeds AI growth."),
        "behavior": ("Operators sign nuclear deals", "Cloud firms buy reactor output."),
        "technology": ("GPT-4", "A large language model by OpenAI."),
        "issue": ("Grid capacity planning", "Utilities cannot keep up with new loads."),
    },
    "robots": {
        "title": "Warehouse robots learn from video",
        "summary": "The article discusses robots trained on video demonstrations.",
        "themes": ["robotics", "automation"],
        "signal": ("Robots learn by watching", "Video demonstrations train manipulation."),
        "concern": ("Job losses in logistics", "Pickers may be replaced by machines."),
        "behavior": ("Retailers pilot picking robots", "Chains test arms in warehouses."),
        "technology": ("Diffusion policy", "A method that turns video into robot actions."),
        "issue": ("Safety around humans", "Robots share aisles with workers."),
    },
}


def make_article(
    topic: str = "slm",
    *,
    url: str | None = None,
    published: date | None = date(2024, 5, 1),
    relevancy: int = 4,
    site: str = "example.org",
    **overrides: Any,
) -> Article:
    """A complete record on one of TOPICS, one row of every kind (overrides replace fields)."""
    t = TOPICS[topic]
    url = url or f"https://{site}/{topic}"

    def row(pair: tuple[str, str], rel: int) -> dict[str, Any]:
        return {"name": pair[0], "description": pair[1], "relevancy": rel}

    data: dict[str, Any] = {
        "id": article_id_for(url),
        "url": url,
        "title": t["title"],
        "site": site,
        "published": published,
        "keywords": [t["signal"][0].lower(), t["technology"][0].lower()],
        "themes": t["themes"],
        "category": "technology",
        "type": "news",
        "summary": t["summary"],
        "signals": [
            {
                **row(t["signal"], relevancy),
                "change": "Transition from old ways to new ones.",
                "ten_year": "In ten years this is common.",
                "driving_force": "Cost and speed.",
            }
        ],
        "concerns": [row(t["concern"], max(1, relevancy - 1))],
        "behaviors": [row(t["behavior"], relevancy)],
        "technologies": [row(t["technology"], 3)],
        "issues": [row(t["issue"], 2)],
        "text": f"{t['title']}. {t['summary']}",
    }
    data.update(overrides)
    return Article.model_validate(data)


def load_scorer() -> ModuleType | None:
    """The record scorer of shared/eval, or None when the shared folder is not beside the repo."""
    if not SCORER.exists():
        return None
    spec = importlib.util.spec_from_file_location("signalkb_scorer", SCORER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
