"""Exports: frames with the article on every row, five formats that read back the same,
spreadsheet-safe cells, and the whole-record exports of --kind all."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kb.embed import HashEmbedder
from kb.export import export_bytes, export_frame, read_frame, render
from kb.filters import Filters
from kb.formats import FORMATS
from kb.records import KINDS, Article
from kb.store import Store
from tests.kb_fixtures import make_article

DANGEROUS = ['=HYPERLINK("http://x")', "+1+2", "-3", "@SUM(A1)", "\tTab", "\rCR", "'quoted"]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "kb", embedder=HashEmbedder())
    slm = make_article("slm", published=date(2024, 1, 15))
    risky = [
        slm.concerns[0].model_copy(update={"name": f"risk {i}", "description": text})
        for i, text in enumerate(DANGEROUS)
    ]
    store.add_many(
        [
            slm.model_copy(update={"concerns": risky}),
            make_article("energy", published=date(2024, 6, 1), relevancy=5),
            make_article("robots", published=None, relevancy=2),
        ]
    )
    return store


def test_frame_rows_carry_their_article(store: Store) -> None:
    frame = export_frame(store, "signals")
    assert list(frame["title"]) == [
        "Data centres strain the power grid",
        "Small language models move onto phones",
        "Warehouse robots learn from video",
    ]
    assert list(frame["published"]) == ["2024-06-01", "2024-01-15", ""]
    assert {"name", "change", "ten_year", "driving_force", "url", "article_id"} <= set(frame)
    assert len(export_frame(store, "concerns")) == len(DANGEROUS) + 2
    assert list(export_frame(store, "signals", Filters.of(min_relevancy=5))["relevancy"]) == [5]
    assert set(export_frame(store, "issues", Filters.of(since=date(2024, 3, 1)))["published"]) == {
        "2024-06-01"
    }


def test_export_takes_every_filter(store: Store) -> None:
    by_tech = export_frame(store, "signals", Filters.of(technology="gpt 4"))
    assert list(by_tech["title"]) == ["Data centres strain the power grid"]
    early = export_frame(store, "articles", Filters.of(until=date(2024, 3, 1)))
    assert list(early["title"]) == ["Small language models move onto phones"]
    themed = export_frame(store, "all", Filters.of(theme="Robotics", site="www.example.org"))
    assert set(themed["title"]) == {"Warehouse robots learn from video"}
    assert export_frame(store, "concerns", Filters.of(site="elsewhere.example")).empty


def test_filters_are_normalised_once() -> None:
    given = Filters.of(kinds=["issues", "signals"], site=" a.example ", min_relevancy=0)
    assert given.kinds == ("signals", "issues") and given.site == "a.example"
    assert given.min_relevancy == 1 and Filters.of().kinds == KINDS
    assert given.params()["kind"] == ["signals", "issues"]


def test_all_and_articles_frames(store: Store) -> None:
    frame = export_frame(store, "all")
    assert list(frame.columns[:1]) == ["kind"] and set(frame["kind"]) == set(KINDS)
    assert len(frame) == store.count()["rows"]
    articles = export_frame(store, "articles")
    assert list(articles["n_concerns"]) == [1, len(DANGEROUS), 1]
    assert articles["incomplete"].dtype == bool


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["concerns", "signals", "articles"])
def test_formats_round_trip(store: Store, fmt: str, kind: str) -> None:
    frame = export_frame(store, kind)
    back = read_frame(render(frame, fmt, kind=kind), fmt)
    if fmt == "md":  # a Markdown cell holds one line: runs of whitespace become one space
        text = frame.select_dtypes(include="str").columns
        frame[text] = frame[text].apply(lambda col: col.str.split().str.join(" ").astype(str))
    pd.testing.assert_frame_equal(back, frame)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_spreadsheet_cells_are_neutralised(store: Store, fmt: str) -> None:
    data = render(export_frame(store, "concerns"), fmt, kind="concerns")
    if fmt == "csv":
        raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    else:
        raw = pd.read_excel(io.BytesIO(data), dtype=str, keep_default_na=False)
    cells = set(raw["description"])
    assert {"'" + text for text in DANGEROUS} <= cells
    formula_start = ("=", "+", "-", "@", "\t", "\r")
    assert not any(str(v).startswith(formula_start) for v in raw.to_numpy().ravel())


def test_xlsx_all_has_one_sheet_per_kind(store: Store) -> None:
    frame = export_frame(store, "all")
    data = render(frame, "xlsx", kind="all")
    sheets = pd.read_excel(io.BytesIO(data), sheet_name=None)
    assert list(sheets) == list(KINDS)
    for kind in KINDS:
        back = read_frame(data, "xlsx", sheet=kind)
        expected = export_frame(store, kind)
        pd.testing.assert_frame_equal(back, expected)


def test_md_all_is_one_table_per_kind(store: Store) -> None:
    text = render(export_frame(store, "all"), "md", kind="all").decode()
    assert [line for line in text.splitlines() if line.startswith("## ")] == [
        f"## {k.capitalize()}" for k in KINDS
    ]


def test_all_json_is_the_whole_records(store: Store) -> None:
    records = json.loads(export_bytes(store, "all", "json"))
    restored = [Article.model_validate(r) for r in records]
    assert restored == store.list_articles()
    md = export_bytes(store, "all", "md").decode()
    assert md.count("## Signals") == 3 and md.startswith("# __Data centres")
    recent = json.loads(export_bytes(store, "all", "json", Filters.of(since=date(2024, 3, 1))))
    assert [r["title"] for r in recent] == ["Data centres strain the power grid"]
