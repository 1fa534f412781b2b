"""LoRA fine-tuning of the packaged SmolLM2-135M-Instruct on record pairs (`signalkb tune`).

One step is one article with all its tasks (ingest/extract/tasks.py). The tasks' chats share
their beginning (system turn and article), so the article is run through the model once and
its keys/values are reused by every task's instruction + answer, as llama.cpp's prefix cache
does at inference; the loss is the same as running each task alone (a test checks it), at a
fraction of the cost. Loss is on the answer tokens only, averaged per task then over tasks.

Deterministic: a fixed seed sets the LoRA's initial weights and each epoch's order, and a
step's data depends only on its index, so a run resumed from a checkpoint continues exactly.
A checkpoint (`ADAPTER.ckpt`) is written every `checkpoint_every` steps and at the end; the
held-out loss (a fixed slice of the pairs, never val/) is measured before training and after
each epoch.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.extract.tasks import ARTICLE_WORDS, TASK_NAMES
from ingest.tune.chat import ChatEncoder, TaskTokens, load_model, packaged_smollm2
from ingest.tune.pairs import Pair, read_pairs, split_pairs

Log = Callable[[str], None]


@dataclass
class TuneConfig:
    """Everything that decides a training run (recorded in the manifest)."""

    pairs: str
    output: str
    model: str = ""  # GGUF path; empty: the packaged SmolLM2-135M-Instruct
    tasks: tuple[str, ...] = TASK_NAMES
    epochs: int = 1
    steps: int = 0  # stop after this many steps in all (0: epochs decide)
    lr: float = 3e-4
    rank: int = 16
    alpha: float = 32.0
    max_words: int = ARTICLE_WORDS
    max_tokens: int = 1024  # per task: prompt + answer
    holdout: int = 10
    limit: int = 0  # use only the first N training pairs (0: all)
    seed: int = 1234
    warmup: int = 10
    checkpoint_every: int = 10
    threads: int = 0  # 0: all cores
    device: str = ""  # "": cuda when present, else cpu
    init_from: str = ""  # a checkpoint (.ckpt) whose LoRA weights start this run


@dataclass
class Example:
    """One article's tasks, tokenized: the shared prefix and each task's suffix."""

    name: str
    prefix: list[int]
    suffixes: list[tuple[str, list[int], int]]  # task, ids, index of the first answer id


@dataclass
class TuneResult:
    """What a finished run reports."""

    steps: int
    steps_per_epoch: int = 0
    losses: list[float] = field(default_factory=list)
    train_loss_per_epoch: list[float] = field(default_factory=list)
    val_loss_per_epoch: list[float] = field(default_factory=list)  # [before, after epoch 1...]
    seconds: float = 0.0
    seen: list[str] = field(default_factory=list)  # names of the pairs the steps used


def build_example(name: str, tasks: list[TaskTokens]) -> Example:
    """Split the tasks' sequences at their longest common prefix (keeping at least one
    prompt token in each suffix, so every answer token is predicted inside its suffix)."""
    prompts = [t.prompt for t in tasks]
    n = min(len(p) for p in prompts) - 1
    for i in range(n):
        if any(p[i] != prompts[0][i] for p in prompts):
            n = i
            break
    prefix = prompts[0][:n]
    suffixes = [(t.task, t.prompt[n:] + t.answer, len(t.prompt) - n) for t in tasks]
    return Example(name, prefix, suffixes)


def encode_pairs(encoder: ChatEncoder, pairs: list[Pair], config: TuneConfig) -> list[Example]:
    """Tokenized examples; a pair with no answer for any task is left out."""
    examples = []
    for pair in pairs:
        tasks = [
            t
            for task in config.tasks
            if (
                t := encoder.encode(
                    task,
                    pair.article,
                    pair.gold,
                    max_words=config.max_words,
                    max_tokens=config.max_tokens,
                )
            )
            is not None
        ]
        if tasks:
            examples.append(build_example(pair.name, tasks))
    return examples


def _cache_arg(model: Any) -> str:
    # transformers 5.2x renamed `past_key_values` to `cache` (the old name warns).
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _prefix_cache(model: Any, prefix_ids: Any) -> list[tuple[Any, Any]]:
    # The article's keys and values per layer, with their graph (gradients flow through).
    out = model.model(input_ids=prefix_ids, use_cache=True)
    cache = getattr(out, "cache", None) or out.past_key_values
    if hasattr(cache, "layers"):
        return [(layer.keys, layer.values) for layer in cache.layers]
    return [(cache.key_cache[i], cache.value_cache[i]) for i in range(len(cache.key_cache))]


def _fresh_cache(model: Any, kv: list[tuple[Any, Any]]) -> Any:
    from transformers import DynamicCache

    try:
        cache = DynamicCache(config=model.config)
    except TypeError:
        cache = DynamicCache()
    for index, (keys, values) in enumerate(kv):
        cache.update(keys, values, index)
    return cache


def example_loss(model: Any, example: Example, device: str) -> tuple[Any, dict[str, float]]:
    """Mean over tasks of the mean cross-entropy on each task's answer tokens."""
    import torch
    import torch.nn.functional as F

    kv = None
    if example.prefix:
        kv = _prefix_cache(model, torch.tensor([example.prefix], device=device))
    cache_arg = _cache_arg(model)
    total = torch.zeros((), device=device)
    per_task: dict[str, float] = {}
    for task, ids, answer_at in example.suffixes:
        input_ids = torch.tensor([ids], device=device)
        cache = _fresh_cache(model, kv) if kv is not None else None
        out = model(input_ids=input_ids, use_cache=cache is not None, **{cache_arg: cache})
        logits = out.logits[0, answer_at - 1 : -1].float()
        labels = input_ids[0, answer_at:]
        loss = F.cross_entropy(logits, labels)
        per_task[task] = float(loss.detach())
        total = total + loss
    return total / len(example.suffixes), per_task


def sequence_loss(model: Any, tokens: TaskTokens, device: str) -> Any:
    """One task's answer loss computed on its whole sequence (the reference for tests)."""
    import torch
    import torch.nn.functional as F

    ids = torch.tensor([tokens.prompt + tokens.answer], device=device)
    logits = model(input_ids=ids).logits[0].float()
    start = len(tokens.prompt)
    return F.cross_entropy(logits[start - 1 : -1], ids[0, start:])


def _order(n: int, epoch: int, seed: int) -> list[int]:
    import torch

    generator = torch.Generator().manual_seed(seed * 1000 + epoch)
    return torch.randperm(n, generator=generator).tolist()


def seen_examples(names: list[str], total: int, seed: int) -> list[str]:
    """The names of the examples `total` steps go through (each once, in first-seen order)."""
    seen: dict[str, None] = {}
    for step in range(total):
        epoch, at = divmod(step, len(names))
        seen.setdefault(names[_order(len(names), epoch, seed)[at]], None)
    return list(seen)


def _lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def evaluate(model: Any, examples: list[Example], device: str) -> float:
    """Mean answer loss over examples, without gradients."""
    import torch

    if not examples:
        return float("nan")
    was_training = model.training
    model.eval()
    with torch.no_grad():
        losses = [float(example_loss(model, ex, device)[0]) for ex in examples]
    model.train(was_training)
    return sum(losses) / len(losses)


def _initial_lora(config: TuneConfig, model: Any, say: Log) -> dict[str, Any]:
    """The LoRA weights `--init-from` names: another run's checkpoint, or a GGUF adapter
    (the shipped one, say) whose rank and alpha match this run's."""
    import torch

    path = Path(config.init_from)
    if path.suffix != ".gguf":
        start = torch.load(path, map_location="cpu", weights_only=False)
        say(f"LoRA weights from {path} (step {start['step']} of that run)")
        return dict(start["lora"])
    from ingest.tune.adapter import lora_state_from_adapter

    cfg = model.config
    alpha, state = lora_state_from_adapter(
        path,
        n_head=cfg.num_attention_heads,
        n_head_kv=getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads,
    )
    rank = next(v.shape[0] for k, v in state.items() if k.endswith("lora_a"))
    if rank != config.rank or abs(alpha - config.alpha) > 1e-6:
        raise ValueError(
            f"{path} has rank {rank}, alpha {alpha:g}; this run has rank {config.rank}, "
            f"alpha {config.alpha:g} (pass --rank {rank} --alpha {alpha:g})"
        )
    say(f"LoRA weights from the adapter {path}")
    return state


def checkpoint_path(output: Path) -> Path:
    """Where a run writing `output` keeps its checkpoint."""
    return output.with_name(output.name + ".ckpt")


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    import torch

    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    tmp.replace(path)


def tune(
    config: TuneConfig,
    *,
    resume: bool = False,
    log: Log | None = None,
    progress: bool = False,
    model_and_tokenizer: tuple[Any, Any] | None = None,
) -> TuneResult:
    """Train a LoRA on `config.pairs`, write the GGUF adapter to `config.output` (and its
    manifest next to it, `.json`); returns the losses."""
    import torch

    from ingest.tune.adapter import write_adapter
    from ingest.tune.lora import apply_lora, load_lora_state, lora_state, lora_weights

    say = log or (lambda _msg: None)
    started = time.monotonic()
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    torch.set_num_threads(config.threads or auto_threads())
    torch.manual_seed(config.seed)
    torch.use_deterministic_algorithms(True, warn_only=True)
    output = Path(config.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    model_path = Path(config.model) if config.model else packaged_smollm2()

    pairs = read_pairs(Path(config.pairs))
    if not pairs:
        raise ValueError(f"no pairs found in {config.pairs}")
    train_pairs, held_pairs = split_pairs(pairs, config.holdout)
    if config.limit:
        train_pairs = train_pairs[: config.limit]
    say(f"{len(train_pairs)} training pairs, {len(held_pairs)} held out; loading {model_path.name}")

    if model_and_tokenizer is None:
        model, tokenizer = load_model(model_path, device=device)
    else:
        model, tokenizer = model_and_tokenizer
        model.to(device)
    encoder = ChatEncoder(model_path, tokenizer)
    train_examples = encode_pairs(encoder, train_pairs, config)
    held_examples = encode_pairs(encoder, held_pairs, config)
    if not train_examples:
        raise ValueError("no training examples (no pair has an answer for the chosen tasks)")
    n_tokens = sum(len(e.prefix) + sum(len(s[1]) for s in e.suffixes) for e in train_examples)
    say(f"{len(train_examples)} examples, {n_tokens / len(train_examples):.0f} tokens per step")

    params = apply_lora(model, config.rank, config.alpha)
    if config.init_from:
        load_lora_state(model, _initial_lora(config, model, say))
    model.to(device)
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    per_epoch = len(train_examples)
    total = config.epochs * per_epoch
    if config.steps:
        total = min(total, config.steps) if config.epochs else config.steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: _lr_factor(s, total, config.warmup)
    )
    result = TuneResult(steps=total, steps_per_epoch=per_epoch)
    step = 0
    ckpt = checkpoint_path(output)
    fingerprint = _fingerprint(config, pairs)
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location="cpu", weights_only=False)
        if state["fingerprint"] != fingerprint:
            raise ValueError(f"{ckpt} is from a different run (pairs or settings differ)")
        load_lora_state(model, state["lora"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = state["step"]
        result.losses = state["losses"]
        result.train_loss_per_epoch = state["train_loss_per_epoch"]
        result.val_loss_per_epoch = state["val_loss_per_epoch"]
        say(f"resumed from {ckpt} at step {step}/{total}")

    def save() -> None:
        _save_checkpoint(
            ckpt,
            {
                "fingerprint": fingerprint,
                "config": asdict(config),
                "step": step,
                "lora": lora_state(model),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "losses": result.losses,
                "train_loss_per_epoch": result.train_loss_per_epoch,
                "val_loss_per_epoch": result.val_loss_per_epoch,
            },
        )

    if step == 0 and held_examples:
        val = evaluate(model, held_examples, device)
        result.val_loss_per_epoch.append(val)
        say(f"held-out loss before training: {val:.4f}")

    model.train()
    bar = _Progress(total, step, progress, say)
    try:
        while step < total:
            epoch, at = divmod(step, per_epoch)
            example = train_examples[_order(per_epoch, epoch, config.seed)[at]]
            loss, _ = example_loss(model, example, device)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            scheduler.step()
            step += 1
            result.losses.append(float(loss.detach()))
            bar.advance(step, result.losses)
            if step % per_epoch == 0 or step == total:
                done = (step - 1) // per_epoch + 1
                epoch_losses = result.losses[(done - 1) * per_epoch : step]
                result.train_loss_per_epoch.append(sum(epoch_losses) / len(epoch_losses))
                line = f"epoch {done}: train loss {result.train_loss_per_epoch[-1]:.4f}"
                if held_examples:
                    result.val_loss_per_epoch.append(evaluate(model, held_examples, device))
                    line += f", held-out loss {result.val_loss_per_epoch[-1]:.4f}"
                bar.note(line)
            if step % config.checkpoint_every == 0 or step == total:
                save()
    finally:
        bar.close()

    cfg = model.config
    write_adapter(
        output,
        lora_weights(model),
        alpha=config.alpha,
        n_head=cfg.num_attention_heads,
        n_head_kv=getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads,
    )
    result.seconds = time.monotonic() - started
    result.seen = seen_examples([e.name for e in train_examples], total, config.seed)
    write_manifest(output, config, result, pairs, held_pairs, train_pairs, model_path, device)
    say(f"wrote {output} ({output.stat().st_size / 1e6:.1f} MB) in {result.seconds:.0f} s")
    return result


def export_checkpoint(
    ckpt: Path, output: Path, *, alpha: float | None = None, model_path: Path | None = None
) -> Path:
    """Write the adapter from a checkpoint (`ADAPTER.ckpt`), e.g. of a run cut short."""
    import re

    import torch

    from ingest.tune.adapter import write_adapter
    from ingest.tune.chat import gguf_metadata
    from ingest.tune.lora import LoRAWeight

    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    alpha = alpha if alpha is not None else state.get("config", {}).get("alpha")
    if alpha is None:
        raise ValueError(f"{ckpt} does not record the LoRA alpha: pass it")
    pairs: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for name, tensor in state["lora"].items():
        match = re.search(r"layers\.(\d+)\.\w+\.(\w+)\.(lora_[ab])$", name)
        if match is None:
            raise ValueError(f"unexpected LoRA parameter {name}")
        key = (int(match.group(1)), match.group(2))
        pairs.setdefault(key, {})[match.group(3)] = tensor.float()
    weights = [
        LoRAWeight(layer, module, ab["lora_a"], ab["lora_b"])
        for (layer, module), ab in sorted(pairs.items())
    ]
    meta = gguf_metadata(Path(model_path or packaged_smollm2()))
    return write_adapter(
        output, weights, alpha=float(alpha), n_head=meta["n_head"], n_head_kv=meta["n_head_kv"]
    )


def auto_threads() -> int:
    """All cores on a quiet machine, one on a busy one: torch's threads wait on each other at
    every op, and on a shared 2-core machine (load ~11) two threads ran a step 8x slower
    than one (measured)."""
    cores = os.cpu_count() or 1
    busy = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return cores if busy < cores / 2 else 1


def _fingerprint(config: TuneConfig, pairs: list[Pair]) -> str:
    import hashlib

    settings = {k: v for k, v in asdict(config).items() if k not in ("output", "threads", "device")}
    blob = json.dumps([settings, [p.hash for p in pairs]], sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def write_manifest(
    output: Path,
    config: TuneConfig,
    result: TuneResult,
    pairs: list[Pair],
    held: list[Pair],
    trained: list[Pair],
    model_path: Path,
    device: str,
) -> Path:
    """The adapter's manifest (`ADAPTER` with `.json`): what it learned from, by hash, and how."""
    import hashlib
    import shlex
    import sys

    import torch
    import transformers

    digest = hashlib.sha256()
    with model_path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    manifest = {
        "adapter": output.name,
        "adapter_sha256": hashlib.sha256(output.read_bytes()).hexdigest(),
        "base_model": model_path.name,
        "base_model_sha256": digest.hexdigest(),
        "format": "llama.cpp GGUF LoRA adapter (general.type=adapter, adapter.type=lora)",
        "command": os.environ.get("SIGNALKB_TUNE_COMMAND") or shlex.join(sys.argv),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": {**asdict(config), "tasks": list(config.tasks)},
        "seed": config.seed,
        "steps": result.steps,
        "steps_per_epoch": result.steps_per_epoch,
        "wall_seconds": round(result.seconds, 1),
        "device": device if device != "cpu" else f"cpu ({os.cpu_count()} cores)",
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        },
        "train_loss_per_epoch": [round(x, 4) for x in result.train_loss_per_epoch],
        "val_loss_per_epoch": [round(x, 4) for x in result.val_loss_per_epoch],
        "val_loss_note": "held-out pairs of the training folder; the first is before training",
        "losses": [round(x, 4) for x in result.losses],
        "pairs": [{"name": p.name, "hash": p.hash} for p in trained],
        "pairs_note": "the training pairs; pairs_seen: those the steps went through",
        "pairs_seen": sorted(result.seen),
        "held_out": [{"name": p.name, "hash": p.hash} for p in held],
        "pairs_total": len(pairs),
    }
    path = output.with_suffix(".json")
    path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    return path


class _Progress:
    """A rich progress bar (loss, ETA) on a terminal; a log line every few steps elsewhere."""

    def __init__(self, total: int, start: int, on_terminal: bool, log: Log) -> None:
        self.total = total
        self.start = start
        self.log = log
        self.t0 = time.monotonic()
        self.bar: Any = None
        if on_terminal:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(
                TextColumn("tune"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("loss {task.fields[loss]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            )
            self.bar.start()
            self.task = self.bar.add_task("tune", total=total, completed=start, loss="-")

    def advance(self, step: int, losses: list[float]) -> None:
        """Show step `step` done, with the loss averaged over the last 10 steps."""
        recent = losses[-10:]
        loss = sum(recent) / len(recent)
        if self.bar is not None:
            self.bar.update(self.task, completed=step, loss=f"{loss:.3f}")
            return
        done = step - self.start
        if done == 1 or step % 5 == 0 or step == self.total:
            per_step = (time.monotonic() - self.t0) / done
            eta = int(per_step * (self.total - step))
            self.log(
                f"step {step}/{self.total} loss {losses[-1]:.4f} (last 10: {loss:.4f}) "
                f"{per_step:.1f} s/step ETA {eta // 60}m{eta % 60:02d}s"
            )

    def note(self, line: str) -> None:
        """A line above the bar (or in the log)."""
        if self.bar is not None:
            self.bar.console.print(line)
        else:
            self.log(line)

    def close(self) -> None:
        """Stop the bar."""
        if self.bar is not None:
            self.bar.stop()
