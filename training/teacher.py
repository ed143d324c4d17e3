"""A teacher's scores and evidence for every training example, when distilling a student.

Computed once per run and kept in the output directory until training ends, so a resumed run
does not pay for the teacher again; the file is keyed by the teacher's weights and the examples.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file as save_numpy

from moderation.io import atomic_path
from moderation.modeldir import ModelInfo
from moderation.network import ModerationNetwork
from training.collate import collate
from training.data import Encoded
from training.log import Log, hms

TEACHER_FILE = "teacher-outputs.safetensors"


def span_columns(info: ModelInfo) -> list[int]:
    """The label columns whose token head gives evidence."""
    return [i for i, label in enumerate(info.labels) if label.spans]


def teacher_outputs(teacher: ModerationNetwork, teacher_info: ModelInfo, data: list[Encoded],
                    pad: int, out: Path, log: Log) -> None:
    """Attach the teacher's probabilities (``soft``, ``token_soft``) to every example."""
    from moderation.export import graph_key

    spans = span_columns(teacher_info)
    digest = hashlib.sha256(graph_key(teacher_info, "fp32").encode())
    for e in data:
        digest.update(np.asarray(e.ids, dtype=np.int32).tobytes())
    key = digest.hexdigest()
    path = out / TEACHER_FILE
    cached = None
    if path.is_file():
        with safe_open(str(path), "np") as handle:
            if (handle.metadata() or {}).get("key") == key:
                cached = {name: handle.get_tensor(name)
                          for name in handle.keys()}  # noqa: SIM118 - the handle is not iterable
    if cached is None:
        log(f"scoring {len(data)} examples with the teacher {teacher_info.path}")
        sequence = np.zeros((len(data), len(teacher_info.labels)), dtype=np.float32)
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
        cached = {"sequence": sequence, "tokens": np.concatenate(tokens)}
        out.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            save_numpy(cached, str(tmp), metadata={"key": key})
    offset = 0
    for i, e in enumerate(data):
        e.soft = cached["sequence"][i]
        e.token_soft = cached["tokens"][offset : offset + len(e.ids)]
        offset += len(e.ids)
