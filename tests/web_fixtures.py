"""Fixtures for the web tests: sample records, a real chromadb store in a temp dir, the app."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from fastapi import FastAPI

from ingest.extract import Extractor, ScriptedExtractor
from kb.embed import Embedder
from kb.records import Article, article_id_for
from kb.settings import Settings
from kb.store import Store
from signalkb.compose import Parts

XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
XSS_URL = "javascript:window.__pwned = 3"


def make_article(
    url: str,
    title: str,
    *,
    published: date | None = None,
    topic: str = "small language models",
    site: str = "example.org",
) -> Article:
    """A complete record about `topic`, with one row of every kind."""
    return Article.model_validate(
        {
            "id": article_id_for(url),
            "url": url,
            "title": title,
            "site": site,
            "published": published,
            "keywords": [topic, "benchmarks", "fine-tuning", "cost"],
            "themes": ["artificial intelligence", "business applications", "language models"],
            "category": "technology",
            "type": "blog post",
            "summary": f"The article discusses {topic} and why businesses adopt them.",
            "signals": [
                {
                    "name": f"Shift towards {topic}",
                    "description": f"Growing interest in {topic} for focused business tasks.",
                    "change": f"Transition from general models to {topic}.",
                    "ten_year": f"In ten years {topic} may dominate business AI.",
                    "driving_force": "Demand for affordable, efficient AI.",
                    "relevancy": 4,
                    "evidence": f"Companies increasingly choose {topic} over larger ones.",
                },
                {
                    "name": f"Cost reduction from {topic}",
                    "description": "Smaller models cut the cost of serving AI.",
                    "change": "From expensive hosted models to cheap local ones.",
                    "ten_year": "AI becomes a routine, cheap business tool.",
                    "driving_force": "Economic pressure on IT budgets.",
                    "relevancy": 5,
                    "evidence": "Running the model costs a tenth of the larger one.",
                },
            ],
            "concerns": [
                {
                    "name": f"Bias and toxicity of {topic}",
                    "description": "Models may produce biased or toxic text.",
                    "relevancy": 3,
                    "evidence": "Larger models show more bias.",
                }
            ],
            "behaviors": [
                {
                    "name": f"Adoption of {topic}",
                    "description": "Organisations adopt smaller models for narrow tasks.",
                    "relevancy": 5,
                }
            ],
            "technologies": [
                {
                    "name": f"Mistral 7B for {topic}",
                    "description": "An open model with seven billion parameters.",
                    "relevancy": 4,
                    "evidence": "Mistral 7B outperforms larger models on benchmarks.",
                }
            ],
            "issues": [
                {
                    "name": f"Open versus closed {topic}",
                    "description": "Debate over open-source and proprietary models.",
                    "relevancy": 2,
                }
            ],
            "extractor": "fixture",
            "text": f"A fixture article about {topic}.",
        }
    )


def xss_article() -> Article:
    """A record whose scraped fields all try to run script."""
    article = make_article("https://evil.example/xss", f"Evil {XSS} title", topic="evil")
    signal = article.signals[0].model_copy(
        update={"name": f"Signal {XSS}", "evidence": f"quote {XSS}"}
    )
    return article.model_copy(
        update={
            "url": XSS_URL,
            "summary": f'Summary {XSS} <a href="{XSS_URL}">click me</a>',
            "keywords": [f"kw {XSS}"],
            "signals": [signal],
        }
    )


def sample_articles() -> list[Article]:
    """Three ordinary articles and the XSS one."""
    return [
        make_article(
            "https://example.org/slm", "Small language models win", published=date(2024, 1, 5)
        ),
        make_article(
            "https://example.org/robots",
            "Robots in warehouses",
            published=date(2024, 3, 9),
            topic="warehouse robots",
            site="robots.example",
        ),
        make_article(
            "https://example.org/agents",
            "Agents that browse",
            published=date(2024, 3, 20),
            topic="browsing agents",
        ),
        xss_article(),
    ]


def fill_store(home: Path, embedder: Embedder, articles: list[Article]) -> Store:
    """A real chromadb store at `home` holding `articles`."""
    store = Store(home, embedder=embedder)
    for article in articles:
        store.add(article)
    return store


def app_for(
    store: Store,
    settings: Settings | None = None,
    *,
    extractor: Callable[[], Extractor] = ScriptedExtractor,
) -> FastAPI:
    """The app over an already opened store; ingest jobs extract with `extractor()`."""
    parts = Parts(extractor=lambda settings, embedder: extractor())
    return parts.web_app(settings or Settings(home=store.home), store=store)


def timeline_articles() -> list[Article]:
    """Twelve articles, one a month through 2024, on three recurring topics, so that the
    trends page has trends with a monthly course and technologies named by several articles.
    """
    topics = ("AI agents", "open-weight models", "AI regulation")
    technologies = ("Phi-3", "Llama 3", "Mistral 7B", "GPT-4")
    articles = []
    for month in range(1, 13):
        topic = topics[month % 3]
        article = make_article(
            f"https://news.example/{month}",
            f"{topic.capitalize()}: the view in month {month}",
            published=date(2024, month, 3 + month),
            topic=topic,
            site="news.example",
        )
        tech = article.technologies[0].model_copy(
            update={"name": technologies[month % 4], "description": "A model the article names."}
        )
        articles.append(article.model_copy(update={"technologies": [tech]}))
    return articles
