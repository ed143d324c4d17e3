"""The optimiser and its learning-rate schedule."""

from __future__ import annotations

import torch

from moderation.network import ModerationNetwork
from training.config import TrainingArguments


def make_optimizer(network: ModerationNetwork, args: TrainingArguments) -> torch.optim.AdamW:
    heads = [p for n, p in network.named_parameters() if p.requires_grad and not n.startswith("encoder.")]
    encoder = [p for n, p in network.named_parameters() if p.requires_grad and n.startswith("encoder.")]
    # No decay on the heads: a label whose loss is masked everywhere gets no update at all.
    return torch.optim.AdamW(
        [{"params": encoder, "lr": args.learning_rate, "weight_decay": args.weight_decay},
         {"params": heads, "lr": args.head_learning_rate, "weight_decay": 0.0}],
    )


def lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / max(1, warmup)
    return max(0.0, (total - step) / max(1, total - warmup))
