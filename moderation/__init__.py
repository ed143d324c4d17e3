"""moderation: parse comment threads, score them for hostility and propaganda techniques.

Importing this package is cheap: torch and transformers load only when a model is used. The
Python API (see :mod:`moderation.model`)::

    import moderation

    model = moderation.load("default")  # or "fast", or a model directory
    records = model.score(["What a clown.", "Thanks for the clear article."])

``load``, ``Model`` and ``ScoredRecord`` are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from moderation.errors import ConfigError, DataError, ModelLoadError, ModerationError, ParseError
from moderation.thread import Article, Block, Comment, Pingback, Thread

if TYPE_CHECKING:
    from moderation.model import Model, load
    from moderation.record import ScoredRecord

__version__ = "0.1.0"

# Names whose modules are imported when first used (the model's brings numpy and the parsers).
_LAZY = {"load": "moderation.model", "Model": "moderation.model", "ScoredRecord": "moderation.record"}

__all__ = [
    "Article",
    "Block",
    "Comment",
    "ConfigError",
    "DataError",
    "Model",
    "ModelLoadError",
    "ModerationError",
    "ParseError",
    "Pingback",
    "ScoredRecord",
    "Thread",
    "__version__",
    "load",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'moderation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
