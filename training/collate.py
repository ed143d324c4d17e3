"""Encoded examples to the padded tensors of one batch: model inputs, gold targets and masks,
and a teacher's soft targets when distilling."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from training.data import Encoded


def collate(items: Sequence[Encoded], pad: int) -> dict[str, torch.Tensor]:
    width = max(len(e.ids) for e in items)
    n_labels = len(items[0].target)
    ids = torch.full((len(items), width), pad, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    tok_target = torch.zeros((len(items), width, n_labels))
    tok_known = torch.zeros((len(items), width, n_labels), dtype=torch.bool)
    for row, e in enumerate(items):
        ids[row, : len(e.ids)] = torch.tensor(e.ids)
        mask[row, : len(e.ids)] = 1
        if e.token_target is not None and e.token_known is not None:
            tok_target[row, : len(e.ids)] = torch.from_numpy(e.token_target)
            real = torch.tensor([end > start for start, end in e.offsets])
            tok_known[row, : len(e.ids)] = real[:, None] & torch.from_numpy(e.token_known)[None, :]
    batch = {
        "input_ids": ids,
        "attention_mask": mask,
        "target": torch.from_numpy(np.stack([e.target for e in items])),
        "known": torch.from_numpy(np.stack([e.known for e in items])),
        "token_target": tok_target,
        "token_known": tok_known,
    }
    if items[0].soft is not None:
        teacher = [_teacher(e) for e in items]
        spans = teacher[0][1].shape[1]
        token_soft = torch.zeros((len(items), width, spans))
        token_real = torch.zeros((len(items), width, spans), dtype=torch.bool)
        for row, (e, (_, evidence)) in enumerate(zip(items, teacher, strict=True)):
            token_soft[row, : len(e.ids)] = torch.from_numpy(evidence.astype(np.float32))
            token_real[row, : len(e.ids)] = torch.tensor([end > start for start, end in e.offsets])[:, None]
        batch.update(soft=torch.from_numpy(np.stack([soft for soft, _ in teacher])),
                     token_soft=token_soft, token_real=token_real)
    return batch


def _teacher(e: Encoded) -> tuple[np.ndarray, np.ndarray]:
    """An example's teacher scores and evidence: every example of a distilled batch has both."""
    if e.soft is None or e.token_soft is None:
        raise ValueError("a batch mixes examples with and without the teacher's outputs")
    return e.soft, e.token_soft
