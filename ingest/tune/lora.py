"""A small hand-written LoRA for the Llama-architecture models transformers builds from a GGUF.

`apply_lora(model, rank, alpha)` wraps the chosen `nn.Linear` projections of every decoder
layer in `LoRALinear` (the base weight frozen, `lora_a`/`lora_b` trained; `lora_b` starts at
zero so the wrapped model equals the base one), and freezes every other parameter.
`lora_weights(model)` lists the trained pairs by (layer, module) for the GGUF writer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

# transformers' Llama module name -> llama.cpp's GGUF tensor name (convert_hf_to_gguf).
GGUF_NAMES = {
    "q_proj": "attn_q",
    "k_proj": "attn_k",
    "v_proj": "attn_v",
    "o_proj": "attn_output",
    "gate_proj": "ffn_gate",
    "up_proj": "ffn_up",
    "down_proj": "ffn_down",
}
DEFAULT_TARGETS: tuple[str, ...] = tuple(GGUF_NAMES)


class LoRALinear(nn.Module):
    """`base(x) + (x @ A.T @ B.T) * alpha / rank`, with `base` frozen."""

    def __init__(self, base: nn.Linear, rank: int, alpha: float) -> None:
        super().__init__()
        self.base = base
        self.rank = rank
        self.alpha = alpha
        self.scale = alpha / rank
        self.lora_a = nn.Parameter(torch.empty(rank, base.in_features, dtype=base.weight.dtype))
        self.lora_b = nn.Parameter(torch.zeros(base.out_features, rank, dtype=base.weight.dtype))
        nn.init.kaiming_uniform_(self.lora_a, a=math.sqrt(5))
        base.weight.requires_grad_(False)
        if base.bias is not None:
            base.bias.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The base projection plus the low-rank update."""
        return self.base(x) + (x @ self.lora_a.T @ self.lora_b.T) * self.scale


@dataclass(frozen=True)
class LoRAWeight:
    """One trained pair: layer index, transformers module name, A (r x in), B (out x r)."""

    layer: int
    module: str
    a: torch.Tensor
    b: torch.Tensor


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder layers of a transformers causal LM (`model.model.layers`)."""
    inner = getattr(model, "model", model)
    layers = getattr(inner, "layers", None)
    if not isinstance(layers, nn.ModuleList):
        raise TypeError("not a Llama-style model: no model.layers")
    return layers


def _children(layer: nn.Module) -> dict[str, tuple[nn.Module, str]]:
    # module name -> (parent, attribute) for the attention and MLP projections
    found: dict[str, tuple[nn.Module, str]] = {}
    for parent_name in ("self_attn", "mlp"):
        parent = getattr(layer, parent_name, None)
        if parent is None:
            continue
        for name in GGUF_NAMES:
            if hasattr(parent, name):
                found[name] = (parent, name)
    return found


def apply_lora(
    model: nn.Module, rank: int, alpha: float, targets: tuple[str, ...] = DEFAULT_TARGETS
) -> list[nn.Parameter]:
    """Wrap `targets` in every layer with LoRA, freeze the rest; the trainable parameters."""
    unknown = set(targets) - set(GGUF_NAMES)
    if unknown:
        raise ValueError(f"unknown LoRA targets: {', '.join(sorted(unknown))}")
    for param in model.parameters():
        param.requires_grad_(False)
    params: list[nn.Parameter] = []
    for layer in decoder_layers(model):
        for name, (parent, attr) in _children(layer).items():
            if name not in targets:
                continue
            base = getattr(parent, attr)
            if isinstance(base, LoRALinear):
                raise ValueError("LoRA is already applied")
            wrapped = LoRALinear(base, rank, alpha)
            setattr(parent, attr, wrapped)
            params += [wrapped.lora_a, wrapped.lora_b]
    return params


def lora_weights(model: nn.Module) -> list[LoRAWeight]:
    """Every LoRA pair in the model, by layer then module, detached to CPU fp32."""
    out: list[LoRAWeight] = []
    for index, layer in enumerate(decoder_layers(model)):
        for name, (parent, attr) in _children(layer).items():
            module = getattr(parent, attr)
            if isinstance(module, LoRALinear):
                a = module.lora_a.detach().float().cpu()
                b = module.lora_b.detach().float().cpu()
                out.append(LoRAWeight(index, name, a, b))
    return out


def lora_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """The LoRA parameters only, by their module path (for checkpoints)."""
    return {
        name: param.detach().cpu().clone()
        for name, param in model.named_parameters()
        if name.endswith(("lora_a", "lora_b"))
    }


def load_lora_state(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Put checkpointed LoRA parameters back into a model wrapped by `apply_lora`."""
    params = dict(model.named_parameters())
    missing = [name for name in state if name not in params]
    if missing:
        raise ValueError(f"checkpoint does not fit the model: {missing[0]} ...")
    with torch.no_grad():
        for name, value in state.items():
            params[name].copy_(value.to(params[name].device, params[name].dtype))
