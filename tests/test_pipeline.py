"""Batches, duplicates, failures, ways in and the kill-and-restart test.

A real 127.0.0.1 server and a real chromadb in tmp_path. The extractor is the scripted
echo fake (these tests are about the code around the model; the real SLM is exercised by
tests/test_end_to_end.py), and the in-process CLI tests embed with the hash embedder so
that they need no model load (`tests.fakes.FAKES`, given to the CLI through
`signalkb.compose.Parts`). The kill test runs `python -m tests.ingest_fixtures`: the real
`signalkb` CLI with those two fakes swapped in (see `run_cli_with_echo_extractor`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.dedup import distance, resemblance, simhash
from ingest.document import Document
from ingest.extract.scripted import ScriptedExtractor
from ingest.extract.steps import step
from ingest.failures import load_failures
from ingest.pipeline import BatchSummary, HostThrottle, ingest_batch
from ingest.runner import Event, Request
from ingest.runner import run as run_ingest
from ingest.urls import normalize_url
from kb.embed import HashEmbedder
from kb.records import Article, article_id_for
from kb.settings import Settings
from kb.store import Store
from signalkb.cli import cli
from tests import ingest_fixtures
from tests.fakes import FAKES
from tests.ingest_fixtures import (
    CANONICAL,
    PARAGRAPHS,
    FixtureServer,
    article_html,
    article_routes,
    flaky,
    minimal_pdf,
    page,
    rss,
    sitemap,
)

pytestmark = pytest.mark.slow

ingest_server = ingest_fixtures.ingest_server
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Private addresses allowed, no politeness delay, short limits."""
    return Settings(
        home=tmp_path / "kb",
        allow_private=True,
        host_delay=0.0,
        read_timeout=2.0,
        retry_backoff=0.01,
        retry_max_delay=0.05,
    )


@pytest.fixture
def store(settings: Settings) -> Store:
    """A real chromadb store in tmp_path, embedding with the hash embedder."""
    return Store(settings.home, embedder=HashEmbedder())


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process CLI runs fetch without a politeness delay."""
    monkeypatch.setenv("SIGNALKB_HOST_DELAY", "0")


def run(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False, obj=FAKES)
    return result.exit_code, result.stdout, result.stderr


def one(server: FixtureServer, path: str, store: Store, settings: Settings, **kw: bool):  # noqa: ANN201
    summary = ingest_batch(
        [server.url(path)], store=store, extractor=ScriptedExtractor(), settings=settings, **kw
    )
    return summary.outcomes[0]


# ---- duplicates ---------------------------------------------------------------------


def test_unchanged_url_is_skipped_and_force_reextracts(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    first = one(ingest_server, "/article", store, settings)
    assert first.status == "ingested"
    assert first.article_id == article_id_for(CANONICAL)
    again = one(ingest_server, "/article", store, settings)
    assert (again.status, again.article_id) == ("unchanged", first.article_id)
    forced = one(ingest_server, "/article", store, settings, force=True)
    assert forced.status == "replaced"
    assert store.count()["articles"] == 1


def test_tracking_parameters_and_fragments_are_the_same_article(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    assert one(ingest_server, "/no-canonical", store, settings).status == "ingested"
    again = one(ingest_server, "/no-canonical?utm_source=feed&fbclid=x#comments", store, settings)
    assert again.status == "unchanged"
    assert store.get(again.article_id).url == normalize_url(ingest_server.url("/no-canonical"))


def test_copy_under_another_url_is_a_duplicate(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    mirrored = [*PARAGRAPHS[:4], PARAGRAPHS[4] + " Share this story with a friend."]
    ingest_server.routes["/mirror"] = page(article_html(mirrored, canonical=None))
    original = one(ingest_server, "/article", store, settings)
    copy = one(ingest_server, "/mirror", store, settings)
    assert copy.status == "duplicate"
    assert copy.message == f"duplicate of {original.article_id}"
    assert store.count()["articles"] == 1
    # a different story is not a duplicate
    other = article_routes(ingest_server, 1)[0]
    assert one(ingest_server, other, store, settings).status == "ingested"


def test_changed_text_replaces_the_record_without_orphan_rows(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    version = {"n": 0}

    def changing(handler) -> None:  # noqa: ANN001
        paras = PARAGRAPHS[: 3 + version["n"]]
        page(article_html(paras, canonical=None))(handler)

    ingest_server.routes["/changing"] = changing
    first = one(ingest_server, "/changing", store, settings)
    version["n"] = 2
    second = one(ingest_server, "/changing", store, settings)
    assert second.status == "replaced"
    assert BatchSummary([second]).line() == (
        "0 ingested, 1 replaced, 0 unchanged, 0 skipped as duplicate, 0 failed"
    )
    assert second.article_id == first.article_id
    article = store.get(second.article_id)
    assert PARAGRAPHS[4] in article.text
    assert store.count() == {"articles": 1, "rows": sum(1 for _ in article.all_items())}


def test_simhash_separates_articles_and_joins_copies() -> None:
    text = " ".join(PARAGRAPHS)
    copy = text.replace("forty", "about forty") + " Read more on our site."
    other = " ".join(ingest_fixtures.OTHER_PARAGRAPHS * 2)
    assert distance(simhash(text), simhash(copy)) < distance(simhash(text), simhash(other))
    assert resemblance(text, copy) > 0.8
    assert resemblance(text, other) < 0.1


# ---- batches, failures, concurrency --------------------------------------------------


def test_batch_goes_on_after_failures_and_logs_them(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    good = article_routes(ingest_server, 2)
    sources = [ingest_server.url(p) for p in (good[0], "/gone", "/image.png", good[1])]
    sources.append(sources[0] + "?utm_medium=email")
    summary = ingest_batch(sources, store=store, extractor=ScriptedExtractor(), settings=settings)
    statuses = [o.status for o in summary.outcomes]
    assert sorted(statuses) == ["duplicate", "failed", "failed", "ingested", "ingested"]
    assert summary.line() == "2 ingested, 0 unchanged, 1 skipped as duplicate, 2 failed"
    logged = {f["source"]: f["message"] for f in load_failures(settings.home)}
    assert logged == {
        sources[1]: "HTTP 410 Gone",
        sources[2]: "not an article: content type image/png",
    }


def test_run_reports_every_stage_and_caps_a_listing(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    paths = article_routes(ingest_server, 4)
    ingest_server.routes["/run.xml"] = page(rss(ingest_server, paths[1:]), "application/rss+xml")
    feed, first = ingest_server.url("/run.xml"), ingest_server.url(paths[0])
    events: list[Event] = []
    capped = settings.model_copy(update={"max_listing_entries": 2})
    summary = run_ingest(
        Request(sources=(first,), listings=(feed, ingest_server.url("/gone"))),
        store=store,
        extractor=ScriptedExtractor(),
        settings=capped,
        on_event=events.append,
    )
    assert [o.status for o in summary.outcomes] == ["failed", "ingested", "ingested", "ingested"]
    listed = next(e for e in events if e.stage == "listed")
    assert (listed.source, listed.listed, len(listed.found)) == (feed, 3, 2)
    started = next(e for e in events if e.stage == "started")
    assert started.found == (first, *listed.found)
    stages = [e.stage for e in events if e.source == first]
    assert stages == ["extracting", "storing", "done"]
    assert [f["source"] for f in load_failures(settings.home)] == [ingest_server.url("/gone")]


def test_host_delay_spaces_requests_to_one_host(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    starts: list[float] = []

    def timed(serve: ingest_fixtures.Route) -> ingest_fixtures.Route:
        def route(handler) -> None:  # noqa: ANN001
            starts.append(time.monotonic())
            serve(handler)

        return route

    paths = article_routes(ingest_server, 4)
    for path in paths:
        ingest_server.routes[path] = timed(ingest_server.routes[path])
    polite = settings.model_copy(update={"host_delay": 0.5, "concurrency": 4})
    ingest_batch(
        [ingest_server.url(p) for p in paths],
        store=store,
        extractor=ScriptedExtractor(),
        settings=polite,
    )
    starts.sort()
    assert len(starts) == 4
    # 0.5 s apart at the client; thread scheduling on a busy machine may shift one a little
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 0.3
    assert starts[-1] - starts[0] >= 1.2


def test_fetches_run_concurrently(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    paths = []
    for i in range(4):
        serve = page(article_html(ingest_fixtures.story(1000 + i), canonical=None))
        ingest_server.routes[f"/slow/{i}"] = ingest_fixtures.sleeping(0.6, serve)
        paths.append(f"/slow/{i}")
    started = time.monotonic()
    summary = ingest_batch(
        [ingest_server.url(p) for p in paths],
        store=store,
        extractor=ScriptedExtractor(),
        settings=settings.model_copy(update={"concurrency": 4}),
    )
    assert [o.status for o in summary.outcomes] == ["ingested"] * 4
    assert time.monotonic() - started < 4 * 0.6


def test_host_throttle_ignores_files() -> None:
    throttle = HostThrottle(5.0)
    started = time.monotonic()
    throttle.wait("notes/a.md")
    throttle.wait("notes/b.md")
    throttle.wait("http://example.com/a")
    assert time.monotonic() - started < 0.5


# ---- the CLI: ways in ------------------------------------------------------------------


def test_feed_sitemap_and_url_file(
    ingest_server: FixtureServer, cli_env: None, tmp_path: Path
) -> None:
    paths = article_routes(ingest_server, 6)
    ingest_server.routes["/feed.xml"] = page(rss(ingest_server, paths[:2]), "application/rss+xml")
    ingest_server.routes["/sitemap.xml"] = page(
        sitemap(ingest_server, paths[2:4]), "application/xml"
    )
    url_file = tmp_path / "urls.txt"
    url_file.write_text(
        f"# reading list\n{ingest_server.url(paths[4])}\n\n{ingest_server.url(paths[5])}  # b\n"
    )
    home = tmp_path / "kb"
    code, out, err = run(
        "--kb",
        home,
        "ingest",
        "--allow-private",
        "--feed",
        ingest_server.url("/feed.xml"),
        "--sitemap",
        ingest_server.url("/sitemap.xml"),
        "--from-file",
        url_file,
    )
    assert code == 0, err
    assert out.count("ingested:") == 6
    assert "6 ingested, 0 unchanged, 0 skipped as duplicate, 0 failed" in out


def test_unreadable_feed_fails_alone(
    ingest_server: FixtureServer, cli_env: None, tmp_path: Path
) -> None:
    path = article_routes(ingest_server, 1)[0]
    code, out, err = run(
        "--kb",
        tmp_path / "kb",
        "ingest",
        "--allow-private",
        "--feed",
        ingest_server.url("/gone"),
        ingest_server.url(path),
    )
    assert code == 1
    assert f"failed: {ingest_server.url('/gone')}: HTTP 410 Gone" in err
    assert "1 ingested" in out


def test_failures_are_listed_and_retried(
    ingest_server: FixtureServer, cli_env: None, tmp_path: Path
) -> None:
    ingest_server.routes["/flaky-404"] = flaky(1, 404, page(article_html(canonical=None)))
    url = ingest_server.url("/flaky-404")
    home = tmp_path / "kb"
    code, _, err = run("--kb", home, "ingest", "--allow-private", url)
    assert code == 1
    assert f"failed: {url}: HTTP 404 Not Found" in err
    code, out, _ = run("--kb", home, "failures")
    assert code == 0
    assert f"{url}: HTTP 404 Not Found" in out
    code, out, _ = run("--kb", home, "failures", "--json")
    assert [entry["source"] for entry in json.loads(out)] == [url]
    assert json.loads(out)[0]["allow_private"] is True
    # the retry remembers that the source was fetched with --allow-private
    code, out, err = run("--kb", home, "ingest", "--retry-failed")
    assert code == 0, err
    assert "ingested:" in out
    assert "1 ingested, 0 unchanged, 0 skipped as duplicate, 0 failed" in out
    assert run("--kb", home, "failures")[1].strip() == "no failures"


def test_a_failed_feed_is_retried_as_a_feed(
    ingest_server: FixtureServer, cli_env: None, tmp_path: Path
) -> None:
    paths = article_routes(ingest_server, 2)
    feed_page = page(rss(ingest_server, paths), "application/rss+xml")
    ingest_server.routes["/flaky-feed.xml"] = flaky(1, 404, feed_page)
    home, feed = tmp_path / "kb", ingest_server.url("/flaky-feed.xml")
    code, _, err = run("--kb", home, "ingest", "--allow-private", "--feed", feed)
    assert code == 1
    assert f"failed: {feed}: HTTP 404 Not Found" in err
    code, out, err = run("--kb", home, "ingest", "--allow-private", "--retry-failed")
    assert code == 0, err
    assert out.count("ingested:") == 2
    assert run("--kb", home, "failures")[1].strip() == "no failures"


def test_watch_ingests_only_new_entries(
    ingest_server: FixtureServer, cli_env: None, tmp_path: Path
) -> None:
    paths = article_routes(ingest_server, 3)
    ingest_server.routes["/watched.xml"] = page(
        rss(ingest_server, paths[:2]), "application/rss+xml"
    )
    home, feed = tmp_path / "kb", ingest_server.url("/watched.xml")
    code, out, err = run("--kb", home, "watch", "--once", "--allow-private", feed)
    assert code == 0, err
    assert f"{feed}: 2 entries, 2 new" in out
    assert out.count("ingested:") == 2
    ingest_server.routes["/watched.xml"] = page(rss(ingest_server, paths), "application/rss+xml")
    code, out, _ = run("--kb", home, "watch", "--once", "--allow-private", feed)
    assert f"{feed}: 3 entries, 1 new" in out
    assert out.count("ingested:") == 1
    assert f"Report {paths[2].rsplit('/', 1)[1]}" in out


def test_progress_bar_and_closing_summary(
    ingest_server: FixtureServer, cli_env: None, tmp_path: Path
) -> None:
    paths = article_routes(ingest_server, 2)
    code, out, err = run(
        "--kb",
        tmp_path / "kb",
        "ingest",
        "--allow-private",
        "--progress",
        *(ingest_server.url(p) for p in paths),
        ingest_server.url("/gone"),
    )
    assert code == 1
    assert "ingesting" in err and "3/3" in err
    assert "2 ingested, 0 unchanged, 0 skipped as duplicate, 1 failed" in out
    assert f"  failed: {ingest_server.url('/gone')}: HTTP 410 Gone" in err


def test_pdf_file_and_pdf_url(ingest_server: FixtureServer, cli_env: None, tmp_path: Path) -> None:
    pdf = minimal_pdf(["Small models report"] + [p[:95] for p in PARAGRAPHS * 2])
    ingest_server.routes["/report.pdf"] = page(pdf, "application/pdf")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    code, out, err = run(
        "text", "--json", "--allow-private", path, ingest_server.url("/report.pdf")
    )
    assert code == 0, err
    local, remote = json.loads(out)
    assert local["title"] == remote["title"] == "A PDF report on small models"
    assert "Regional hospitals are moving clinical note" in local["text"]
    assert local["url"] == path.resolve().as_uri()


def test_text_command_prints_what_ingest_keeps(
    ingest_server: FixtureServer, tmp_path: Path
) -> None:
    note = tmp_path / "note.md"
    note.write_text("# A note\n\n" + "\n\n".join(PARAGRAPHS))
    code, out, _ = run("text", "--json", "--allow-private", ingest_server.url("/article"), note)
    assert code == 0
    web, local = json.loads(out)
    assert web["source"] == ingest_server.url("/article")
    assert (web["url"], web["title"], web["published"]) == (
        CANONICAL,
        "Hospitals turn to small open-weight models for clinical notes",
        "2026-03-14",
    )
    assert PARAGRAPHS[0] in web["text"] and "Subscribe" not in web["text"]
    assert local["title"] == "A note"
    code, out, err = run("text", "--allow-private", ingest_server.url("/gone"))
    assert code == 1
    assert err.strip() == f"failed: {ingest_server.url('/gone')}: HTTP 410 Gone"


# ---- SIGKILL half-way, then again -------------------------------------------------------


@pytest.fixture
def kill_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    env = dict(os.environ)
    env.update(
        SIGNALKB_HOME=str(tmp_path / "kb"),
        SIGNALKB_ALLOW_PRIVATE="1",
        SIGNALKB_HOST_DELAY="0",
        SIGNALKB_TEST_HASH_EMBEDDER="1",
        PYTHONPATH=str(ROOT),
    )
    yield env


def _cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.ingest_fixtures", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_batch_killed_half_way_finishes_on_restart(
    ingest_server: FixtureServer, kill_env: dict[str, str], tmp_path: Path
) -> None:
    paths = article_routes(ingest_server, 8)
    url_file = tmp_path / "urls.txt"
    url_file.write_text("\n".join(ingest_server.url(p) for p in paths))
    args = ("ingest", "--from-file", str(url_file))

    killed_after = []
    for stop_at in (2, 4):
        proc = _cli({**kill_env, "SIGNALKB_TEST_EXTRACT_DELAY": "0.3"}, *args)
        assert proc.stdout is not None
        done = 0
        for line in proc.stdout:
            done += line.startswith("ingested:")
            if done >= stop_at:
                time.sleep(0.15)  # land inside the next article's extraction or write
                break
        assert done >= stop_at, proc.stderr.read() if proc.stderr else ""
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        killed_after.append(done)

    final = _cli(kill_env, *args)
    out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    assert out.count("unchanged:") >= max(killed_after)
    assert out.count("unchanged:") + out.count("ingested:") + out.count("replaced:") == 8

    store = Store(Path(kill_env["SIGNALKB_HOME"]), embedder=HashEmbedder())
    articles = store.list_articles()
    assert len(articles) == 8
    assert len({a.url for a in articles}) == 8
    row_owners = {m["article_id"] for m in store._cols.rows.get(include=["metadatas"])["metadatas"]}
    assert row_owners == {a.id for a in articles}  # no orphan rows of a half-written article
    assert store.count()["rows"] == sum(sum(1 for _ in a.all_items()) for a in articles)
    assert all(any(a.all_items()) for a in articles)


def test_folder_of_files_and_nothing_to_ingest(cli_env: None, tmp_path: Path) -> None:
    notes = tmp_path / "notes"
    (notes / "deeper").mkdir(parents=True)
    (notes / "one.md").write_text("# One\n\n" + " ".join(ingest_fixtures.story(7)))
    (notes / "deeper" / "two.txt").write_text("Two\n" + " ".join(ingest_fixtures.story(8)))
    (notes / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    home = tmp_path / "kb"
    code, out, err = run("--kb", home, "ingest", notes)
    assert code == 0, err
    assert out.count("ingested:") == 2
    code, out, err = run("--kb", home, "ingest")
    assert code == 2
    assert "give URLs or paths" in err


class SteppingExtractor(ScriptedExtractor):
    """The scripted extractor, reporting two steps as a real one does."""

    def extract(self, document: Document) -> Article:
        step("summary")
        step("signals")
        return super().extract(document)


def test_stages_carry_the_steps_of_the_extraction(
    ingest_server: FixtureServer, store: Store, settings: Settings
) -> None:
    seen: list[tuple[str, str]] = []
    ingest_batch(
        [ingest_server.url("/article")],
        store=store,
        extractor=SteppingExtractor(),
        settings=settings,
        on_stage=lambda stage, _doc, name: seen.append((stage, name)),
    )
    assert seen == [
        ("extracting", ""),
        ("extracting", "summary"),
        ("extracting", "signals"),
        ("storing", ""),
    ]


def test_progress_bar_shows_count_elapsed_and_lines_stay_whole(
    ingest_server: FixtureServer, cli_env: None, tmp_path: Path
) -> None:
    paths = article_routes(ingest_server, 2)
    urls = [ingest_server.url(p) for p in paths]
    code, out, err = run("--kb", tmp_path / "kb", "ingest", "--allow-private", "--progress", *urls)
    assert code == 0, err
    assert "ingesting" in err and "2/2" in err and "left" in err
    assert re.search(r"\d:\d\d:\d\d", err)  # elapsed and time left
    # each outcome is a line of its own, never appended to the bar's
    lines = out.splitlines()
    assert sum(line.startswith("ingested: ") for line in lines) == 2
    assert not any("ingesting" in line for line in lines)
