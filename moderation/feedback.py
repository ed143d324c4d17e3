"""The feedback store: moderators' verdicts on comments, appended one JSON line each to a file in
the labelled format (:mod:`moderation.labelled`), so ``moderation train --data FILE``,
``evaluate`` and ``calibrate`` read it as it is.

A line holds the text, the labels decided (0 or 1, or a probability; the others are left out:
unknown), optionally ``spans`` with ``span_labels`` (the labels whose evidence they mark), and
where the comment came from (``id``, ``thread``, ``community``) and when the verdict arrived
(``received``).

Appending is durable and whole. Each line goes out in one ``write`` on a file opened for
appending, under an exclusive ``flock`` (so writers in other threads and processes wait: a
single append of more than ``PIPE_BUF`` bytes is not atomic on every filesystem), and is
``fsync``-ed before :func:`append` returns. A write that fails or comes up short is cut off
again; a writer killed in the middle of one leaves an unfinished last line, which the next
append cuts off before writing and the loader skips (and counts) meanwhile.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from moderation.errors import ConfigError, ModerationError

# How far back from the end a torn tail is looked for at once.
_TAIL_CHUNK = 1 << 16


class StoreError(ModerationError):
    """The feedback store could not be written (the disk is full, the file went away)."""


@dataclass(frozen=True)
class Verdict:
    """One moderator verdict on one text. ``labels``: label -> value in [0, 1] for the labels
    decided; ``spans``: (start, end, label) evidence, complete for the labels in ``span_labels``."""

    text: str
    labels: Mapping[str, float]
    spans: tuple[tuple[int, int, str], ...] = ()
    span_labels: tuple[str, ...] = ()
    id: str | None = None
    thread: str | None = None
    community: str | None = None
    received: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        """The verdict's line in the labelled format."""
        # 0 and 1 as integers: a verdict is mostly one or the other.
        row: dict[str, Any] = {"text": self.text, **{
            name: int(value) if float(value).is_integer() else value for name, value in self.labels.items()}}
        if self.spans or self.span_labels:
            row["spans"] = [{"start": s, "end": e, "label": label} for s, e, label in self.spans]
            row["span_labels"] = list(self.span_labels)
        for key in ("id", "thread", "community"):
            if getattr(self, key) is not None:
                row[key] = getattr(self, key)
        row["received"] = self.received.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return row


def encode(verdict: Verdict) -> bytes:
    """The verdict's whole line, newline included."""
    return (json.dumps(verdict.to_json(), ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def check_store(path: Path) -> None:
    """Open (creating if need be) the store for appending, or a ConfigError saying why not: a
    store that cannot be written is found at start, not at the first verdict."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise ConfigError(f"feedback store {path}: cannot open it for appending: "
                          f"{exc.strerror or exc}") from None
    os.close(fd)


def append(path: Path, verdict: Verdict) -> None:
    """Append the verdict's line to the store at ``path``, durably (see the module docstring).
    A StoreError names what failed; the store then holds no part of the line."""
    append_line(path, encode(verdict))


def append_line(path: Path, line: bytes) -> None:
    """Append one whole ``line`` (ending in a newline) to ``path``: under an exclusive lock, in
    one write, synced to disk before returning."""
    if not line.endswith(b"\n") or b"\n" in line[:-1]:
        raise ValueError("a store line is one line ending in a newline")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise StoreError(f"cannot open the feedback store: {exc.strerror or exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when fd closes, or its process dies
        size = _cut_torn_tail(fd)
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(f"only {written} of {len(line)} bytes written")
            os.fsync(fd)
        except OSError as exc:
            # Nothing half-written may stay: the next line would run on from it.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
            raise StoreError(f"cannot write the feedback store: {exc.strerror or exc}") from None
    except OSError as exc:
        raise StoreError(f"cannot write the feedback store: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _cut_torn_tail(fd: int) -> int:
    """Cut an unfinished last line off the file (a writer killed mid-write left it; its client
    never got an answer) and return the size the file then has."""
    size = os.fstat(fd).st_size
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    end = size
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        newline = os.pread(fd, end - start, start).rfind(b"\n")
        if newline >= 0:
            keep = start + newline + 1
            break
        end = start
    else:
        keep = 0
    os.ftruncate(fd, keep)
    os.fsync(fd)
    return keep
