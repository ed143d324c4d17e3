"""Typed library errors. The CLI turns them into one-line messages, the service into JSON 4xx/5xx."""

from __future__ import annotations


class ModerationError(Exception):
    """Base class for every error the library raises on purpose."""


class ParseError(ModerationError):
    """An input could not be parsed. ``path`` and ``line`` say where, ``why`` says what to do."""

    def __init__(self, path: str, why: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        self.why = why
        where = path if line is None else f"{path}:{line}"
        super().__init__(f"{where}: {why}")


class DataError(ModerationError):
    """Labelled training/evaluation data is malformed (names the file, row and field)."""


class ModelLoadError(ModerationError):
    """A model directory is missing, incomplete, or does not match its base weights."""


class ConfigError(ModerationError):
    """A configuration value or file is invalid."""
