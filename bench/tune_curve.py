"""Held-out loss per task of the base model and of LoRA adapters: a learning curve by task.

usage: python bench/tune_curve.py PAIRS_DIR ADAPTER.gguf [ADAPTER.gguf ...] [--holdout 8]
       [--threads 2]

The held-out pairs are the ones `signalkb tune --holdout N` sets aside (the N smallest pair
hashes of PAIRS_DIR), so no adapter trained by `make tune` has seen them. For the base
SmolLM2 and each adapter (loaded into the same LoRA layers `signalkb tune` trains) it prints
the answer-token cross-entropy of each task, mean over the held-out pairs, as a Markdown
table. With the adapters of successive stages this is the learning curve per task: which
tasks are still learning and which have flattened.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.extract.tasks import TASK_NAMES  # noqa: E402
from ingest.tune.adapter import lora_state_from_adapter  # noqa: E402
from ingest.tune.chat import ChatEncoder, load_model, packaged_smollm2  # noqa: E402
from ingest.tune.lora import apply_lora, load_lora_state  # noqa: E402
from ingest.tune.pairs import read_pairs, split_pairs  # noqa: E402
from ingest.tune.train import TuneConfig, encode_pairs, example_loss  # noqa: E402


def per_task_loss(model: object, examples: list, device: str = "cpu") -> dict[str, float]:
    """Mean answer loss of each task over the examples (no gradients)."""
    import torch

    sums: dict[str, list[float]] = {}
    with torch.no_grad():
        for example in examples:
            _, tasks = example_loss(model, example, device)
            for task, loss in tasks.items():
                sums.setdefault(task, []).append(loss)
    return {task: sum(v) / len(v) for task, v in sums.items()}


def main() -> None:
    """Print one row per model: the held-out loss of each task and their mean."""
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", type=Path)
    parser.add_argument("adapters", type=Path, nargs="+")
    parser.add_argument("--holdout", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_path = packaged_smollm2()
    model, tokenizer = load_model(model_path)
    config = TuneConfig(pairs=str(args.pairs), output="unused")
    _, held = split_pairs(read_pairs(args.pairs), args.holdout)
    examples = encode_pairs(ChatEncoder(model_path, tokenizer), held, config)
    rows = [("base SmolLM2-135M-Instruct", per_task_loss(model, examples))]
    apply_lora(model, config.rank, config.alpha)
    cfg = model.config
    for adapter in args.adapters:
        _, state = lora_state_from_adapter(
            adapter,
            n_head=cfg.num_attention_heads,
            n_head_kv=getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads,
        )
        load_lora_state(model, state)
        rows.append((adapter.name, per_task_loss(model, examples)))
    tasks = [t for t in TASK_NAMES if any(t in losses for _, losses in rows)]
    print(f"held-out loss per task ({len(examples)} pairs)\n")
    print("| model | " + " | ".join(tasks) + " | mean |")
    print("|---|" + "---|" * (len(tasks) + 1))
    for name, losses in rows:
        cells = [f"{losses[t]:.3f}" if t in losses else "" for t in tasks]
        mean = sum(losses.values()) / len(losses)
        print(f"| {name} | " + " | ".join(cells) + f" | {mean:.3f} |")


if __name__ == "__main__":
    main()
