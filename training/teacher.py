"""A teacher's scores and evidence for every training example, when distilling a student.

Computed once per run and kept in the output directory until training ends, so a resumed run
does not pay for a teacher again; each teacher's file is keyed by its weights and the examples.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file as save_numpy

from moderation.io import atomic_path
from moderation.metrics import sigmoid
from moderation.modeldir import ModelInfo
from training.collate import collate
from training.data import Encoded
from training.log import Log, hms

TEACHER_FILE = "teacher-outputs.safetensors"


def span_columns(info: ModelInfo) -> list[int]:
    """The label columns whose token head gives evidence."""
    return [i for i, label in enumerate(info.labels) if label.spans]


def teacher_file(index: int) -> str:
    """The cache of the ``index``-th teacher's outputs in the output directory."""
    return TEACHER_FILE if index == 0 else TEACHER_FILE.replace(".", f"-{index}.", 1)


def teacher_outputs(teachers: Sequence[ModelInfo], data: list[Encoded], pad: int, out: Path,
                    log: Log, base: str | None = None) -> None:
    """Attach the teachers' probabilities (``soft``, ``token_soft``) to every example. Several
    teachers answer as their ensemble: the sigmoid of their mean logit per label, and their
    mean evidence probability per token. Each teacher's outputs are cached apart, so a run
    stopped while scoring keeps the teachers it finished."""
    scored = [_scored(info, index, data, pad, out, log, base) for index, info in enumerate(teachers)]
    if len(scored) == 1:
        sequence, tokens = scored[0]
    else:
        eps = 1e-7  # a probability rounded to 0 or 1 still has a finite logit
        logits = np.mean([np.log(np.clip(s, eps, 1 - eps)) - np.log(np.clip(1 - s, eps, 1 - eps))
                          for s, _ in scored], axis=0)
        sequence = sigmoid(logits).astype(np.float32)
        tokens = np.mean([t.astype(np.float32) for _, t in scored], axis=0).astype(np.float16)
    offset = 0
    for i, e in enumerate(data):
        e.soft = sequence[i]
        e.token_soft = tokens[offset : offset + len(e.ids)]
        offset += len(e.ids)


def _scored(info: ModelInfo, index: int, data: list[Encoded], pad: int, out: Path, log: Log,
            base: str | None) -> tuple[np.ndarray, np.ndarray]:
    """One teacher's probabilities for every example (labels) and every token (its evidence
    labels), from the cache when it was made by these weights on these examples."""
    from moderation.export import graph_key
    from moderation.network import load_network

    spans = span_columns(info)
    digest = hashlib.sha256(graph_key(info, "fp32").encode())
    for e in data:
        digest.update(np.asarray(e.ids, dtype=np.int32).tobytes())
    key = digest.hexdigest()
    path = out / teacher_file(index)
    if path.is_file():
        with safe_open(str(path), "np") as handle:
            if (handle.metadata() or {}).get("key") == key:
                return handle.get_tensor("sequence"), handle.get_tensor("tokens")
    log(f"scoring {len(data)} examples with the teacher {info.path}")
    teacher = load_network(info, base=base)
    sequence = np.zeros((len(data), len(info.labels)), dtype=np.float32)
    tokens = [np.zeros((0, len(spans)), dtype=np.float16)] * len(data)
    order = sorted(range(len(data)), key=lambda i: len(data[i].ids))
    started = time.monotonic()
    with torch.inference_mode():
        for start in range(0, len(order), 64):
            rows = order[start : start + 64]
            batch = collate([data[i] for i in rows], pad)
            seq, tok = teacher(batch["input_ids"], batch["attention_mask"])
            sequence[rows] = torch.sigmoid(seq).numpy()
            probs = torch.sigmoid(tok[:, :, spans]).to(torch.float16).numpy()
            for row, i in enumerate(rows):
                tokens[i] = probs[row, : len(data[i].ids)]
    log(f"teacher scored {len(data)} examples in {hms(time.monotonic() - started)}")
    evidence = np.concatenate(tokens)
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        save_numpy({"sequence": sequence, "tokens": evidence}, str(tmp), metadata={"key": key})
    return sequence, evidence
