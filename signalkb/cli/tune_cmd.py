"""`signalkb tune PAIRS -o ADAPTER`: fine-tune the packaged SmolLM2 on record pairs (LoRA)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from signalkb.cli import cli


@cli.command()
@click.argument("pairs", type=click.Path(path_type=Path, exists=True))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="The GGUF LoRA adapter to write (its manifest goes next to it, .json).",
)
@click.option("--epochs", type=int, default=1, show_default=True, help="Passes over the pairs.")
@click.option("--steps", type=int, default=0, help="Stop after this many steps (0: epochs decide).")
@click.option("--lr", type=float, default=3e-4, show_default=True, help="AdamW learning rate.")
@click.option("--rank", type=int, default=16, show_default=True, help="LoRA rank.")
@click.option("--alpha", type=float, default=32.0, show_default=True, help="LoRA alpha.")
@click.option(
    "--max-tokens",
    type=int,
    default=1024,
    show_default=True,
    help="Longest task sequence (prompt + answer) in tokens; longer answers are cut.",
)
@click.option(
    "--max-words",
    type=int,
    default=None,
    help="Article words the tasks see (default: the extractor's, ingest.extract.tasks).",
)
@click.option("--tasks", default="", help="Comma-separated tasks to train (default: all of them).")
@click.option("--holdout", type=int, default=10, show_default=True, help="Pairs held out.")
@click.option("--limit", type=int, default=0, help="Train on the first N pairs only.")
@click.option("--seed", type=int, default=1234, show_default=True, help="Random seed.")
@click.option(
    "--checkpoint-every", type=int, default=10, show_default=True, help="Steps per checkpoint."
)
@click.option("--threads", type=int, default=0, help="CPU threads (0: by the machine's load).")
@click.option("--device", default="", help="cpu or cuda (default: cuda when present).")
@click.option("--resume", is_flag=True, help="Continue from ADAPTER.ckpt if it is there.")
@click.option(
    "--init-from",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Start from the LoRA weights of another run: its checkpoint (.ckpt) or a GGUF "
    "adapter of the same rank and alpha (a second stage).",
)
@click.option(
    "--base-model",
    "base_model",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    default=None,
    help="Base GGUF (default: the packaged SmolLM2-135M-Instruct).",
)
def tune(
    pairs: Path,
    output: Path,
    epochs: int,
    steps: int,
    lr: float,
    rank: int,
    alpha: float,
    max_tokens: int,
    max_words: int | None,
    tasks: str,
    holdout: int,
    limit: int,
    seed: int,
    checkpoint_every: int,
    threads: int,
    device: str,
    resume: bool,
    init_from: Path | None,
    base_model: Path | None,
) -> None:
    """Fine-tune the packaged SmolLM2-135M-Instruct on record pairs and write a LoRA adapter.

    PAIRS is a folder of NNN_article.md + NNN_gold.md, or the JSON of `signalkb export
    --kind all --format json` (records with their article text), so records a large model
    wrote can be distilled into the local one. The adapter is a llama.cpp GGUF LoRA adapter;
    a manifest (.json beside it) lists the pairs' hashes, the command, seed and losses.
    Needs the `tune` extra (transformers, gguf, accelerate).

    Example usage:

        \b
        signalkb tune ../shared/train -o data/adapters/smollm2-signalkb.gguf --steps 90
        signalkb tune export.json -o my.gguf --epochs 2 --resume
    """
    from ingest.extract.tasks import ARTICLE_WORDS, TASK_NAMES, get_task

    try:
        from ingest.tune.train import TuneConfig
        from ingest.tune.train import tune as run_tune
    except ImportError as exc:
        raise click.ClickException(
            f"tuning needs the tune extra (pip install 'signalkb[tune]'): {exc}"
        ) from exc
    chosen = tuple(t.strip() for t in tasks.split(",") if t.strip()) or TASK_NAMES
    try:
        for task in chosen:
            get_task(task)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--tasks") from exc
    config = TuneConfig(
        pairs=str(pairs),
        output=str(output),
        model=str(base_model or ""),
        tasks=chosen,
        epochs=epochs,
        steps=steps,
        lr=lr,
        rank=rank,
        alpha=alpha,
        max_words=max_words or ARTICLE_WORDS,
        max_tokens=max_tokens,
        holdout=holdout,
        limit=limit,
        seed=seed,
        checkpoint_every=checkpoint_every,
        threads=threads,
        device=device,
        init_from=str(init_from or ""),
    )
    try:
        result = run_tune(
            config,
            resume=resume,
            log=lambda line: click.echo(line, err=True),
            progress=sys.stderr.isatty(),
        )
    except (ValueError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(
        f"{output}: {result.steps} steps, train loss per epoch "
        f"{', '.join(f'{x:.3f}' for x in result.train_loss_per_epoch)}, held-out loss "
        f"{', '.join(f'{x:.3f}' for x in result.val_loss_per_epoch)}"
    )
