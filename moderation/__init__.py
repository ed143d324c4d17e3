"""moderation: parse comment threads, score them for hostility and propaganda techniques.

Importing this package is cheap: torch and transformers load only when a model is used.
"""

from moderation.errors import ConfigError, DataError, ModelLoadError, ModerationError, ParseError
from moderation.thread import Article, Block, Comment, Pingback, Thread

__version__ = "0.1.0"

__all__ = [
    "Article",
    "Block",
    "Comment",
    "ConfigError",
    "DataError",
    "ModelLoadError",
    "ModerationError",
    "ParseError",
    "Pingback",
    "Thread",
    "__version__",
]
