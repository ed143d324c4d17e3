"""Our own thread JSON, as ``moderation parse`` writes it, read back exactly.

Accepted layouts (see :mod:`moderation.thread` for the object):

* JSONL: one thread object per line (what ``moderation parse`` writes); read line by line, so
  files of any size stream;
* one thread object, or a JSON list of them, compact or pretty-printed, or several such values
  one after another (``jq`` output).

A bad line does not cost the good ones: every good thread is yielded, and once the input is
done a :class:`ParseError` names the bad lines and what is wrong with each (``line 3:
thread.comments[0].id: missing``). Iterate the parser (as ``moderation parse`` does) to keep
the threads that came before the error. In a pretty-printed document a JSON syntax error ends
the reading, since nothing after it can be located reliably.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from moderation.encoding import decode
from moderation.errors import ParseError
from moderation.parsers import Format, jsontext
from moderation.thread import Thread

_LISTING = re.compile(rb'"kind"\s*:\s*"Listing"')
_OWN_START = re.compile(rb'^\{\s*"source"\s*:')
_LEADING = b"\xef\xbb\xbf \t\r\n"
_SHOWN_ERRORS = 3  # bad lines described in full; the others are only numbered


def sniff(head: bytes) -> bool:
    text = head.lstrip(_LEADING)
    if text.startswith(b"["):
        text = text[1:].lstrip(_LEADING)
    if not text.startswith(b"{") or _LISTING.search(head):
        return False
    # A thread's "comments" key follows its article, which can outgrow the sniffed head; the
    # "source" key that to_dict writes first identifies the form as well.
    return b'"comments"' in head or bool(_OWN_START.match(text))


def parse(stream: BinaryIO, source: str) -> Iterator[Thread]:
    bad: list[tuple[int, str]] = []
    good = 0
    for thread in _read(enumerate(stream, start=1), bad):
        good += 1
        yield thread
    if bad:
        raise ParseError(source, _report(bad, good), line=bad[0][0])


FORMAT = Format(
    name="json",
    description="thread JSON or JSONL, as `moderation parse` writes it",
    sniff=sniff,
    parse=parse,
)


def _read(lines: Iterator[tuple[int, bytes]], bad: list[tuple[int, str]]) -> Iterator[Thread]:
    """Threads from numbered lines; the first non-blank line tells JSONL from a JSON document."""
    for number, raw in lines:
        text, warnings = _decode(raw)
        if not text.strip():
            continue
        # Pretty-printed JSON opens with a lone "{" or "["; a list may also sit on one line.
        if text.lstrip().startswith("[") or text.strip() == "{":
            whole, warnings = _decode(raw + b"".join(r for _, r in lines))
            yield from _document(whole, number, warnings, bad)
            return
        yield from _line(number, text, warnings, bad)
        for number, raw in lines:
            yield from _line(number, *_decode(raw), bad)


def _decode(data: bytes) -> tuple[str, list[str]]:
    decoded = decode(data)
    return decoded.text, list(decoded.warnings)


def _line(
    number: int, text: str, warnings: list[str], bad: list[tuple[int, str]]
) -> Iterator[Thread]:
    if not text.strip():
        return
    try:
        value, replaced = jsontext.loads(text)
    except json.JSONDecodeError as exc:
        bad.append((number, f"not valid JSON ({exc.msg} at column {exc.colno})"))
        return
    if replaced:
        warnings = [*warnings, jsontext.surrogate_warning(replaced)]
    yield from _threads(value, number, tuple(f"line {number}: {w}" for w in warnings), bad)


def _document(
    text: str, first_number: int, warnings: list[str], bad: list[tuple[int, str]]
) -> Iterator[Thread]:
    """Threads from whole JSON values (objects or lists), pretty-printed or not."""
    position = 0
    while True:
        while position < len(text) and text[position].isspace():
            position += 1
        if position >= len(text):
            return
        line = first_number + text.count("\n", 0, position)
        try:
            value, position, replaced = jsontext.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            bad.append((first_number + exc.lineno - 1,
                        f"not valid JSON ({exc.msg} at column {exc.colno}); reading stopped"))
            return
        notes = [*warnings, jsontext.surrogate_warning(replaced)] if replaced else warnings
        yield from _threads(value, line, tuple(notes), bad)


def _threads(
    value: Any, line: int, warnings: tuple[str, ...], bad: list[tuple[int, str]]
) -> Iterator[Thread]:
    """Threads from one JSON value: a thread object or a list of them.

    Input decoding warnings are added to each thread (they are not in the JSON itself).
    """
    items = enumerate(value) if isinstance(value, list) else [(None, value)]
    for index, item in items:
        try:
            thread = Thread.from_dict(item, "thread" if index is None else f"[{index}]")
        except ValueError as exc:
            bad.append((line, str(exc)))
            continue
        yield dataclasses.replace(thread, warnings=thread.warnings + warnings) if warnings \
            else thread


def _report(bad: list[tuple[int, str]], good: int) -> str:
    numbers = sorted({line for line, _ in bad})
    shown = "; ".join(f"line {line}: {why}" for line, why in bad[:_SHOWN_ERRORS])
    more = f"; {len(bad) - _SHOWN_ERRORS} more" if len(bad) > _SHOWN_ERRORS else ""
    return (f"{len(bad)} bad thread(s) skipped (line(s) {', '.join(map(str, numbers))}), "
            f"{good} good thread(s) read: {shown}{more}")
