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
    listed = json.loads(run(home, "list", "--json").output)
    assert [json.loads(line) for line in run(home, "list", "--jsonl").output.splitlines()] == listed
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
    first = json.loads(hits.output)[0]
    assert first["name"] == "Shift towards small language models" and first["kind"] == "signals"
    assert 0.3 < first["similarity"] <= 1.0
    filtered = run(home, "search", "power", "--min-relevancy", "5", "--since", "2024-05-01")
    assert filtered.output and all("5)" in line for line in filtered.output.splitlines())
    # each text hit names its article's id, for `show`
    energy = json.loads(run(home, "show", "https://example.org/energy", "--format", "json").output)
    assert all(f"  {energy['id']}  " in line for line in filtered.output.splitlines())


def test_search_says_when_nothing_matches(home: Path) -> None:
    none = CliRunner().invoke(
        cli,
        ["--kb", str(home), "search", "power", "--since", "2030-01-01", "--until", "2031-01-01"],
    )
    assert none.exit_code == 0 and none.output.strip() == "no matches"
    as_json = run(home, "search", "power", "--since", "2030-01-01", "--json")
    assert json.loads(as_json.output) == []
    empty = CliRunner().invoke(cli, ["--kb", str(home), "search", "  "])
    assert empty.exit_code == 2 and "the query is empty" in empty.output


def test_show_finds_a_url_spelled_as_ingest_spells_it(home: Path) -> None:
    want = run(home, "show", "https://example.org/energy").output
    for spelling in (
        "https://example.org/energy/",
        "https://EXAMPLE.org/energy?utm_source=newsletter",
        "https://example.org/energy#top",
    ):
        assert run(home, "show", spelling).output == want, spelling


def test_show_finds_an_ingested_file_by_its_path(tmp_path: Path, monkeypatch) -> None:
    note = tmp_path / "note.md"
    note.write_text("# A note\n\nText.\n")
    home = tmp_path / "kb"
    Store(home, embedder=MiniLMEmbedder()).add(make_article("slm", url=note.resolve().as_uri()))
    monkeypatch.chdir(tmp_path)
    shown = run(home, "show", "note.md")
    assert shown.exit_code == 0 and shown.output.startswith("# __")


@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("show", "abc"),
        ("search", "anything"),
        ("export", "--kind", "signals"),
        ("stats",),
        ("trends",),
        ("digest",),
        ("delete", "abc"),
        ("reindex",),
    ],
)
def test_reading_a_missing_knowledge_base_is_an_error_not_a_new_store(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    missing = tmp_path / "typo"
    result = CliRunner().invoke(cli, ["--kb", str(missing), *args])
    assert result.exit_code == 1
    assert f"no knowledge base at {missing}" in result.output
    assert "ingest something first" in result.output
    assert not missing.exists()


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
    assert not (Path.cwd() / "-").exists()
    md = run(home, "export", "--kind", "technologies", "--format", "md", "--since", "2024-02-01")
    assert md.output.count("| Phi-3") == 1 and md.output.count("| GPT-4") == 1


def test_import_is_idempotent_and_restores(home: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup.json"
    run(home, "export", "--kind", "all", "--format", "json", "-o", str(backup))
    fresh = tmp_path / "fresh"
    assert run(fresh, "import", str(backup)).output.strip() == "3 added, 0 replaced, 0 unchanged"
    assert run(fresh, "import", str(backup)).output.strip() == "0 added, 0 replaced, 3 unchanged"
    # a backup older than what is stored: the stored record is kept, and the message says so
    records = json.loads(backup.read_text())
    for record in records:
        record["ingested_at"] = "2026-01-01T00:00:00Z"
    stamped = tmp_path / "stamped.json"
    stamped.write_text(json.dumps(records))
    assert run(fresh, "import", str(stamped)).output.strip() == "0 added, 3 replaced, 0 unchanged"
    records[0]["summary"] = "An older summary."
    records[0]["ingested_at"] = "2000-01-01T00:00:00Z"
    older = tmp_path / "older.json"
    older.write_text(json.dumps(records))
    assert run(fresh, "import", str(older)).output.strip() == (
        "0 added, 0 replaced, 2 unchanged, 1 kept (the stored record was ingested later "
        "than the file's)"
    )
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
    article_id = json.loads(run(home, "list", "--json").output)[-1]["id"]
    assert run(home, "delete", article_id).output.startswith(f"deleted {article_id}")
    figures = json.loads(run(home, "stats", "--json").output)
    assert figures["articles"] == 2 and figures["rows"] == 10 and figures["store_bytes"] > 0
    assert "reindexed 2 articles" in run(home, "reindex").output
    assert "articles      2" in run(home, "stats").output


def test_trends_and_digest(home: Path, tmp_path: Path) -> None:
    trends = json.loads(run(home, "trends", "--kind", "technologies", "--json").output)
    assert trends[0]["name"] == "Phi-3" and trends[0]["articles"] == 2
    assert trends[0]["momentum"] in ("new", "rising", "steady", "fading")
    singles = json.loads(
        run(home, "trends", "--kind", "technologies", "--min-articles", "1", "--json").output
    )
    assert {t["momentum"] for t in singles if t["articles"] == 1} == {"single"}
    out = tmp_path / "digest.md"
    run(home, "digest", "--since", "7d", "-o", str(out))
    text = out.read_text()
    assert text.startswith("# signalkb digest")
    assert (
        "1 new articles, by publication date (the day ingested where an article has none)." in text
    )
    assert text.count("## Signals") == 1 and "Shift towards small language models" in text
    # by the day ingested: the fixture's records carry no ingested_at, so none is this week's
    by_ingest = run(home, "digest", "--since", "7d", "--by", "ingested").output
    assert "0 new articles, by the day each was ingested." in by_ingest


def test_shared_options_work_after_the_command_name_too(home: Path, tmp_path: Path) -> None:
    before = CliRunner().invoke(cli, ["--kb", str(home), "list"], catch_exceptions=False)
    after = CliRunner().invoke(cli, ["list", "--kb", str(home)], catch_exceptions=False)
    assert after.exit_code == 0 and after.output == before.output
    assert len(after.output.splitlines()) == 3
    # Given in both places, the one after the command name wins.
    empty = tmp_path / "empty"
    both = CliRunner().invoke(cli, ["--kb", str(home), "list", "--kb", str(empty)])
    assert both.exit_code == 1 and f"no knowledge base at {empty}" in both.output
    help_text = CliRunner().invoke(cli, ["search", "--help"]).output
    assert "--kb DIRECTORY" in help_text and "--model TEXT" in help_text


def test_export_to_stdout_with_dash(home: Path, tmp_path: Path, monkeypatch) -> None:
    import io

    monkeypatch.chdir(tmp_path)
    csv = run(home, "export", "--kind", "signals", "--format", "csv", "-o", "-")
    assert csv.exit_code == 0 and not (tmp_path / "-").exists()
    assert len(pd.read_csv(io.StringIO(csv.output))) == 3
    parquet = CliRunner().invoke(
        cli, ["--kb", str(home), "export", "--kind", "signals", "--format", "parquet", "-o", "-"]
    )
    assert parquet.exit_code == 0 and not (tmp_path / "-").exists()
    assert len(pd.read_parquet(io.BytesIO(parquet.stdout_bytes))) == 3
