"""The web pages through FastAPI's TestClient, parsed with BeautifulSoup, on a real chromadb."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from kb.embed import HashEmbedder, MiniLMEmbedder
from kb.records import KINDS
from kb.store import Store
from tests.web_fixtures import app_for, fill_store, make_article, sample_articles


@pytest.fixture(scope="module")
def hash_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The sample articles in a real chromadb, embedded with the fast HashEmbedder."""
    return fill_store(tmp_path_factory.mktemp("kb"), HashEmbedder(), sample_articles())


@pytest.fixture(scope="module")
def client(hash_store: Store) -> Iterator[TestClient]:
    """A TestClient of the app over `hash_store`."""
    with TestClient(app_for(hash_store), base_url="http://127.0.0.1") as test_client:
        yield test_client


def soup(response: object) -> BeautifulSoup:
    """The parsed HTML of a response."""
    return BeautifulSoup(response.text, "html.parser")  # type: ignore[attr-defined]


def test_home_lists_articles(client: TestClient, hash_store: Store) -> None:
    page = soup(client.get("/"))
    links = [a["href"] for a in page.select("ul.article-list a")]
    assert sorted(links) == sorted(f"/articles/{a.id}" for a in hash_store.list_articles())
    assert page.select_one("input[name=q]") is not None


def test_search_shows_matching_rows_with_kind_relevancy_and_link(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": "warehouse robots"}))
    hits = page.select("li.hit")
    assert hits
    first = hits[0]
    assert "warehouse robots" in first.select_one("h2.name").get_text().lower()
    assert first.select_one(".kind").get_text() in KINDS
    assert "relevancy" in first.select_one(".relevancy").get_text()
    link = first.select_one(".from a")["href"]
    assert link == f"/articles/{make_article('https://example.org/robots', 'x').id}"
    assert first.select("mark"), "query words are highlighted"


def test_search_kind_filter_and_paging(client: TestClient) -> None:
    page = soup(client.get("/search", params={"q": "models", "kind": "concerns"}))
    kinds = {k.get_text() for k in page.select("li.hit .kind")}
    assert kinds == {"concerns"}
    first = client.get("/api/search", params={"q": "models", "per_page": 2}).json()
    second = client.get("/api/search", params={"q": "models", "per_page": 2, "page": 2}).json()
    assert len(first["hits"]) == 2 and first["has_next"]
    assert not {h["id"] for h in first["hits"]} & {h["id"] for h in second["hits"]}
    next_link = soup(client.get("/search", params={"q": "models", "per_page": 2})).select_one(
        "a[rel=next]"
    )
    assert "page=2" in next_link["href"] and "q=models" in next_link["href"]


def test_article_page_follows_the_record_layout(client: TestClient, hash_store: Store) -> None:
    article = hash_store.get("https://example.org/slm")
    page = soup(client.get(f"/articles/{article.id}"))
    assert page.select_one("h1").get_text() == article.title
    assert page.select_one("a.external")["href"] == article.url
    headings = [h.get_text() for h in page.select("article h2")]
    assert headings == [
        "Keywords",
        "Themes",
        "Other",
        "Summary",
        "Signals",
        "Concerns",
        "Behaviors",
        "Technologies",
        "Issues",
    ]
    assert [li.get_text() for li in page.select("ul.keywords li")] == article.keywords
    assert "Category: technology" in page.select_one("ul.other").get_text()
    signal_headers = [th.get_text() for th in page.select("#signals th")]
    assert signal_headers == [
        "name",
        "description",
        "change",
        "10-year",
        "driving-force",
        "relevancy",
    ]
    assert len(page.select("#signals tbody tr")) == len(article.signals)
    assert [th.get_text() for th in page.select("#concerns th")] == [
        "name",
        "description",
        "relevancy",
    ]
    quote = page.select_one("#signals details.evidence blockquote").get_text()
    assert quote == article.signals[0].evidence


def test_scraped_text_is_escaped(client: TestClient, hash_store: Store) -> None:
    evil = next(a for a in hash_store.list_articles() if a.title.startswith("Evil"))
    response = client.get(f"/articles/{evil.id}")
    page = soup(response)
    assert not page.select("main script"), "no script element from scraped text"
    assert not page.select("[onerror]")
    assert all(not a.get("href", "").lower().startswith("javascript:") for a in page.select("a"))
    assert "<script>window.__pwned" not in response.text
    assert "&lt;script&gt;" in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    results = client.get("/search", params={"q": "evil signal script"})
    assert "<script>window.__pwned" not in results.text


def test_unknown_article_is_a_friendly_404(client: TestClient) -> None:
    response = client.get("/articles/0000000000000000")
    assert response.status_code == 404
    page = soup(response)
    assert page.select_one("h1").get_text() == "Article not found"
    assert "Traceback" not in response.text
    assert client.get("/api/articles/0000000000000000").json()["status"] == 404


def test_bad_filter_is_a_friendly_422(client: TestClient) -> None:
    response = client.get("/search", params={"q": "x", "min_relevancy": "9"})
    assert response.status_code == 422
    assert "min_relevancy" in soup(response).select_one("ul.problems").get_text()
    assert client.get("/search", params={"q": "x", "kind": "nonsense"}).status_code == 422


def test_json_twin_matches_page(client: TestClient, hash_store: Store) -> None:
    article = hash_store.get("https://example.org/agents")
    data = client.get(f"/articles/{article.id}", params={"format": "json"}).json()
    assert data == client.get(f"/api/articles/{article.id}").json()
    assert data["article"]["title"] == article.title
    assert [t["kind"] for t in data["tables"]] == list(KINDS)
    assert len(data["tables"][0]["rows"]) == len(article.signals)
    page = soup(client.get(f"/articles/{article.id}"))
    assert page.select_one("a.json")["href"].endswith("format=json")


@pytest.mark.slow
def test_search_with_minilm_finds_a_paraphrase(tmp_path_factory: pytest.TempPathFactory) -> None:
    store = fill_store(tmp_path_factory.mktemp("minilm"), MiniLMEmbedder(), sample_articles())
    with TestClient(app_for(store), base_url="http://127.0.0.1") as minilm_client:
        page = soup(minilm_client.get("/search", params={"q": "automation of logistics depots"}))
    first = page.select_one("li.hit")
    assert first is not None
    assert "robots" in first.select_one(".from a").get_text().lower()
