"""The training loss: masked multi-label cross-entropy on the gold labels, on the gold evidence
spans, and, when distilling, on a teacher's scores and evidence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from training.data import Encoded


def masked_bce(logits: torch.Tensor, target: torch.Tensor, known: torch.Tensor,
               pos_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Binary cross-entropy over known entries only: unknown labels give no gradient."""
    if not known.any():
        return logits.sum() * 0.0
    loss = nn.functional.binary_cross_entropy_with_logits(
        logits, target, pos_weight=pos_weight, reduction="none"
    )
    return (loss * known).sum() / known.sum()


def positive_weights(data: Sequence[Encoded], cap: float) -> torch.Tensor:
    known = np.stack([e.known for e in data]).sum(0)
    positive = np.stack([e.target * e.known for e in data]).sum(0)
    weight = np.where(positive > 0, (known - positive) / np.maximum(positive, 1), 1.0)
    return torch.tensor(np.clip(weight, 1.0, cap), dtype=torch.float32)


def batch_loss(seq: torch.Tensor, tok: torch.Tensor, batch: dict[str, torch.Tensor],
               pos_weight: torch.Tensor, span_weight: float, distill_weight: float,
               teacher_spans: Sequence[int], *, weigh_teacher: bool = True) -> torch.Tensor:
    """One batch's loss from the network's sequence (``seq``) and token (``tok``) logits.

    ``weigh_teacher`` weighs the teacher's scores by ``pos_weight`` too; without it they are
    matched as they are (the optimum of a weighted loss to a soft target p is wp / (wp + 1 - p),
    above p), as a model that keeps its teacher's calibration needs."""
    loss = masked_bce(seq, batch["target"], batch["known"], pos_weight)
    if batch["token_known"].any():
        loss = loss + span_weight * masked_bce(tok, batch["token_target"], batch["token_known"])
    if "soft" in batch:
        # Weighted as the gold labels are, so a rare label's few confident teacher
        # scores are not drowned by its many near-zero ones.
        distill = masked_bce(seq, batch["soft"], torch.ones_like(batch["known"]),
                             pos_weight if weigh_teacher else None)
        distill = distill + span_weight * masked_bce(
            tok[:, :, list(teacher_spans)], batch["token_soft"], batch["token_real"])
        loss = loss + distill_weight * distill
    return loss
