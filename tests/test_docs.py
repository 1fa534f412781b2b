"""The documentation keeps up with the code: every setting is in docs/settings.md, and the
README opens with the two commands."""

from __future__ import annotations

from pathlib import Path

from kb.settings import Settings
from kb.settings_doc import settings_markdown

ROOT = Path(__file__).parent.parent


def test_every_setting_is_documented() -> None:
    docs = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`SIGNALKB_{name.upper()}`" not in docs]
    assert not missing, f"settings missing from docs/settings.md: {missing}"
    assert docs == settings_markdown(), "regenerate: python -m kb.settings_doc > docs/settings.md"


def test_every_setting_has_help() -> None:
    assert all(field.description for field in Settings.model_fields.values())


def test_readme_opens_with_make_run_and_make_test() -> None:
    head = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:40])
    assert "make run" in head and "make test" in head
