"""`signalkb eval DIR`: run the extractor on dev articles and score it against gold records.

Scoring uses the shared `score.py` as it is (run in a subprocess), so figures compare
across backends, models and sessions.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import click

from ingest.document import Document
from kb.errors import SignalKBError
from kb.markdown import record_markdown
from kb.records import Article
from signalkb.cli import Context, cli


@dataclass
class EvalRow:
    """The extractor's run on one dev article."""

    nn: str
    seconds: float
    rows: int
    grounded_rows: int
    incomplete: bool
    error: str = ""


def article_document(path: Path) -> Document:
    """A dev article file as a Document (title from its first heading)."""
    text = path.read_text(encoding="utf-8")
    title = next((ln.strip("# ").strip() for ln in text.splitlines() if ln.strip()), path.stem)
    return Document(source=str(path), url=path.resolve().as_uri(), title=title, text=text)


def grounded_count(article: Article, text: str) -> tuple[int, int]:
    """(rows, rows whose evidence is verbatim in the text after whitespace normalisation)."""
    from ingest.extract.text import is_verbatim

    items = [item for _, _, item in article.all_items()]
    return len(items), sum(1 for item in items if is_verbatim(item.evidence, text))


def run_scorer(score_py: Path, gold_dir: Path, out_dir: Path) -> tuple[str, dict[str, dict]]:
    """Run score.py; returns its table (text) and its per-article figures."""
    proc = subprocess.run(
        [sys.executable, str(score_py), str(gold_dir), str(out_dir), "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise click.ClickException(f"{score_py} failed: {proc.stderr.strip()[-500:]}")
    out = proc.stdout
    table_at = out.find("\nnn ")
    figures = json.loads(out[: table_at + 1]) if table_at >= 0 else {}
    return out[table_at + 1 :], figures


@cli.command("eval")
@click.argument("directory", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option(
    "-o",
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where to write NN.md records (default: a fresh directory under the KB home).",
)
@click.option("--backend", help="Backend (llamacpp, openai, ...).")
@click.option("--model", help="GGUF path or packaged model name.")
@click.option(
    "--score",
    "score_py",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The scoring script (default: score.py beside DIRECTORY).",
)
@click.pass_obj
def eval_command(
    ctx: Context,
    directory: Path,
    out: Path | None,
    backend: str | None,
    model: str | None,
    score_py: Path | None,
) -> None:
    """Extract every NN_article.md in DIRECTORY and score the records against NN_gold.md.

    Prints score.py's per-article rows and mean, then groundedness (share of rows whose
    evidence is verbatim in the article) and seconds per article.

    Example usage:

        \b
        signalkb eval ../shared/eval/dev --model gemma3 -o /tmp/eval-gemma3
    """
    updates = {k: v for k, v in (("backend", backend), ("model", model)) if v}
    settings = ctx.settings.model_copy(update=updates)
    score_py = score_py or directory.resolve().parent / "score.py"
    if not score_py.is_file():
        raise click.ClickException(f"{score_py}: scoring script not found (use --score)")
    articles = sorted(directory.glob("*_article.md"))
    if not articles:
        raise click.ClickException(f"{directory}: no NN_article.md files")
    out = out or settings.home / "eval" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    extractor = ctx.parts.extractor(settings, ctx.parts.embedder(settings))
    results: list[EvalRow] = []
    dropped: Counter[str] = Counter()
    for path in articles:
        nn = path.name.split("_")[0]
        document = article_document(path)
        start = time.monotonic()
        try:
            article = extractor.extract(document)
        except SignalKBError as exc:
            results.append(EvalRow(nn, time.monotonic() - start, 0, 0, True, str(exc)))
            click.echo(f"{nn}: failed: {exc}", err=True)
            continue
        seconds = time.monotonic() - start
        (out / f"{nn}.md").write_text(record_markdown(article), encoding="utf-8")
        rows, grounded = grounded_count(article, document.text)
        results.append(EvalRow(nn, seconds, rows, grounded, article.incomplete))
        click.echo(f"{nn}: {seconds:.1f} s, {rows} rows, {grounded} grounded", err=True)
        report = getattr(extractor, "last_report", None)
        if report is not None:  # the tuned extractor says what grounding removed
            dropped.update({"rows written": report.rows_written, **report.rows_dropped})
            dropped["summary sentences dropped"] += report.summary_sentences_dropped
            dropped["technologies added"] += report.technologies_added
            dropped["tables asked again"] += report.tables_asked_again
            dropped["tables from sentences"] += report.tables_from_sentences
    table, _ = run_scorer(score_py, directory, out)
    model_id = getattr(getattr(extractor, "model", None), "model_id", type(extractor).__name__)
    click.echo(f"extractor: {model_id}")
    click.echo(table.rstrip())
    total_rows = sum(r.rows for r in results)
    grounded = sum(r.grounded_rows for r in results)
    share = grounded / total_rows if total_rows else 0.0
    per_article = sum(r.seconds for r in results) / len(results)
    words = sum(len(re.findall(r"\S+", p.read_text(encoding="utf-8"))) for p in articles)
    click.echo(
        f"groundedness={share:.2%} ({grounded}/{total_rows} rows) "
        f"seconds_per_article={per_article:.1f} words_per_article={words / len(articles):.0f} "
        f"incomplete={sum(r.incomplete for r in results)} "
        f"failed={sum(bool(r.error) for r in results)}"
    )
    if dropped:
        click.echo("grounding: " + ", ".join(f"{k}={n}" for k, n in dropped.items()))
    click.echo(f"records: {out}")
