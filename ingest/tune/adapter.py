"""Write a LoRA as a llama.cpp GGUF adapter (the format of llama.cpp's convert_lora_to_gguf.py).

Metadata: `general.architecture` (the base model's, llama.cpp refuses a mismatch),
`general.type = adapter`, `adapter.type = lora`, `adapter.lora.alpha`. Tensors:
`blk.N.<tensor>.weight.lora_a` with numpy shape (rank, in) and `.lora_b` with (out, rank),
so that in ggml's reversed order a's ne[0] is the base weight's ne[0] and b's ne[1] its
ne[1], which is what llama.cpp's adapter loader checks. llama.cpp scales by alpha / rank.

The row permutation: convert_hf_to_gguf stores `attn_q`/`attn_k` with their rows permuted
for its rotary layout (`LlamaModel.permute`), and transformers undoes that when it loads a
GGUF. The trained LoRA lives in transformers' order, so `lora_b` of q and k (whose rows are
the weight's output rows) gets the same permutation here; `lora_a` (input columns) does not.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.tune.lora import GGUF_NAMES, LoRAWeight

if TYPE_CHECKING:
    import torch


def permute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    """convert_hf_to_gguf's `LlamaModel.permute` (rows of a q or k projection, n_head heads)."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def unpermute_rows(weights: np.ndarray, n_head: int) -> np.ndarray:
    """The inverse of `permute_rows`: GGUF's rotary row order back to transformers' order."""
    return (
        weights.reshape(n_head, weights.shape[0] // n_head // 2, 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def write_adapter(
    path: Path,
    weights: list[LoRAWeight],
    *,
    alpha: float,
    n_head: int,
    n_head_kv: int,
    architecture: str = "llama",
    name: str = "signalkb",
    permute: bool = True,
    dtype: str = "f16",
) -> Path:
    """Write `weights` to `path` as a GGUF LoRA adapter; `permute=False` is for tests only."""
    import gguf

    if not weights:
        raise ValueError("no LoRA weights to write")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), arch=architecture)
    writer.add_string("general.type", "adapter")
    writer.add_string("general.name", name)
    writer.add_string("adapter.type", "lora")
    writer.add_float32("adapter.lora.alpha", float(alpha))
    np_dtype = np.float16 if dtype == "f16" else np.float32
    for w in weights:
        a = w.a.numpy().astype(np.float32)
        b = w.b.numpy().astype(np.float32)
        if permute and w.module == "q_proj":
            b = permute_rows(b, n_head)
        elif permute and w.module == "k_proj":
            b = permute_rows(b, n_head_kv)
        base = f"blk.{w.layer}.{GGUF_NAMES[w.module]}.weight"
        writer.add_tensor(f"{base}.lora_a", np.ascontiguousarray(a.astype(np_dtype)))
        writer.add_tensor(f"{base}.lora_b", np.ascontiguousarray(b.astype(np_dtype)))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(path)
    return path


def read_adapter(path: Path) -> tuple[dict[str, object], dict[str, np.ndarray]]:
    """An adapter's metadata (scalars and strings) and tensors, as written (for tests)."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    meta: dict[str, object] = {}
    for field in reader.fields.values():
        if not field.types or field.name.startswith("GGUF."):
            continue
        if field.types[0] == gguf.GGUFValueType.STRING:
            meta[field.name] = bytes(field.parts[field.data[0]]).decode("utf-8")
        elif field.types[0] != gguf.GGUFValueType.ARRAY:
            meta[field.name] = field.parts[field.data[0]][0].item()
    tensors = {
        t.name: np.array(t.data).reshape([int(n) for n in reversed(t.shape)])
        for t in reader.tensors
    }
    return meta, tensors


_PARENTS = {
    "q_proj": "self_attn",
    "k_proj": "self_attn",
    "v_proj": "self_attn",
    "o_proj": "self_attn",
    "gate_proj": "mlp",
    "up_proj": "mlp",
    "down_proj": "mlp",
}


def lora_state_from_adapter(
    path: Path, *, n_head: int, n_head_kv: int
) -> tuple[float, dict[str, torch.Tensor]]:
    """An adapter `write_adapter` wrote, as (alpha, LoRA state by module path) for
    `ingest.tune.lora.load_lora_state`: a run can start from a shipped adapter."""
    import torch

    meta, tensors = read_adapter(path)
    if meta.get("adapter.type") != "lora":
        raise ValueError(f"{path} is not a LoRA adapter (adapter.type={meta.get('adapter.type')})")
    modules = {gguf_name: module for module, gguf_name in GGUF_NAMES.items()}
    state: dict[str, torch.Tensor] = {}
    for name, value in tensors.items():
        parts = name.split(".")  # blk.N.<gguf name>.weight.lora_a|lora_b
        if len(parts) != 5 or parts[0] != "blk" or parts[2] not in modules:
            raise ValueError(f"{path}: unexpected tensor {name}")
        layer, module, half = int(parts[1]), modules[parts[2]], parts[4]
        array = value.astype(np.float32)
        if half == "lora_b" and module == "q_proj":
            array = unpermute_rows(array, n_head)
        elif half == "lora_b" and module == "k_proj":
            array = unpermute_rows(array, n_head_kv)
        key = f"model.layers.{layer}.{_PARENTS[module]}.{module}.{half}"
        state[key] = torch.from_numpy(np.ascontiguousarray(array))
    return float(str(meta.get("adapter.lora.alpha", 0.0))), state
