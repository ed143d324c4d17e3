"""Scoring settings: one frozen dataclass for everything that decides how comments are scored
(the model, where it runs, how texts are batched, the policy that decides, how inputs are
read). ``moderation score``, ``evaluate``, ``serve`` and ``export`` generate their options from
its fields (:mod:`moderation.options`), the Ray engine hands it to its actors, and the service
builds it from its settings; each checks its values here, once.

Windowing (tokens per window and their overlap) is not a setting: it belongs to the model and
comes from its directory. This module imports neither torch nor numpy, so ``--help`` stays fast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from moderation.errors import ConfigError
from moderation.parsers import format_names

if TYPE_CHECKING:
    from moderation.modeldir import ModelInfo
    from moderation.policy import Policy
    from moderation.scorer import Scorer

BACKENDS = ("torch", "onnx")
PRECISIONS = ("int8", "fp32")
# Comments scored together and written at once: enough for the scorer to sort windows by
# length and keep padding low, few enough that memory stays flat.
DEFAULT_CHUNK = 512


@dataclass(frozen=True)
class InputOptions:
    """How batch inputs are read (``moderation score``, the Ray engine)."""

    input_format: str | None = field(default=None, metadata={
        "help": "read every input as this thread format (no detection; comment lists are then "
        "not recognised)", "choices": format_names()})
    text_field: str = field(default="text", metadata={
        "help": "comment lists: the field or column holding the text", "metavar": "NAME"})
    include_article: bool = field(default=False, metadata={
        "help": "also score each article body"})

    def __post_init__(self) -> None:
        if self.input_format is not None and self.input_format not in format_names():
            raise ConfigError(f"input_format: unknown format {self.input_format!r}; choose one "
                              f"of {', '.join(format_names())}")
        if not self.text_field.strip():
            raise ConfigError("text_field must name a field or column, e.g. 'text'")


@dataclass(frozen=True)
class ScoringConfig:
    """How comments are scored. ``None`` leaves a choice to the library: the default model
    directory, ONNX Runtime where installed, the cores available, the batch size that
    measured fastest for the backend, the model's own thresholds."""

    model: Path | None = field(default=None, metadata={
        "help": "model directory", "metavar": "DIR", "default": "models/default, or "
        "$MODERATION_MODEL"})
    base: str | None = field(default=None, metadata={
        "help": "override the base encoder directory", "metavar": "DIR"})
    backend: str | None = field(default=None, metadata={
        "help": "where the model runs: onnx (ONNX Runtime, exported on first use; the default "
        "when installed) or torch (the reference: slower, scores within a few hundredths of "
        "onnx int8)", "choices": BACKENDS})
    precision: str = field(default="int8", metadata={
        "help": "onnx backend: int8 or fp32 weights", "choices": PRECISIONS})
    threads: int | None = field(default=None, metadata={
        "help": "CPU threads for the model", "default": "the cores available"})
    batch_size: int | None = field(default=None, metadata={
        "help": "windows per forward pass", "default": "32 with torch, 8 with onnx"})
    policy: Path | None = field(default=None, metadata={
        "help": "TOML review/reject thresholds per label", "metavar": "FILE",
        "default": "review at the model's thresholds, never reject"})
    community: str | None = field(default=None, metadata={
        "help": "use this community of the policy file", "metavar": "NAME"})
    chunk: int = field(default=DEFAULT_CHUNK, metadata={
        "help": "comments scored together and written at once"})
    inputs: InputOptions = field(default_factory=InputOptions, metadata={
        "help": "how inputs are read", "command_line": False})

    def __post_init__(self) -> None:
        # Paths may come as strings (settings, JSON); stored as Path either way.
        for name in ("model", "policy"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        if self.backend is not None and self.backend not in BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(BACKENDS)}, got {self.backend!r}")
        if self.precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, "
                              f"got {self.precision!r}")
        for name in ("threads", "batch_size", "chunk"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name.replace('_', ' ')} must be at least 1, got {value}")
        if self.community is not None and self.policy is None:
            raise ConfigError(f"community {self.community!r} needs a policy file that defines "
                              "it (--policy FILE)")

    @property
    def model_dir(self) -> Path:
        """The model directory: ``model``, else ``$MODERATION_MODEL``, else models/default."""
        from moderation.modeldir import default_model_dir

        return self.model if self.model is not None else default_model_dir()

    def replace(self, **changes: Any) -> ScoringConfig:
        return dataclasses.replace(self, **changes)

    def absolute(self) -> ScoringConfig:
        """The same settings with the model directory and policy file as absolute paths (for
        processes that may run elsewhere)."""
        return self.replace(model=self.model_dir.resolve(),
                            policy=self.policy.resolve() if self.policy is not None else None)

    def resolved(self) -> ScoringConfig:
        """The same settings with every choice left to this machine's library made: absolute
        paths, the backend and its batch size (what a run records beside its output)."""
        from moderation.backends import DEFAULT_BATCH, default_backend

        backend = self.backend or default_backend()
        return self.absolute().replace(backend=backend,
                                       batch_size=self.batch_size or DEFAULT_BATCH.get(backend, 32))

    def load_policy(self, info: ModelInfo) -> Policy:
        """The policy that decides: the policy file's (its community's), else the model's."""
        from moderation.policy import load_policy, model_policy

        if self.policy is None:
            return model_policy(info)
        return load_policy(str(self.policy), info, self.community)

    def load_scorer(self, model: Path | str | None = None,
                    log: Callable[[str], None] | None = None) -> Scorer:
        """A scorer for ``model`` (default: this config's model directory)."""
        from moderation.scorer import Scorer

        return Scorer(model if model is not None else self.model_dir, base=self.base,
                      batch_size=self.batch_size, threads=self.threads, backend=self.backend,
                      precision=self.precision, log=log)

    def to_dict(self) -> dict[str, Any]:
        """The settings as JSON values (paths as strings)."""
        data = dataclasses.asdict(self)
        for name in ("model", "policy"):
            if data[name] is not None:
                data[name] = str(data[name])
        return data
