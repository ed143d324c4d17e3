"""JSON decoding for untrusted exports: every input gives a value or a ``JSONDecodeError``.

The standard decoder is used first (it is fast). Two things it cannot do are handled here:

* nesting deeper than about 1,000 levels: the C decoder recurses and raises ``RecursionError``.
  Such input is read again by an iterative decoder, which takes up to ``max_depth`` levels (a
  Reddit reply chain 5,000 deep is 25,000 levels) and names the place where it goes deeper;
* integers of more than 4,300 digits, which ``int()`` refuses: the error names the place.

``\\ud800``-style escapes that pair with nothing decode to lone surrogates, which cannot be
written as UTF-8 and which tokenizers reject. They are replaced with U+FFFD, and counted so
the caller can warn.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from json import decoder as _json_decoder
from typing import Any

SHALLOW = 512  # our own thread JSON and flat comment lists are a few levels deep
DEEP = 100_000

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_CONSTANTS = {"null": None, "true": True, "false": False, "NaN": float("nan"),
              "Infinity": float("inf"), "-Infinity": float("-inf")}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MAX_DIGITS = sys.get_int_max_str_digits() or 4300
# The decoder's own string scanner (the C one where there is one); its stubs leave it out.
scanstring: Callable[[str, int], tuple[str, int]] = _json_decoder.scanstring  # type: ignore[attr-defined]


def _skip_space(text: str, at: int) -> int:
    """The offset of the first non-space character at or after ``at``."""
    match = _WHITESPACE.match(text, at)
    return match.end() if match else at  # the pattern matches the empty string: always found


def loads(text: str, *, max_depth: int = SHALLOW) -> tuple[Any, int]:
    """The value of a whole JSON text and how many lone surrogates were replaced."""
    value, end, replaced = raw_decode(text, _skip_space(text, 0), max_depth=max_depth)
    end = _skip_space(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value, replaced


def raw_decode(text: str, pos: int = 0, *, max_depth: int = SHALLOW) -> tuple[Any, int, int]:
    """One JSON value starting at ``pos``: the value, where it ends, lone surrogates replaced."""
    try:
        value, end = _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError):
        # Too deep for the C decoder, or an integer too long for int(): read it again
        # iteratively, which reads the first and says where the second is.
        value, end = _iterative(text, pos, max_depth)
    if not _SURROGATE_ESCAPE.search(text, pos, end):  # the usual case: nothing to walk
        return value, end, 0
    value, replaced = _replace_surrogates(value)
    return value, end, replaced


def surrogate_warning(count: int) -> str:
    return (f"{count} lone surrogate escape(s) (\\ud800-\\udfff with no pair) replaced with "
            "U+FFFD")


def _replace_surrogates(value: Any) -> tuple[Any, int]:
    """Lone surrogates in every string and key replaced, in place; without recursion."""
    count = 0

    def fix(text: str) -> str:
        nonlocal count
        text, n = _SURROGATE.subn("\ufffd", text)
        count += n
        return text

    if isinstance(value, str):
        return fix(value), count
    stack = [value]
    while stack:
        container = stack.pop()
        if isinstance(container, list):
            for i, item in enumerate(container):
                if isinstance(item, str):
                    container[i] = fix(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
        else:
            items = list(container.items())
            if any(_SURROGATE.search(key) for key, _ in items):
                container.clear()
                container.update((fix(key), item) for key, item in items)
                items = list(container.items())
            for key, item in items:
                if isinstance(item, str):
                    container[key] = fix(item)
                elif isinstance(item, (list, dict)):
                    stack.append(item)
    return value, count


def _iterative(text: str, pos: int, max_depth: int) -> tuple[Any, int]:
    """A JSON value read with an explicit stack instead of recursion (slower; rare inputs)."""
    # Each open container with the key its next value goes under (None in a list).
    stack: list[tuple[Any, str | None]] = []

    def fail(message: str, at: int) -> json.JSONDecodeError:
        return json.JSONDecodeError(message, text, at)

    def skip(at: int) -> int:
        return _skip_space(text, at)

    def key_at(at: int) -> tuple[str, int]:
        if text[at:at + 1] != '"':
            raise fail("Expecting property name enclosed in double quotes", at)
        key, at = scanstring(text, at + 1)
        at = skip(at)
        if text[at:at + 1] != ":":
            raise fail("Expecting ':' delimiter", at)
        return key, skip(at + 1)

    while True:
        pos = skip(pos)
        char = text[pos:pos + 1]
        value: Any
        if char in ("{", "["):
            if len(stack) >= max_depth:
                raise fail(f"nested more than {max_depth} levels deep", pos)
            inside = skip(pos + 1)
            if text[inside:inside + 1] == ("}" if char == "{" else "]"):
                value, pos = ({} if char == "{" else []), inside + 1
            elif char == "{":
                first, pos = key_at(inside)
                stack.append(({}, first))
                continue
            else:
                stack.append(([], None))
                pos = inside
                continue
        elif char == '"':
            value, pos = scanstring(text, pos + 1)
        else:
            number = _NUMBER.match(text, pos)
            if number:
                whole, fraction, exponent = number.groups()
                if fraction or exponent:
                    value = float(number.group(0))
                elif len(whole.lstrip("-")) > _MAX_DIGITS:
                    raise fail(f"an integer of {len(whole.lstrip('-'))} digits (more than "
                               f"{_MAX_DIGITS})", pos)
                else:
                    value = int(whole)
                pos = number.end()
            else:
                for name, constant in _CONSTANTS.items():
                    if text.startswith(name, pos):
                        value, pos = constant, pos + len(name)
                        break
                else:
                    raise fail("Expecting value", pos)
        # A value is complete: add it to the containers it closes, innermost first.
        while True:
            if not stack:
                return value, pos
            container, key = stack[-1]
            if key is None:
                container.append(value)
            else:
                container[key] = value
            pos = skip(pos)
            char = text[pos:pos + 1]
            if char == ",":
                pos = skip(pos + 1)
                if key is not None:
                    key, pos = key_at(pos)
                    stack[-1] = (container, key)
                break
            if char == ("]" if key is None else "}"):
                stack.pop()
                value, pos = container, pos + 1
                continue
            raise fail("Expecting ',' delimiter", pos)
