"""A model directory as one ONNX graph (base and adapter merged, both heads), optionally
quantised to int8, for the ONNX Runtime backend.

Exports are cached by content: the key hashes the model's weight files, its architecture
settings and the base weights it was trained on, so a retrained model never meets a stale
graph, and every process scoring the same model shares one file. The cache lives under
``$MODERATION_CACHE_DIR`` (default ``$XDG_CACHE_HOME/moderation`` or ``~/.cache/moderation``)
and is never part of a model directory in git. An entry is named after the model (its
``name``, which must be a plain file name: letters, digits, ``_``, ``.``, ``-``, inner spaces)
and its key.

Exporting needs torch and onnx; scoring from a cached graph needs only onnxruntime.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path

from moderation.errors import ModelLoadError
from moderation.io import atomic_output, atomic_path
from moderation.modeldir import ModelInfo, base_weights_sha256, resolve_base
from moderation.scoring_config import PRECISIONS as PRECISIONS  # the setting's choices

# Bumped whenever the exported graph changes shape or meaning, so old cache entries are ignored.
EXPORT_VERSION = 3
CACHE_ENV = "MODERATION_CACHE_DIR"
INPUTS = ("input_ids", "attention_mask")
OUTPUTS = ("sequence_logits", "token_logits")
# A model's name becomes a directory name in the cache: nothing that could leave it (a slash,
# "..", a drive) or hide in it (control characters, a leading dot).
_SAFE_NAME = re.compile(r"\w(?:[\w. -]{0,98}[\w.-])?")
# Weight and architecture files that decide the graph (thresholds and calibration do not).
_GRAPH_FILES = ("config.json", "adapter_config.json", "adapter_model.safetensors",
                "encoder.safetensors", "heads.safetensors")


def cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "moderation"


def graph_key(info: ModelInfo, precision: str, base: str | None = None) -> str:
    """A base given explicitly enters the key with its own weights' hash, so the export (which
    checks the base against the model) runs for it rather than a graph built on another."""
    base_sha = info.base_sha256 if base is None else base_weights_sha256(resolve_base(base))
    digest = hashlib.sha256(f"v{EXPORT_VERSION}/{precision}/{base_sha}".encode())
    for name in _GRAPH_FILES:
        path = info.path / name
        if path.is_file():
            with open(path, "rb") as handle:
                digest.update(f"{name}:{hashlib.file_digest(handle, 'sha256').hexdigest()}".encode())
    return digest.hexdigest()[:24]


def cached_graph(info: ModelInfo, precision: str = "int8", base: str | None = None,
                 log: Callable[[str], None] | None = None) -> Path:
    """The ONNX graph of a model, exported into the cache on first use."""
    path = cache_path(info, precision, base)
    if not path.is_file():
        if log:
            log(f"exporting {info.path} to ONNX ({precision}) once, into {path.parent}")
        try:
            export_graph(info, path, precision, base=base)
        except OSError as exc:
            raise ModelLoadError(f"{path.parent}: cannot write the ONNX export ({exc.strerror or exc}); "
                                 f"set {CACHE_ENV} to a writable directory") from None
    return path


def cache_path(info: ModelInfo, precision: str = "int8", base: str | None = None) -> Path:
    """Where the cache keeps (or will keep) the model's graph."""
    check_precision(precision)
    check_name(info)
    return cache_dir() / f"{info.name}-{graph_key(info, precision, base)}" / f"model.{precision}.onnx"


def check_name(info: ModelInfo) -> None:
    """A ModelLoadError unless the model's name is safe as a directory name in the cache."""
    if not _SAFE_NAME.fullmatch(info.name):
        raise ModelLoadError(f"{info.path}: the model's name {info.name!r} cannot name a directory in the "
                             "export cache: use letters, digits, '_', '.', '-' and inner spaces (starting "
                             "with a letter, digit or '_', at most 100 characters) for 'name' in config.json")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise ModelLoadError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


def export_graph(info: ModelInfo, out: Path, precision: str = "int8", base: str | None = None) -> Path:
    """Write the model as ONNX to ``out``, atomically: a killed export leaves no file there."""
    check_precision(precision)
    try:
        import onnx  # noqa: F401  (the quantiser needs it; fail before the slow part)
        import torch
    except ImportError as exc:
        raise ModelLoadError(f"exporting to ONNX needs torch and onnx ({exc}); install "
                             "moderation[model]") from None

    from moderation import compat
    from moderation.network import load_network

    network = load_network(info, base=base)
    # The eager attention traces to plain MatMul/Softmax, which ONNX Runtime fuses and the
    # quantiser understands; the fused kernels of the other implementations do not export
    # with a dynamic padding mask.
    compat.use_eager_attention(network.encoder)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".export-") as work, \
            atomic_path(out) as final:
        # int8: the float trace is a step on the way; fp32: it is the graph
        trace = Path(work) / "model.trace.onnx" if precision == "int8" else final
        # A padded second row, so the trace keeps the mask as an input instead of folding
        # "no padding" into the graph. Small ids fit any vocabulary.
        ids = torch.tensor([[2, 5, 6, 7, 8, 3], [2, 9, 3, 0, 0, 0]])
        mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
        with warnings.catch_warnings(), torch.inference_mode():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                network, (ids, mask), str(trace), input_names=list(INPUTS),
                output_names=list(OUTPUTS), opset_version=17, dynamo=False,
                dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                              "attention_mask": {0: "batch", 1: "tokens"},
                              "sequence_logits": {0: "batch"},
                              "token_logits": {0: "batch", 1: "tokens"}},
            )
        # ONNX Runtime's own session-time fusions (residual + LayerNorm, GELU, scaled MatMul)
        # apply to this plain trace. The offline BERT fusions were measured slower on 2 cores:
        # their fused attention cost 15% at 72 tokens and int8.
        if precision == "int8":
            from moderation.quantise import quantise

            quantise(trace, final)
    # After the graph: a kill between the two leaves a graph without its description, never a
    # description of a graph that is not there.
    with atomic_output(out.parent / "export.json") as handle:
        handle.write(json.dumps({
            "model": info.name, "version": info.version, "precision": precision,
            "export_version": EXPORT_VERSION, "base_sha256": info.base_sha256,
        }, indent=2))
    return out
