"""Parsers for comment-thread exports, behind one signature and a registry with content sniffing.

Each format lives in its own module and exposes ``FORMAT``, a :class:`Format`. Adding a format
is one new module plus one line in ``_MODULES``. ``parse_file`` / ``parse_bytes`` detect the
format from content unless told, and yield :class:`~moderation.thread.Thread` objects.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import os
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from moderation.errors import ModerationError, ParseError
from moderation.thread import Thread

SNIFF_BYTES = 64 * 1024


@dataclass(frozen=True)
class Format:
    """One input format.

    ``sniff(head)`` gets the first bytes of the input (BOM and leading junk included, as they
    come) and says whether this format can read it. ``parse(stream, source)`` reads the whole
    binary stream and yields threads; ``source`` names the input in threads and errors.
    """

    name: str
    description: str
    sniff: Callable[[bytes], bool]
    parse: Callable[[BinaryIO, str], Iterator[Thread]]


# Sniffing order matters: specific formats first, plain text (the most permissive) last.
_MODULES = ("jsonl", "reddit", "wxr", "disqus", "html", "text")
_formats: dict[str, Format] | None = None


def formats() -> dict[str, Format]:
    """All registered formats by name, in sniffing order."""
    global _formats
    if _formats is None:
        loaded = [importlib.import_module(f"moderation.parsers.{m}").FORMAT for m in _MODULES]
        _formats = {f.name: f for f in loaded}
    return _formats


def format_names() -> list[str]:
    # Kept in step with _MODULES without importing the parsers (used by --help).
    return ["json", "reddit", "wxr", "disqus", "html", "text"]


def detect_format(head: bytes, source: str) -> Format:
    """The format whose sniffer accepts ``head``; a ParseError naming the file otherwise."""
    if not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        raise ParseError(source, "the input is empty")
    for fmt in formats().values():
        if fmt.sniff(head):
            return fmt
    raise ParseError(
        source,
        "unknown format: not a WXR, Disqus, WordPress HTML, Reddit JSON, thread JSON/JSONL "
        "or copied-page text file; pass --input-format to force one",
    )


def get_format(name: str) -> Format:
    try:
        return formats()[name]
    except KeyError:
        raise ParseError("--input-format", f"unknown format {name!r}; choose one of "
                         f"{', '.join(formats())}") from None


def utf8_stream(stream: BinaryIO) -> tuple[BinaryIO, list[str]]:
    """A seekable stream of the input as UTF-8, and the warnings decoding it gave.

    Every parser reads UTF-8; input in UTF-16 or UTF-32 (with a BOM or without: see
    :func:`~moderation.encoding.wide_encoding`) is decoded whole here by
    :func:`~moderation.encoding.decode` and handed on as UTF-8 with a BOM, which each parser
    takes before any encoding a file declares. Other input is handed on as it is.
    """
    from moderation.encoding import Encoding, decode, wide_encoding

    if not stream.seekable():
        stream = io.BytesIO(stream.read())
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    wide = wide_encoding(head)
    if wide is None:
        return stream, []
    decoded = decode(stream.read(), encoding=Encoding(*wide))
    return io.BytesIO(b"\xef\xbb\xbf" + decoded.text.encode("utf-8")), list(decoded.warnings)


def parse_stream(stream: BinaryIO, source: str, format: str | None = None,
                 text_field: str = "text") -> Iterator[Thread]:
    """Threads from a binary stream (read whole first when it cannot seek).

    Without a ``format``, a flat comment list (a CSV, TSV or JSON Lines table with a
    ``text_field`` column: see :mod:`moderation.parsers.flat`) is read as one; anything else
    by the format whose sniffer takes it."""
    from moderation.parsers.flat import flat_kind, flat_threads

    stream, warnings = utf8_stream(stream)
    threads: Iterator[Thread]
    if format is not None:
        threads = get_format(format).parse(stream, source)
    else:
        head = stream.read(SNIFF_BYTES)
        stream.seek(0)
        kind = flat_kind(source, head, text_field)
        if kind is not None:
            threads = flat_threads(stream, source, kind, text_field)
        else:
            threads = detect_format(head, source).parse(stream, source)
    for number, thread in enumerate(threads):
        if number == 0 and warnings:  # the file's decoding, reported with its first thread
            thread = dataclasses.replace(thread, warnings=(*warnings, *thread.warnings))
        yield thread


def parse_bytes(data: bytes, source: str = "<bytes>", format: str | None = None) -> list[Thread]:
    return list(parse_stream(io.BytesIO(data), source, format))


def parse_file(path: str | os.PathLike[str], format: str | None = None) -> Iterator[Thread]:
    """Threads from a file; ``"-"`` reads standard input."""
    source = str(path)
    if source == "-":
        yield from parse_stream(io.BytesIO(sys.stdin.buffer.read()), "<stdin>", format)
        return
    try:
        stream = open(path, "rb")  # noqa: SIM115 - closed by the `with` below, outside this `try`
    except OSError as exc:
        raise ParseError(source, f"cannot open: {exc.strerror or exc}") from None
    with stream:
        yield from parse_stream(stream, source, format)


def failure_reason(exc: Exception) -> str:
    """One line on why an input failed, for the boundary that reports it and reads the next.

    Our own errors say what is wrong. Any other exception is a bug: named by its type and the
    place it was raised (the innermost line of ours, and the library line below it), never by
    its message, which may quote the comment being read.
    """
    if isinstance(exc, ParseError):
        return exc.why if exc.line is None else f"line {exc.line}: {exc.why}"
    if isinstance(exc, ModerationError):
        return str(exc)
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f.filename.startswith(_PACKAGE)]
    place = ""
    if ours:
        place = f" at {_frame(ours[-1])}"
        if frames and frames[-1] is not ours[-1]:
            place += f" (in {_frame(frames[-1])})"
    elif frames:
        place = f" at {_frame(frames[-1])}"
    return (f"could not be read: internal error {type(exc).__name__}{place}; "
            "the other inputs are unaffected (please report this with the file)")


_PACKAGE = str(Path(__file__).resolve().parent.parent) + os.sep  # .../moderation/


def _frame(frame: traceback.FrameSummary) -> str:
    parts = Path(frame.filename).parts
    return f"{'/'.join(parts[-2:])}:{frame.lineno}"


# Files in a directory that are documentation or media, never exports. Named explicitly on the
# command line they are still parsed.
_NOT_EXPORTS = frozenset(".md .rst .pdf .png .jpg .jpeg .gif .svg .zip .gz .py .css .js".split())


def expand_paths(paths: Iterable[str], skipped: list[str] | None = None) -> Iterator[str]:
    """Files named, files under directories (recursively, sorted), and ``-``.

    Hidden files and documentation/media files (README.md, images) found in directories are not
    exports; they are left out and appended to ``skipped`` so callers can report them.
    """
    for p in paths:
        if p == "-":
            yield p
            continue
        path = Path(p)
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if not child.is_file():
                    continue
                if any(part.startswith(".") for part in rel.parts) or child.suffix.lower() in _NOT_EXPORTS:
                    if skipped is not None:
                        skipped.append(str(child))
                    continue
                yield str(child)
        else:
            yield p
