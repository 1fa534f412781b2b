"""`signalkb eval DIR`: records written in the layout, scored by the shared score.py."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.extract import ScriptedChatModel, register_backend
from ingest.extract.base import BACKENDS, ChatModel, Message
from kb.settings import Settings
from signalkb.cli import cli

DEV = Path("/work/shared/eval/dev")


def _reply(messages: list[Message], schema: object) -> str:
    prompt = messages[-1].content
    if schema is not None:
        return json.dumps({"kind": "model", "category": "technology", "type": "blog post"})
    if "summary" in prompt:
        return "The article discusses small language models and their business use."
    return prompt.split("\n")[0].removeprefix("Sentence: ").removeprefix("Trend: ")


def _scripted(settings: Settings) -> ChatModel:
    return ScriptedChatModel(responder=_reply)


@pytest.mark.slow
def test_eval_writes_records_and_prints_scores(tmp_path: Path) -> None:
    dev = tmp_path / "dev"
    dev.mkdir()
    for name in ("01_article.md", "01_gold.md"):
        shutil.copy(DEV / name, dev / name)
    register_backend("scripted-eval", _scripted)
    try:
        result = CliRunner().invoke(
            cli,
            [
                "--kb", str(tmp_path / "kb"), "eval", str(dev),
                "--backend", "scripted-eval", "-o", str(tmp_path / "out"),
                "--score", str(DEV.parent / "score.py"),
            ],
            catch_exceptions=False,
        )  # fmt: skip
    finally:
        BACKENDS.pop("scripted-eval")
    assert result.exit_code == 0, result.output
    record = (tmp_path / "out" / "01.md").read_text(encoding="utf-8")
    assert record.startswith("# __") and "## Signals" in record and "## Issues" in record
    lines = result.output.splitlines()
    assert any(line.startswith("01 ") for line in lines)
    mean = next(line for line in lines if line.startswith("mean "))
    assert "complete=1.00" in mean
    assert "groundedness=100.00%" in result.output
    assert "seconds_per_article=" in result.output


def test_eval_without_articles_is_an_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--kb", str(tmp_path / "kb"), "eval", str(tmp_path), "--score", __file__]
    )
    assert result.exit_code != 0
    assert "no NN_article.md" in result.output
