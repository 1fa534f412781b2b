"""The web pages through FastAPI's TestClient, parsed with BeautifulSoup, on a real chromadb."""

from __future__ import annotations

import http.server
import io
import json
import os
import re
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from ingest.extract import ScriptedExtractor
from kb.embed import HashEmbedder, MiniLMEmbedder
from kb.records import KINDS
from kb.settings import Settings
from kb.store import Store
from tests.web_fixtures import XSS, app_for, fill_store, make_article, sample_articles
from web import charts
from web.app import create_app
from web.cache import StoreCache
from web.jobs import INGEST_NICE, Entry, Job


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


def test_search_grouped_by_kind_counts_each_table(client: TestClient) -> None:
    params = {"q": "warehouse robots", "group": "kind"}
    data = client.get("/api/search", params=params).json()
    ranked = client.get("/api/search", params={"q": "warehouse robots", "per_page": 100}).json()
    assert [g["kind"] for g in data["groups"]] == list(KINDS)
    assert data["depth"] == len(ranked["hits"]) and not data["hits"]
    for group in data["groups"]:
        of_kind = [h["id"] for h in ranked["hits"] if h["kind"] == group["kind"]]
        assert group["count"] == len(of_kind)
        assert [h["id"] for h in group["hits"]] == of_kind[: len(group["hits"])]
        assert 0 < len(group["hits"]) <= 5
    page = soup(client.get("/search", params=params))
    sections = page.select("section.group")
    assert [s["data-kind"] for s in sections] == list(KINDS)
    counts = {a["href"]: a.select_one(".count").get_text() for a in page.select(".group-counts a")}
    assert counts == {f"#group-{g['kind']}": str(g["count"]) for g in data["groups"]}
    for section, group in zip(sections, data["groups"], strict=True):
        assert {k.get_text() for k in section.select("li.hit .kind")} == {group["kind"]}
        assert len(section.select("li.hit")) == len(group["hits"])
    assert not page.select("nav.pager")
    more = sections[1].select_one("p.more a")["href"]
    assert "kind=concerns" in more and "group" not in more
    concerns = soup(client.get(more))
    assert {k.get_text() for k in concerns.select("li.hit .kind")} == {"concerns"}
    assert "group=kind" in concerns.select_one("a.view-grouped")["href"]
    assert "group" not in page.select_one("a.view-list")["href"]
    assert page.select_one("input[name=group]").has_attr("checked")


def test_search_grouped_keeps_the_kind_filter(client: TestClient) -> None:
    params = {"q": "models", "group": "kind", "kind": ["issues", "signals"]}
    data = client.get("/api/search", params=params).json()
    assert [g["kind"] for g in data["groups"]] == ["signals", "issues"]
    assert sum(g["count"] for g in data["groups"]) == data["depth"] > 0
    nothing = client.get("/search", params={**params, "site": "nowhere.example"})
    assert soup(nothing).select_one("p.empty") is not None
    assert client.get("/search", params={"q": "x", "group": "site"}).status_code == 422


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


def table_cells(page: BeautifulSoup) -> list[list[str]]:
    """The text of every body cell of the table on a page, evidence left out."""
    rows = []
    for tr in page.select("table.rows tbody tr"):
        for details in tr.select("details"):
            details.decompose()
        rows.append([td.get_text().strip() for td in tr.select("td")])
    return rows


def test_table_sorts_filters_and_pages(client: TestClient, hash_store: Store) -> None:
    total = sum(len(a.signals) for a in hash_store.list_articles())
    page = soup(client.get("/tables/signals", params={"sort": "name", "dir": "asc"}))
    headers = [th.get_text(strip=True).strip(" ▲▼") for th in page.select("table.rows th")]
    assert headers[:6] == ["name", "description", "change", "10-year", "driving-force", "relevancy"]
    names = [row[0] for row in table_cells(page)]
    assert len(names) == total
    assert names == sorted(names, key=str.lower)
    assert page.select_one("th[aria-sort=ascending]").get_text(strip=True).startswith("name")
    flip = page.select_one("th.col-name a")["href"]
    assert "dir=desc" in flip
    desc = [r[0] for r in table_cells(soup(client.get("/tables/signals" + flip)))]
    assert desc == sorted(names, key=str.lower, reverse=True)
    by_relevancy = client.get("/api/tables/signals", params={"sort": "relevancy"}).json()
    values = [r["relevancy"] for r in by_relevancy["rows"]]
    assert values == sorted(values, reverse=True)
    filtered = client.get("/api/tables/signals", params={"q": "robots"}).json()
    assert filtered["total"] == 2
    assert all("robots" in r["name"].lower() + r["description"].lower() for r in filtered["rows"])
    paged = client.get("/api/tables/signals", params={"per_page": 3, "page": 2}).json()
    assert len(paged["rows"]) == 3 and paged["has_next"]
    assert client.get("/tables/concerns", params={"sort": "change"}).status_code == 422


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet", "json", "md"])
def test_export_downloads_exactly_the_rows_shown(client: TestClient, fmt: str) -> None:
    params = {"sort": "name", "dir": "desc", "per_page": 3, "page": 2, "min_relevancy": 4}
    page = soup(client.get("/tables/signals", params=params))
    shown = table_cells(page)
    link = page.select_one(f"a.export[data-format={fmt}]")["href"]
    response = client.get(link)
    assert response.status_code == 200
    assert f".{fmt}" in response.headers["content-disposition"]
    data = io.BytesIO(response.content)
    if fmt == "md":
        lines = response.text.strip().splitlines()[2:]
        frame = pd.DataFrame([[c.strip() for c in line.strip("|").split("|")] for line in lines])
    else:
        reader = {
            "csv": pd.read_csv,
            "xlsx": pd.read_excel,
            "parquet": pd.read_parquet,
            "json": pd.read_json,
        }[fmt]
        frame = reader(data, dtype=str) if fmt != "parquet" else reader(data).astype(str)
    visible = len(shown[0])
    exported = [[str(v) for v in row] for row in frame.fillna("").to_numpy().tolist()]
    assert [row[:visible] for row in exported] == shown
    assert len(shown) == 3
    if fmt != "md":  # then every row carries its evidence, article id, URL and site
        assert list(frame.columns[visible:]) == ["evidence", "article_id", "url", "site"]
        assert all(url.startswith("https://") for url in frame["url"])


def test_export_of_all_rows_ignores_the_paging(client: TestClient) -> None:
    params = {"sort": "name", "dir": "asc", "per_page": 3, "page": 2, "min_relevancy": 4}
    page = soup(client.get("/tables/signals", params=params))
    total = client.get("/api/tables/signals", params=params).json()["total"]
    response = client.get(page.select_one("a.export-all[data-format=csv]")["href"])
    assert 'filename="signals-all.csv"' in response.headers["content-disposition"]
    frame = pd.read_csv(io.BytesIO(response.content), dtype=str)
    assert len(frame) == total > 3
    assert list(frame["name"]) == sorted(frame["name"], key=str.lower)


def test_openapi_docs_page_is_local(client: TestClient) -> None:
    response = client.get("/docs")
    page = soup(response)
    paths = [h.get_text() for h in page.select(".endpoint h2")]
    assert "GET /api/search" in paths and "POST /api/ingest" in paths
    assert not [
        s for s in page.select("script[src], link[href]") if "//" in (s.get("src") or s.get("href"))
    ]
    assert client.get("/openapi.json").json()["info"]["title"] == "signalkb"


def test_docs_page_renders_types_and_inline_code(client: TestClient) -> None:
    page = soup(client.get("/docs"))
    search = next(
        e for e in page.select(".endpoint") if e.select_one("h2").get_text() == "GET /api/search"
    )
    assert "`" not in search.get_text()
    assert [c.get_text() for c in search.select("p.muted code")] == ["q"]
    types = {
        row.select("td")[0].get_text(): row.select("td")[2] for row in search.select("tbody tr")
    }
    assert types["group"].get_text() == "kind or empty"
    assert [c.get_text() for c in types["mode"].select("code")] == ["hybrid", "vector", "keyword"]


def test_favicon_is_served_and_linked(client: TestClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/svg+xml"
    assert icon.text.startswith("<svg")
    for path in ("/", "/tables/signals", "/docs", "/no/such/page"):
        link = soup(client.get(path)).select_one("link[rel=icon]")
        assert link is not None and client.get(link["href"]).status_code == 200


def test_guard_token_loopback_and_cross_site_posts(hash_store: Store, tmp_path: Path) -> None:
    with TestClient(app_for(hash_store), base_url="http://192.0.2.10") as remote:
        refused = remote.get("/")
        assert refused.status_code == 403
        assert refused.headers["x-frame-options"] == "DENY"
        assert "script-src 'self'" in refused.headers["content-security-policy"]
    settings = Settings(home=hash_store.home, token="s3cret")
    with TestClient(app_for(hash_store, settings), base_url="http://192.0.2.10") as remote:
        refused = remote.get("/search")
        assert refused.status_code == 401 and "token" in soup(refused).select_one("main").get_text()
        assert (
            remote.get("/api/search", headers={"Authorization": "Bearer wrong"}).status_code == 401
        )
        assert (
            remote.get("/api/search", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        )
        landing = remote.get("/", params={"token": "s3cret"}, follow_redirects=False)
        assert landing.status_code == 303 and "token" not in landing.headers["location"]
        assert landing.headers["x-content-type-options"] == "nosniff"
        assert remote.get("/tables/signals").status_code == 200, "the cookie carries the token"
    with TestClient(app_for(hash_store), base_url="http://127.0.0.1") as local:
        hostile = local.post(
            "/ingest",
            data={"urls": "https://example.org/"},
            headers={"Origin": "https://evil.example"},
        )
        assert hostile.status_code == 403
        assert local.get("/articles/x/delete").status_code == 405


def test_delete_is_post_only_and_removes_the_article(tmp_path: Path) -> None:
    store = fill_store(tmp_path / "kb", HashEmbedder(), sample_articles()[:2])
    gone = store.list_articles()[0]
    with TestClient(app_for(store), base_url="http://127.0.0.1") as local:
        assert local.get(f"/api/articles/{gone.id}/delete").status_code == 405
        answer = local.post(f"/api/articles/{gone.id}/delete")
        assert answer.json()["deleted"] == gone.id
        assert local.get(f"/articles/{gone.id}").status_code == 404
    assert store.count()["articles"] == 1


def wait_for_job(http: TestClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Poll a job's JSON twin until it is done."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = http.get(f"/api/ingest/{job_id}").json()["job"]
        if job["done"]:
            return job  # type: ignore[no-any-return]
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish")


@pytest.mark.slow
def test_ingest_job_reports_each_article_and_retries_failures(
    tmp_path: Path, fixture_server: str
) -> None:
    store = Store(tmp_path / "kb", embedder=HashEmbedder())
    settings = Settings(home=store.home, allow_private=True)
    app = app_for(store, settings, extractor=ScriptedExtractor)
    good = f"{fixture_server}/open-weights-clinics.html"
    missing = f"{fixture_server}/no-such-page.html"
    with TestClient(app, base_url="http://127.0.0.1") as local:
        pasted = f"/etc/passwd\n{good}"
        refused = local.post("/ingest", data={"urls": pasted})
        assert refused.status_code == 422
        form = soup(refused)
        assert "not an http(s) URL: /etc/passwd" in form.select_one("#urls-error").get_text()
        assert form.select_one("textarea#urls").get_text() == pasted  # nothing pasted is lost
        assert form.select_one("textarea#urls")["aria-invalid"] == "true"
        empty = soup(local.post("/ingest", data={"urls": "", "feed": ""}))
        assert "paste a URL or give a feed" in empty.select_one("#urls-error").get_text()
        assert (
            local.post("/api/ingest", data={"urls": "/etc/passwd"}).json()["detail"][0]["field"]
            == "urls"
        )
        started = local.post(
            "/ingest", data={"urls": f"{good}\n{missing}\n"}, follow_redirects=False
        )
        assert started.status_code == 303
        job_id = started.headers["location"].rsplit("/", 1)[1]
        job = wait_for_job(local, job_id)
        statuses = {e["source"]: e for e in job["entries"]}
        assert statuses[good]["status"] == "stored"
        assert statuses[good]["seconds"] is not None and statuses[good]["elapsed"] is None
        assert statuses[missing]["status"] == "failed" and "404" in statuses[missing]["message"]
        assert job["eta_seconds"] is None  # done
        page = soup(local.get(f"/ingest/{job_id}"))
        assert re.fullmatch(r"stored in \d+ s", page.select_one("td.status-stored").get_text())
        assert page.select_one("form.retry").get("hidden") is None
        article_link = page.select_one("td.article a")["href"]
        assert soup(local.get(article_link)).select_one("h1").get_text()
        answer = local.post(f"/api/ingest/{job_id}/retry")
        assert answer.status_code == 202 and "job" in answer.json(), answer.text
        retried = answer.json()["job"]
        assert [e["source"] for e in retried["entries"]] == [missing]
        assert wait_for_job(local, retried["id"])["entries"][0]["status"] == "failed"
        assert local.get("/api/ingest").json()["jobs"][0]["retry_of"] == job_id
    assert store.count()["articles"] == 1


class NiceRecordingExtractor(ScriptedExtractor):
    """The scripted extractor, noting the nice value and scheduling class of its thread."""

    seen: list[int] = []
    policies: list[int] = []

    def extract(self, document: Any) -> Any:
        tid = threading.get_native_id()
        self.seen.append(os.getpriority(os.PRIO_PROCESS, tid))
        self.policies.append(os.sched_getscheduler(tid))
        return super().extract(document)


@pytest.mark.skipif(sys.platform != "linux", reason="nice is per thread on Linux only")
def test_ingest_job_runs_at_lower_priority_than_the_pages(
    tmp_path: Path, fixture_server: str
) -> None:
    store = Store(tmp_path / "kb", embedder=HashEmbedder())
    settings = Settings(home=store.home, allow_private=True)
    app = app_for(store, settings, extractor=NiceRecordingExtractor)
    with TestClient(app, base_url="http://127.0.0.1") as local:
        url = f"{fixture_server}/open-weights-clinics.html"
        job = local.post("/api/ingest", data={"urls": url}).json()["job"]
        assert wait_for_job(local, job["id"])["entries"][0]["status"] == "stored"
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert NiceRecordingExtractor.seen == [min(19, own + INGEST_NICE)]
    assert NiceRecordingExtractor.policies == [os.SCHED_IDLE]
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == own
    assert os.sched_getscheduler(threading.get_native_id()) == os.SCHED_OTHER


def hit_articles(http: TestClient, **params: Any) -> set[str]:
    """Titles of the articles whose rows a search returns."""
    hits = http.get("/api/search", params={"per_page": 100, **params}).json()["hits"]
    return {h["title"] for h in hits}


def test_search_filters_narrow_results_and_stay_in_the_url(client: TestClient) -> None:
    everything = hit_articles(client, q="models")
    assert len(everything) == 4
    march = hit_articles(client, q="models", since="2024-03-01", until="2024-03-31")
    assert march == {"Robots in warehouses", "Agents that browse"}
    assert hit_articles(client, q="models", site="robots.example") == {"Robots in warehouses"}
    assert hit_articles(client, q="models", technology="Mistral 7B for browsing agents") == {
        "Agents that browse"
    }
    assert "Robots in warehouses" in hit_articles(client, q="models", theme="language models")
    page = soup(client.get("/search", params={"q": "models", "site": "robots.example"}))
    assert page.select_one("details.filters").has_attr("open")
    assert page.select_one("input[name=site]")["value"] == "robots.example"
    share = page.select_one(".share a")["href"]
    assert "site=robots.example" in share and "q=models" in share
    assert client.get("/search", params={"q": "x", "since": "last year"}).status_code == 422


def test_similar_articles_and_similar_rows(client: TestClient, hash_store: Store) -> None:
    article = hash_store.get("https://example.org/slm")
    page = soup(client.get(f"/articles/{article.id}"))
    similar = [a.get_text() for a in page.select("ul.similar-articles a")]
    assert similar and article.title not in similar
    row_link = page.select_one("#signals a.similar")["href"]
    row_page = soup(client.get(row_link))
    assert row_page.select_one("h1").get_text() == article.signals[0].name
    others = row_page.select("section.similar li.hit")
    assert others and all(row_link not in a["href"] for a in row_page.select("section.similar a"))
    assert client.get("/rows/nope:signals:0").status_code == 404


def test_trends_page_draws_svg_charts_and_opens_each_trend(client: TestClient) -> None:
    data = client.get("/api/trends", params={"kind": "signals"}).json()
    assert data["trends"], "the fixture's cost-reduction signals form a trend"
    page = soup(client.get("/trends", params={"kind": "signals"}))
    charts = page.select("svg.chart")
    assert len(charts) >= 3 + len(data["trends"])
    assert all(svg.get("aria-label") for svg in charts)
    relevancy_chart = charts[1]
    counts = [int(r.title.get_text().split(": ")[1]) for r in relevancy_chart.select("rect")]
    rows = client.get("/api/tables/signals", params={"per_page": 1000}).json()["total"]
    assert sum(counts) == rows
    link = page.select_one("table.trends a")["href"]
    trend_page = soup(client.get(link))
    assert trend_page.select_one("h1").get_text() == data["trends"][0]["name"]
    member_rows = trend_page.select("table.rows tbody tr")
    assert len(member_rows) == data["trends"][0]["size"]
    articles = trend_page.select("ul.article-list a")
    assert len(articles) == data["trends"][0]["articles"]
    assert client.get("/trends/signals/nope:signals:0").status_code == 404
    assert client.get("/trends", params={"kind": "opinions"}).status_code == 422


def test_chart_labels_are_escaped() -> None:
    svg = str(charts.bar_chart([(XSS, 3)], f"label {XSS}"))
    parsed = BeautifulSoup(svg, "html.parser")
    assert not parsed.select("script") and not parsed.select("[onerror]")
    assert "&lt;script&gt;" in svg
    assert charts.month_range(["2024-11", "2025-02"]) == [
        "2024-11",
        "2024-12",
        "2025-01",
        "2025-02",
    ]


def test_empty_form_fields_mean_no_filter(client: TestClient) -> None:
    form = {"q": "models", "since": "", "until": "", "site": "", "technology": "", "theme": ""}
    assert client.get("/search", params={**form, "mode": "hybrid"}).status_code == 200
    assert client.get("/trends", params={"since": ""}).status_code == 200


@pytest.fixture
def feed_server(fixture_server: str) -> Iterator[str]:
    """An RSS feed on 127.0.0.1 listing one fixture page and one missing page."""
    items = "".join(
        f"<item><title>{name}</title><link>{fixture_server}/{name}</link></item>"
        for name in ("open-weights-clinics.html", "missing.html")
    )
    body = (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    )

    class Feed(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Feed)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
    server.shutdown()
    server.server_close()


@pytest.mark.slow
def test_ingest_a_feed_adds_its_articles_to_the_job(tmp_path: Path, feed_server: str) -> None:
    store = Store(tmp_path / "kb", embedder=HashEmbedder())
    settings = Settings(home=store.home, allow_private=True)
    app = app_for(store, settings, extractor=ScriptedExtractor)
    with TestClient(app, base_url="http://127.0.0.1") as local:
        assert local.post("/api/ingest", data={"feed": "file:///etc/passwd"}).status_code == 422
        job = local.post("/api/ingest", data={"feed": feed_server}).json()["job"]
        done = wait_for_job(local, job["id"])
    feed, *articles = done["entries"]
    assert feed["kind"] == "feed" and feed["status"] == "listed"
    assert [(e["source"].rsplit("/", 1)[1], e["status"]) for e in articles] == [
        ("open-weights-clinics.html", "stored"),
        ("missing.html", "failed"),
    ]
    assert store.count()["articles"] == 1


def test_serve_refuses_a_public_address_without_a_token() -> None:
    from click.testing import CliRunner

    from signalkb.cli import cli

    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--port", "9"])
    assert result.exit_code == 2
    assert "SIGNALKB_TOKEN" in result.output


def test_an_unexpected_error_is_a_friendly_500_without_traceback(tmp_path: Path) -> None:
    def broken_store() -> Store:
        raise RuntimeError("disk on fire at /secret/path")

    app = create_app(
        Settings(home=tmp_path),
        store_factory=broken_store,
        extractor_factory=lambda store: ScriptedExtractor(),
    )
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as local:
        response = local.get("/search", params={"q": "x"})
        assert response.status_code == 500
        assert soup(response).select_one("h1").get_text() == "Something went wrong"
        assert "Traceback" not in response.text and "/secret/path" not in response.text
        assert local.get("/api/search", params={"q": "x"}).json()["status"] == 500


def test_delete_button_posts_and_lands_on_the_home_page(tmp_path: Path) -> None:
    store = fill_store(tmp_path / "kb", HashEmbedder(), sample_articles()[:2])
    gone = store.list_articles()[0]
    with TestClient(app_for(store), base_url="http://127.0.0.1") as local:
        form = soup(local.get(f"/articles/{gone.id}")).select_one("details.danger form")
        assert form["method"] == "post"
        answer = local.post(form["action"], follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/?" + urlencode({"deleted": gone.title})
        home = soup(local.get(answer.headers["location"]))
        assert home.select_one(".flash[role=status]").get_text() == f"Deleted: {gone.title}"
        assert gone.title not in home.select_one("ul.article-list").get_text()


def test_deleted_notice_is_escaped(client: TestClient) -> None:
    response = client.get("/", params={"deleted": XSS})
    assert "<script>" not in response.text
    assert soup(response).select_one(".flash").get_text() == f"Deleted: {XSS}"


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/", "/api/search"),
        ("/search?q=robots", "/api/search"),
        ("/search?q=robots&group=kind", "/api/search"),
        ("/tables/concerns", "/api/tables/concerns"),
        ("/trends", "/api/trends"),
        ("/ingest", "/api/ingest"),
        ("/docs", None),
    ],
)
def test_every_page_has_a_json_twin(client: TestClient, path: str, api: str | None) -> None:
    page = soup(client.get(path))
    twin = client.get(page.select_one("a.json")["href"])
    assert twin.headers["content-type"] == "application/json"
    data = twin.json()
    assert isinstance(data, dict) and data
    if api:
        params = {k: v for k, v in twin.request.url.params.items() if k != "format"}
        assert client.get(api, params=params).json() == data


def test_store_cache_reuses_until_the_store_changes(tmp_path: Path) -> None:
    store = fill_store(tmp_path / "kb", HashEmbedder(), sample_articles()[:1])
    cache = StoreCache()
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return store.count()["articles"]

    assert cache.get(store, "n", compute) == 1
    assert cache.get(store, "n", compute) == 1 and len(calls) == 1
    store.add(sample_articles()[1])
    assert cache.get(store, "n", compute) == 2 and len(calls) == 2
    store.delete(sample_articles()[0].id)
    assert cache.get(store, "n", compute) == 1 and len(calls) == 3


def test_serve_get_prints_one_page_without_a_socket(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from signalkb.cli import cli

    runner = CliRunner()
    home = str(tmp_path / "kb")
    found = runner.invoke(cli, ["--kb", home, "serve", "--get", "/docs?format=json"])
    assert found.exit_code == 0, found.output
    assert "/api/search" in [e["path"] for e in json.loads(found.output)["endpoints"]]
    missing = runner.invoke(cli, ["--kb", home, "serve", "--get", "/no/such/page"])
    assert missing.exit_code == 1 and "Page not found" in missing.output


def test_a_job_estimates_the_time_left_from_the_articles_done() -> None:
    now = time.time()
    job = Job(
        "j",
        [
            Entry("a", status="stored", started=now - 30, seconds=10.0),
            Entry("b", status="extracting", step="signals", started=now - 4),
            Entry("c"),
        ],
    )
    assert job.eta_seconds(now) == pytest.approx(10 * 2 - 4)
    data = job.to_dict()
    assert data["entries"][1]["step"] == "signals"
    assert 3.5 < data["entries"][1]["elapsed"] < 10 and data["entries"][0]["elapsed"] is None
    assert Job("k", [Entry("a")]).eta_seconds(now) is None  # nothing done yet: no estimate
