"""The web UI driven as a person would, in real headless Chromium against a real server.

search → article → expand evidence → table → sort → export read by pandas → ingest and
watch it finish. A screenshot of each page goes to docs/screenshots/ from the same run.
"""

from __future__ import annotations

import io
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import uvicorn

from ingest.extract import ScriptedExtractor
from kb.embed import MiniLMEmbedder
from kb.settings import Settings
from kb.store import Store
from tests.web_fixtures import app_for, fill_store, sample_articles, timeline_articles

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent.parent / "docs" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="Debian chromium is not installed at /usr/bin/chromium (make browser)",
    ),
]


class ServerThread:
    """uvicorn serving an app on 127.0.0.1, on a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


class SlowExtractor(ScriptedExtractor):
    """The scripted extractor, taking a second per article so progress can be watched."""

    def extract(self, document: Any) -> Any:
        time.sleep(1.0)
        return super().extract(document)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app over the sample articles (embedded with MiniLM), served by uvicorn."""
    articles = sample_articles() + timeline_articles()
    store: Store = fill_store(tmp_path_factory.mktemp("kb"), MiniLMEmbedder(), articles)
    settings = Settings(home=store.home, allow_private=True)
    app = app_for(store, settings, extractor=SlowExtractor)
    with ServerThread(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium, launched by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page that fails the test on any dialog (alert, confirm) or page error."""
    context = browser.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    tab.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    yield tab
    context.close()
    assert not problems, problems


def shot(page: Any, name: str) -> None:
    """Save a screenshot of the page as docs/screenshots/<name>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def test_search_article_evidence_table_sort_export(page: Any, site: str, tmp_path: Path) -> None:
    page.goto(site + "/")
    assert page.locator("ul.article-list li").count() == len(
        sample_articles() + timeline_articles()
    )
    shot(page, "home")

    page.fill("input[name=q]", "automation in logistics depots")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("li.hit")
    assert "q=automation" in page.url, "the query is in a shareable URL"
    first = page.locator("li.hit").first
    assert "robots" in first.locator(".from a").inner_text().lower()
    shot(page, "search")

    first.locator(".from a").click()
    page.wait_for_selector("article.record h1")
    assert page.locator("article.record h1").inner_text() == "Robots in warehouses"
    quote = page.locator("#signals details.evidence blockquote").first
    assert not quote.is_visible()
    page.locator("#signals details.evidence summary").first.click()
    assert quote.is_visible()
    assert "warehouse robots" in quote.inner_text()
    shot(page, "article")

    page.click("header nav >> text=Tables")
    page.wait_for_selector("table.rows tbody tr")
    page.click("th.col-name a")
    page.wait_for_selector("th.col-name[aria-sort]")
    direction = page.get_attribute("th.col-name", "aria-sort")
    names = page.locator("table.rows tbody td.col-name").evaluate_all(
        "cells => cells.map(c => c.firstChild.textContent.trim())"
    )
    assert names == sorted(names, key=str.lower, reverse=direction == "descending")
    shot(page, "table")

    shown = page.locator("table.rows tbody tr").evaluate_all(
        """rows => rows.map(r => Array.from(r.cells).map(c => {
             const copy = c.cloneNode(true);
             copy.querySelectorAll('details').forEach(d => d.remove());
             return copy.textContent.trim(); }))"""
    )
    for fmt, reader in (("csv", pd.read_csv), ("xlsx", pd.read_excel)):
        with page.expect_download() as info:
            page.click(f"a.export[data-format={fmt}]")
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        frame = reader(io.BytesIO(path.read_bytes()), dtype=str).fillna("")
        assert frame.iloc[:, : len(shown[0])].to_numpy().tolist() == shown, fmt
        assert {"evidence", "article_id", "url"} <= set(frame.columns), fmt

    page.click("header nav >> text=Trends")
    page.wait_for_selector("svg.chart")
    assert page.locator("svg.chart").count() >= 3
    assert page.locator("table.trends tbody tr").count() >= 3
    shot(page, "trends")


def test_search_grouped_by_table_and_back(page: Any, site: str) -> None:
    page.goto(site + "/")
    page.fill("input[name=q]", "open-weight models")
    page.check("input[name=group]")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("section.group")
    assert "group=kind" in page.url
    sections = page.locator("section.group")
    kinds = sections.evaluate_all("s => s.map(e => e.dataset.kind)")
    assert kinds == ["signals", "concerns", "behaviors", "technologies", "issues"]
    counts = page.locator(".group-counts .count").all_inner_texts()
    best = int(page.locator(".group-counts").inner_text().split("best ")[1].split(" ")[0])
    assert sum(int(c) for c in counts) == best
    for kind in kinds:
        shown = page.locator(f"#group-{kind} li.hit .kind").all_inner_texts()
        assert shown and set(shown) == {kind}
    shot(page, "search-grouped")
    page.locator(".group-counts a", has_text="technologies").click()
    assert page.url.endswith("#group-technologies")
    page.locator("#group-technologies p.more a").click()
    page.wait_for_selector("li.hit")
    assert "kind=technologies" in page.url and "group" not in page.url
    assert set(page.locator("li.hit .kind").all_inner_texts()) == {"technologies"}
    assert not page.is_checked("input[name=group]")
    page.click("a.view-grouped")
    page.wait_for_selector("section.group")
    assert page.locator("section.group").evaluate_all("s => s.map(e => e.dataset.kind)") == [
        "technologies"
    ]


def test_hostile_article_runs_nothing(page: Any, site: str) -> None:
    page.goto(site + "/search?q=evil+script+signal")
    page.wait_for_selector("li.hit")
    evil_link = page.locator(".from a", has_text="Evil").first
    evil_link.click()
    page.wait_for_selector("article.record h1")
    assert "<script>" in page.locator("article.record h1").inner_text(), "shown as text"
    assert page.locator("main img").count() == 0
    assert page.locator("a.external").count() == 0, "a javascript: URL gets no link"
    page.locator("details.evidence summary").first.click()
    for link in page.locator("a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript:")
    page.click("header nav >> text=Tables")
    page.fill("input[name=q]", "evil")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("table.rows tbody tr")
    assert page.evaluate("typeof window.__pwned") == "undefined"


def test_ingest_shows_progress_until_done_and_retries(
    page: Any, site: str, fixture_server: str
) -> None:
    good = f"{fixture_server}/open-weights-clinics.html"
    missing = f"{fixture_server}/gone.html"
    page.goto(site + "/ingest")
    page.fill("textarea[name=urls]", f"{good}\n{missing}")
    page.click("form.ingest button[type=submit]")
    page.wait_for_url("**/ingest/*")
    assert page.locator(".job-state").get_attribute("data-done") == "false"
    page.wait_for_selector("td.status.status-extracting", timeout=30_000)
    live = page.locator("td.status.status-extracting").first.inner_text()
    assert re.fullmatch(r"extracting( · [a-z, ]+)?( · \d+ s)?", live), live
    # The page's CSP forbids eval, so wait on a selector rather than a JS predicate.
    page.wait_for_selector(".job-state[data-done=true]", timeout=60_000)
    statuses = page.locator("td.status").all_inner_texts()
    assert re.fullmatch(r"stored in \d+ s", statuses[0]) and statuses[1] == "failed", statuses
    assert "404" in page.locator("td.message").nth(1).inner_text()
    assert page.locator("form.retry").is_visible()
    shot(page, "ingest")
    page.locator("td.article a").first.click()
    page.wait_for_selector("article.record h1")
    page.go_back()
    page.click("form.retry button")
    page.wait_for_url("**/ingest/*")
    page.wait_for_selector(".job-state[data-done=true]", timeout=60_000)
    assert page.locator("td.status").all_inner_texts() == ["failed"]


def test_phone_width_pages_do_not_scroll_sideways(browser: Any, site: str) -> None:
    width = 390
    context = browser.new_context(viewport={"width": width, "height": 800})
    tab = context.new_page()
    tab.goto(site + "/")
    article = tab.locator("ul.article-list a").first.get_attribute("href")
    wide: dict[str, int] = {}
    for path in (
        "/",
        "/search?q=open-weight+models",
        "/search?q=open-weight+models&group=kind",
        article,
        "/tables/signals",
        "/trends",
        "/ingest",
        "/docs",
    ):
        tab.goto(site + path)
        scroll_width = tab.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            wide[path] = scroll_width
    tab.goto(site + "/tables/signals")
    nav = tab.locator("header.site nav").bounding_box()
    context.close()
    assert not wide, f"wider than {width} px: {wide}"
    assert nav is not None and nav["x"] + nav["width"] <= width
