"""The knowledge-base commands through click's CliRunner, on a real store with real MiniLM."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from kb.embed import MiniLMEmbedder
from kb.store import Store
from signalkb.cli import cli
from tests.kb_fixtures import make_article


def run(home: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--kb", str(home), *args], catch_exceptions=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "kb"
    recent = date.today() - timedelta(days=2)
    Store(home, embedder=MiniLMEmbedder()).add_many(
        [
            make_article("slm", published=date(2024, 1, 15)),
            make_article("slm", url="https://other.example/slm", published=recent),
            make_article("energy", published=date(2024, 6, 1), relevancy=5),
        ]
    )
    return home


def test_list_show_search(home: Path) -> None:
    listed = [json.loads(line) for line in run(home, "list", "--json").output.splitlines()]
    assert [a["title"] for a in listed][-1] == "Small language models move onto phones"
    assert listed[0]["published"] == (date.today() - timedelta(days=2)).isoformat()
    shown = run(home, "show", listed[-1]["url"])
    assert shown.output.startswith("# __Small language models move onto phones__")
    assert "## Technologies" in shown.output and "| Phi-3" in shown.output
    record = json.loads(run(home, "show", listed[-1]["id"], "--format", "json").output)
    assert record["id"] == listed[-1]["id"]
    hits = run(
        home, "search", "smaller models take over from big ones", "--kind", "signals", "--json"
    )
    first = json.loads(hits.output.splitlines()[0])
    assert first["name"] == "Shift towards small language models" and first["kind"] == "signals"
    filtered = run(home, "search", "power", "--min-relevancy", "5", "--since", "2024-05-01")
    assert filtered.output and all("5)" in line for line in filtered.output.splitlines())


def test_show_unknown_is_one_error_line(home: Path) -> None:
    result = CliRunner().invoke(cli, ["--kb", str(home), "show", "nope"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: nope: no article with this id or URL"


def test_export_files(home: Path, tmp_path: Path) -> None:
    out = tmp_path / "signals.csv"
    assert (
        run(home, "export", "--kind", "signals", "--format", "csv", "-o", str(out)).exit_code == 0
    )
    frame = pd.read_csv(out)
    assert len(frame) == 3 and {"title", "url", "published"} <= set(frame.columns)
    xlsx = tmp_path / "all.xlsx"
    run(
        home, "export", "--kind", "all", "--format", "xlsx", "--min-relevancy", "4", "-o", str(xlsx)
    )
    sheets = pd.read_excel(xlsx, sheet_name=None)
    assert len(sheets["signals"]) == 3 and len(sheets["issues"]) == 0
    parquet = run(home, "export", "--kind", "articles", "--format", "parquet")
    assert parquet.exit_code == 2 and "-o" in parquet.output
    md = run(home, "export", "--kind", "technologies", "--format", "md", "--since", "2024-02-01")
    assert md.output.count("| Phi-3") == 1 and md.output.count("| GPT-4") == 1


def test_import_is_idempotent_and_restores(home: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.json"
    run(home, "export", "--kind", "all", "--format", "json", "-o", str(backup))
    fresh = tmp_path / "fresh"
    assert run(fresh, "import", str(backup)).output.strip() == "3 added, 0 replaced, 0 unchanged"
    assert run(fresh, "import", str(backup)).output.strip() == "0 added, 0 replaced, 3 unchanged"
    before = json.loads(run(home, "stats", "--json").output)
    after = json.loads(run(fresh, "stats", "--json").output)
    for key in ("articles", "rows", "signals", "technologies"):
        assert before[key] == after[key]
    assert (
        run(fresh, "show", "https://example.org/energy").output
        == run(home, "show", "https://example.org/energy").output
    )
    bad = tmp_path / "bad.json"
    bad.write_text('[{"title": "no id"}]')
    result = CliRunner().invoke(cli, ["--kb", str(fresh), "import", str(bad)])
    assert result.exit_code == 1 and "not a signalkb records file" in result.output


def test_delete_stats_reindex(home: Path) -> None:
    article_id = json.loads(run(home, "list", "--json").output.splitlines()[-1])["id"]
    assert run(home, "delete", article_id).output.startswith(f"deleted {article_id}")
    figures = json.loads(run(home, "stats", "--json").output)
    assert figures["articles"] == 2 and figures["rows"] == 10 and figures["store_bytes"] > 0
    assert "reindexed 2 articles" in run(home, "reindex").output
    assert "articles      2" in run(home, "stats").output


def test_trends_and_digest(home: Path, tmp_path: Path) -> None:
    lines = run(home, "trends", "--kind", "technologies", "--json").output.splitlines()
    trends = [json.loads(line) for line in lines]
    assert trends[0]["name"] == "Phi-3" and trends[0]["articles"] == 2
    assert trends[0]["momentum"] in ("new", "rising", "steady", "fading")
    out = tmp_path / "digest.md"
    run(home, "digest", "--since", "7d", "-o", str(out))
    text = out.read_text()
    assert text.startswith("# signalkb digest") and "1 new articles." in text
    assert text.count("## Signals") == 1 and "Shift towards small language models" in text


def test_shared_options_work_after_the_command_name_too(home: Path, tmp_path: Path) -> None:
    before = CliRunner().invoke(cli, ["--kb", str(home), "list"], catch_exceptions=False)
    after = CliRunner().invoke(cli, ["list", "--kb", str(home)], catch_exceptions=False)
    assert after.exit_code == 0 and after.output == before.output
    assert len(after.output.splitlines()) == 3
    # Given in both places, the one after the command name wins.
    empty = tmp_path / "empty"
    both = CliRunner().invoke(cli, ["--kb", str(home), "list", "--kb", str(empty)])
    assert both.output == ""
    help_text = CliRunner().invoke(cli, ["search", "--help"]).output
    assert "--kb DIRECTORY" in help_text and "--model TEXT" in help_text
