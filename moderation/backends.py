"""Where the network runs: PyTorch (fp32, the reference) or ONNX Runtime (int8 by default,
2 to 3 times as fast on 2 cores; its scores drift from the reference by 0.003 on average, see
bench/README.md and :mod:`moderation.quantise`). ONNX Runtime is the default wherever it is
installed (see ``default_backend``).

Both take a padded batch of token ids and its attention mask as int64 arrays and return the
sequence logits ``(batch, labels)`` and the token logits ``(batch, tokens, labels)`` as float32
arrays; everything around them (tokenising, windows, calibration, spans) is shared.

``run_all`` scores several batches, in order. torch runs them one after another, spreading each
over its threads. ONNX Runtime runs ``lanes`` of them at once, one core each: on 2 cores two
single-threaded calls scored 10 to 20% more windows per second than one call split over both
cores, whose operators are too small to divide well.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

import numpy as np

from moderation.errors import ModelLoadError
from moderation.modeldir import ModelInfo
from moderation.scoring_config import BACKENDS as BACKENDS  # the setting's choices

# Windows per forward pass that scored fastest on 2 cores (generated comments): ONNX Runtime
# 145 comments/s with 8 against 129 with 32 (one call over both cores; with a call per core, 4
# and 8 tie and 16 is 3% slower); torch 83 with 16 or 32, 81 with 8.
DEFAULT_BATCH = {"torch": 32, "onnx": 8}


Batch = tuple[np.ndarray, np.ndarray]


class Backend(Protocol):
    name: str
    lanes: int  # batches in flight at once

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Batch:
        ...

    def run_all(self, batches: Sequence[Batch]) -> Iterator[Batch]:
        ...


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_backend() -> str:
    """The backend used when none is named: onnx when ONNX Runtime and the exporter are
    installed (both come with ``moderation[model]``), torch otherwise. Looked up without
    importing either, so that choosing costs nothing."""
    from importlib.util import find_spec

    return "onnx" if find_spec("onnxruntime") and find_spec("onnx") else "torch"


def require_onnx() -> None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        raise ModelLoadError("the onnx backend needs onnxruntime: install moderation[model] "
                             "or pass --backend torch") from None


def open_backend(info: ModelInfo, backend: str | None = None, *, base: str | None = None,
                 threads: int | None = None, precision: str = "int8",
                 log: Callable[[str], None] | None = None) -> Backend:
    backend = backend or default_backend()
    if backend not in BACKENDS:
        raise ModelLoadError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    if backend == "torch":
        return TorchBackend(info, base=base, threads=threads)
    require_onnx()
    from moderation.export import cached_graph

    return OnnxBackend(str(cached_graph(info, precision, base=base, log=log)), threads=threads,
                       precision=precision)


class TorchBackend:
    name = "torch"
    lanes = 1

    def __init__(self, info: ModelInfo, *, base: str | None = None, threads: int | None = None) -> None:
        import torch

        from moderation.network import load_network

        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.network = load_network(info, base=base)

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Batch:
        torch = self._torch
        with torch.inference_mode():
            seq, tok = self.network(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return seq.float().numpy(), tok.float().numpy()

    def run_all(self, batches: Sequence[Batch]) -> Iterator[Batch]:
        return (self.run(*batch) for batch in batches)


class OnnxBackend:
    name = "onnx"

    def __init__(self, path: str, *, threads: int | None = None, precision: str = "int8") -> None:
        import onnxruntime as ort

        self.lanes = threads or default_threads()
        options = ort.SessionOptions()
        # Each call on one core; the cores run calls side by side (see run_all).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # Idle operator threads sleep instead of spinning: spinning won nothing on 2 cores and
        # took CPU from the service's event loop between model calls.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own exception types
            raise ModelLoadError(f"{path}: cannot load the ONNX graph ({exc}); delete it to "
                                 "export again") from None
        self.name = f"onnx-{precision}"
        self.path = path
        # A session runs concurrent calls safely and releases the GIL while it computes.
        self._pool = ThreadPoolExecutor(self.lanes, thread_name_prefix="moderation-onnx") if self.lanes > 1 else None

    def run(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> Batch:
        seq, tok = self.session.run(None, {"input_ids": input_ids, "attention_mask": attention_mask})
        return seq, tok

    def run_all(self, batches: Sequence[Batch]) -> Iterator[Batch]:
        if self._pool is None or len(batches) < 2:
            return (self.run(*batch) for batch in batches)
        return self._pool.map(lambda batch: self.run(*batch), batches)
