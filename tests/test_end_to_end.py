"""The whole flow with real parts: a page on a 127.0.0.1 server and a local file go through
the real fetcher, the real local SLM, real MiniLM embeddings and a real chromadb, then come
back out through search, show and export."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from signalkb.cli import cli
from tests.conftest import PAGES

pytestmark = pytest.mark.slow

SECTIONS = (
    "## Keywords",
    "## Themes",
    "## Other",
    "## Summary",
    "## Signals",
    "## Concerns",
    "## Behaviors",
    "## Technologies",
    "## Issues",
)


def run(*args: str) -> tuple[int, str, str]:
    """Invoke the CLI in-process (so the models load once per session)."""
    result = CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory, fixture_server: str) -> Path:
    """A knowledge base holding the hospital page (over HTTP) and the chips article (a file)."""
    home = tmp_path_factory.mktemp("e2e") / "kb"
    code, out, err = run(
        "--kb",
        home,
        "ingest",
        "--allow-private",
        f"{fixture_server}/open-weights-clinics.html",
        PAGES / "chip-export-rules.txt",
    )
    assert code == 0, err
    assert out.count("ingested:") == 2
    return home


def test_list_shows_both_articles_with_rows(ingested: Path) -> None:
    code, out, _ = run("--kb", ingested, "list", "--json")
    assert code == 0
    articles = json.loads(out)
    titles = sorted(a["title"] for a in articles)
    assert titles[0].startswith("Chip makers race")
    assert titles[1].startswith("Hospitals turn to small open-weight models")
    hospital = next(a for a in articles if a["title"].startswith("Hospitals"))
    # the canonical URL from <link rel=canonical> is the key the article is stored under
    assert hospital["url"] == "https://healthtech.example.org/2026/03/small-models-clinical-notes"
    assert hospital["published"] == "2026-03-14"
    for article in articles:
        assert (
            sum(
                article["rows"][k]
                for k in ("signals", "concerns", "behaviors", "technologies", "issues")
            )
            > 0
        )


def test_search_finds_the_right_article_by_paraphrase(ingested: Path) -> None:
    code, out, _ = run(
        "--kb",
        ingested,
        "search",
        "keeping patient records on the hospital's own machines",
        "--json",
        "--limit",
        "3",
    )
    assert code == 0
    hits = json.loads(out)
    assert hits, "no hit"
    assert hits[0]["title"].startswith("Hospitals turn to small open-weight models")
    code, out, _ = run("--kb", ingested, "search", "export restrictions on GPUs", "--json")
    assert json.loads(out)[0]["title"].startswith("Chip makers race")


def test_show_prints_every_section_of_the_layout(ingested: Path) -> None:
    code, out, _ = run(
        "--kb",
        ingested,
        "show",
        "https://healthtech.example.org/2026/03/small-models-clinical-notes",
    )
    assert code == 0
    assert out.startswith("# __Hospitals turn to small open-weight models")
    assert (
        "__[External link](https://healthtech.example.org/2026/03/small-models-clinical-notes)__"
        in out
    )
    positions = [out.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    assert "| name | description | change | 10-year | driving-force | relevancy |" in re.sub(
        r" +", " ", out
    )
    summary = out.split("## Summary")[1].split("## Signals")[0].strip()
    assert len(summary.split()) >= 20


def test_export_csv_reads_back_with_pandas(ingested: Path, tmp_path: Path) -> None:
    target = tmp_path / "signals.csv"
    code, _, _ = run(
        "--kb", ingested, "export", "--kind", "signals", "--format", "csv", "-o", target
    )
    assert code == 0
    frame = pd.read_csv(target)
    _, out, _ = run("--kb", ingested, "list", "--json")
    expected = sum(article["rows"]["signals"] for article in json.loads(out))
    assert len(frame) == expected > 0
    assert {"name", "description", "change", "relevancy", "title", "url"} <= set(frame.columns)
    assert frame["relevancy"].between(1, 5).all()


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/no-such-page.html", "404"), ("/image.png", "image/png")],
)
def test_bad_url_gives_one_clear_line_and_stores_nothing(
    fixture_server: str, kb_home: Path, path: str, expected: str
) -> None:
    url = f"{fixture_server}{path}"
    code, out, err = run("--kb", kb_home, "ingest", "--allow-private", url)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and url in lines[0] and expected in lines[0]
    assert run("--kb", kb_home, "list")[1] == ""


def test_unreachable_url_gives_one_clear_line(closed_port: int, kb_home: Path) -> None:
    url = f"http://127.0.0.1:{closed_port}/article"
    code, _, err = run("--kb", kb_home, "ingest", "--allow-private", url)
    assert code != 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and url in lines[0]
    assert run("--kb", kb_home, "list")[1] == ""
