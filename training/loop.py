"""The training loop: deterministic epoch batches, the loss, clipped AdamW steps, checkpoints
and a progress line every ten seconds."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch.optim.lr_scheduler import LRScheduler

from moderation.network import ModerationNetwork
from training.checkpoints import save_checkpoint
from training.collate import collate
from training.config import TrainingArguments
from training.data import Encoded, epoch_batches
from training.log import Log, hms
from training.losses import batch_loss, positive_weights


def fit(network: ModerationNetwork, optimizer: torch.optim.Optimizer, schedule: LRScheduler,
        data: Sequence[Encoded], pad: int, args: TrainingArguments, *, step: int, total: int,
        checkpoint: Path, key: str, teacher_spans: Sequence[int], log: Log) -> None:
    """Train from ``step`` (steps already taken) to ``total``, checkpointing every
    ``args.checkpoint_every`` steps, at each epoch's end and at the last step."""
    pos_weight = positive_weights(data, args.max_pos_weight)
    lengths = [len(e.ids) for e in data]
    steps_per_epoch = math.ceil(len(data) / args.batch_size)
    network.train()
    started, done_since_start, last_log = time.monotonic(), 0, 0.0
    running = 0.0
    while step < total:
        epoch, offset = divmod(step, steps_per_epoch)
        batches = epoch_batches(len(data), lengths, args.batch_size, args.seed + args.draw, epoch)
        for batch_index in range(offset, len(batches)):
            if step >= total:
                break
            batch = collate([data[i] for i in batches[batch_index]], pad)
            seq, tok = network(batch["input_ids"], batch["attention_mask"])
            # Adapting keeps the start's calibration where the site is silent, so its scores
            # are matched unweighted there; a student is calibrated afresh.
            loss = batch_loss(seq, tok, batch, pos_weight, args.span_weight, args.distill_weight,
                              teacher_spans, weigh_teacher=args.init is None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(network.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            done_since_start += len(batches[batch_index])
            running = 0.98 * running + 0.02 * loss.item() if running else loss.item()
            end_of_epoch = batch_index == len(batches) - 1
            if step % args.checkpoint_every == 0 or end_of_epoch or step == total:
                save_checkpoint(checkpoint, network, optimizer, {
                    "step": step, "config": key, "schedule": schedule.state_dict()})
            now = time.monotonic()
            if now - last_log > 10 or step == total:
                last_log = now
                rate = done_since_start / max(now - started, 1e-9)
                eta = (total - step) * args.batch_size / max(rate, 1e-9)
                log(f"step {step}/{total} epoch {epoch + 1} loss {running:.4f} "
                    f"{rate:.1f} examples/s ETA {hms(eta)}")
    network.eval()
