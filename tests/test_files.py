"""Local files keep what they say about themselves: front matter, byline, PDF info."""

from __future__ import annotations

import io
import logging
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from ingest.html import title_from_text
from ingest.pdftext import reflow_pdf_text
from ingest.sources import load_document
from kb.settings import Settings
from tests.ingest_fixtures import PARAGRAPHS, minimal_pdf

BODY = "\n\n".join(PARAGRAPHS)


def write(tmp_path: Path, name: str, text: str) -> Path:
    """`text` saved as `name` under tmp_path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_markdown_front_matter_becomes_metadata(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "note.md",
        '---\ntitle: "Small models: a field report"\nauthor: Jane Doe\n'
        "date: 2026-01-28\ncanonical_url: https://Example.com/report/?utm_source=x\n---\n"
        "# A heading that is not the title\n\n" + BODY,
    )
    doc = load_document(str(path), Settings())
    assert doc.title == "Small models: a field report"
    assert (doc.author, doc.published) == ("Jane Doe", date(2026, 1, 28))
    assert (doc.url, doc.site) == ("https://example.com/report", "example.com")
    assert "---" not in doc.text and "canonical_url" not in doc.text
    assert doc.text.startswith("# A heading")


def test_front_matter_that_is_not_yaml_still_gives_its_fields(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "note.md",
        "---\ntitle: Small models: a field report\npublished: '2026-01-28T09:00:00Z'\n---\n" + BODY,
    )
    doc = load_document(str(path), Settings())
    assert doc.title == "Small models: a field report"
    assert doc.published == date(2026, 1, 28)
    assert doc.url == path.resolve().as_uri()
    assert doc.text.startswith(PARAGRAPHS[0])


def test_a_block_that_is_no_front_matter_stays_in_the_text(tmp_path: Path) -> None:
    path = write(tmp_path, "note.md", "---\n[not: yaml\n---\n\n# Title\n\n" + BODY)
    doc = load_document(str(path), Settings())
    assert doc.title == "Title"
    assert doc.text.startswith("---\n[not: yaml")
    assert (doc.author, doc.published) == ("", None)


@pytest.mark.parametrize(
    "byline",
    ["By Jane Doe | 28 January 2026", "By Jane Doe, 28 Jan 2026", "By Jane Doe — 2026-01-28"],
)
def test_text_byline_sets_author_and_date(tmp_path: Path, byline: str) -> None:
    path = write(tmp_path, "note.txt", f"Small models in clinics\n{byline}\n\n{BODY}")
    doc = load_document(str(path), Settings())
    assert (doc.title, doc.author, doc.published) == (
        "Small models in clinics",
        "Jane Doe",
        date(2026, 1, 28),
    )
    assert "Jane Doe" not in doc.text
    assert doc.text.startswith("Small models in clinics\n\n" + PARAGRAPHS[0])


def test_a_sentence_starting_with_by_is_not_a_byline(tmp_path: Path) -> None:
    path = write(tmp_path, "note.txt", f"By March, most clinics will run one.\n\n{BODY}")
    doc = load_document(str(path), Settings())
    assert doc.author == ""
    assert doc.text.startswith("By March, most clinics will run one.")


def test_text_without_heading_gets_a_short_title(tmp_path: Path) -> None:
    paragraph = (
        "Regional hospitals are moving clinical note-taking to small open-weight models "
        "that run on their own servers, because patient records may not leave the site. "
        "Vendors expect the market to double."
    )
    path = write(tmp_path, "note.txt", f"{paragraph}\n\n{BODY}")
    doc = load_document(str(path), Settings())
    assert doc.title == (
        "Regional hospitals are moving clinical note-taking to small open-weight models that run…"
    )


def test_title_from_text_rules() -> None:
    assert title_from_text("\nA plain title\nThe body starts here.") == "A plain title"
    one_line = "Hospitals adopt small models.\n\nMore."
    assert title_from_text(one_line) == "Hospitals adopt small models."
    wrapped = "Hospitals move clinical notes to\nsmall models on site. Then more."
    assert title_from_text(wrapped) == "Hospitals move clinical notes to small models on site"


def pdf_with_info(lines: list[str], info: dict[str, str]) -> bytes:
    """A one-page PDF holding `lines`, its info dictionary replaced by `info` (pypdf)."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(minimal_pdf(lines))))
    writer.metadata = None
    writer.add_metadata(info)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


PDF_LINES = [
    "Small models in clinics",
    "Regional hospitals are moving clinical note-taking to small open tech-",
    "nology that runs on site, and the market is expected to grow by more than 20 percent a",
    "year. Vendors say the hardware costs less than one nurse's annual training budget,",
    "and the records never leave the building.",
    "- first finding: notes are written in half the time",
    "Key findings",
    "The study followed twelve clinics for a year and compared notes before and after.",
]


def test_pdf_info_dictionary_gives_title_author_and_date(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(
        pdf_with_info(
            PDF_LINES,
            {
                "/Title": "Small models in clinics: a field report",
                "/Author": "Jane Doe",
                "/CreationDate": "D:20260128120000+01'00'",
            },
        )
    )
    doc = load_document(str(path), Settings())
    assert doc.title == "Small models in clinics: a field report"
    assert (doc.author, doc.published) == ("Jane Doe", date(2026, 1, 28))
    assert (
        "small open technology that runs on site, and the market is expected to grow by "
        "more than 20 percent a year."
    ) in doc.text
    assert "budget, and the records never leave the building." in doc.text
    assert "\n- first finding" in doc.text and "\nKey findings\nThe study" in doc.text


def test_pdf_falls_back_to_mod_date_and_ignores_a_tool_title(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(
        pdf_with_info(
            PDF_LINES, {"/Title": "Microsoft Word - draft3.docx", "/ModDate": "D:20251203"}
        )
    )
    doc = load_document(str(path), Settings())
    assert doc.title == "Small models in clinics"
    assert (doc.author, doc.published) == ("", date(2025, 12, 3))


def test_damaged_pdf_prints_no_pypdf_warnings(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    damaged = b"junk before the header\n" + minimal_pdf(PDF_LINES)
    path = tmp_path / "damaged.pdf"
    path.write_bytes(damaged)
    with caplog.at_level(logging.WARNING):
        doc = load_document(str(path), Settings())
    assert "Regional hospitals" in doc.text
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert capfd.readouterr().err == ""


def test_reflow_keeps_blank_lines_and_compound_words() -> None:
    text = "A well-\nknown tool, well-known to all,\nis used.\n\nNext paragraph\nstarts here."
    assert reflow_pdf_text(text) == (
        "A well-known tool, well-known to all, is used.\n\nNext paragraph starts here."
    )
