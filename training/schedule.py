"""The optimiser and its learning-rate schedule."""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.lr_scheduler import LRScheduler

from moderation import compat
from moderation.errors import ConfigError
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


def make_schedule(optimizer: torch.optim.Optimizer, total: int, warmup: int,
                  done: int = 0) -> LRScheduler:
    """Each step's learning rates, set on ``optimizer`` for the step after the ``done`` ones
    and moved on by ``step()`` after each optimiser step.

    Step n of ``total`` (counting from 1) runs at n / warmup of the base rates while n <= warmup,
    at the base rates once more at n = warmup + 1, then at (total - n + 1) / (total - warmup).
    That is transformers' warmup-stable-decay schedule with a one-step plateau, counted from 1.
    Its linear warmup helper counts from 0: its first step runs at rate 0 and its warmup is a
    step behind this curve (counted from 1, its decay is a step ahead), which would change how
    every model so far was trained.
    """
    return compat.linear_warmup_decay(optimizer, warmup, 1, total - warmup, position=done)


def restore_schedule(schedule: LRScheduler, saved: dict[str, Any], done: int, where: str) -> None:
    """Put a schedule made by ``make_schedule(..., done)`` where a checkpoint's was
    (``saved``: its ``state_dict()``, JSON), and the optimiser's rates with it."""
    if saved.get("last_epoch") != done + 1:
        raise ConfigError(f"{where}: its learning-rate schedule is at step "
                          f"{saved.get('last_epoch')}, not {done + 1}; start afresh without --resume")
    schedule.load_state_dict(saved)
    for group, lr in zip(schedule.optimizer.param_groups, schedule.get_last_lr(), strict=True):
        group["lr"] = lr
