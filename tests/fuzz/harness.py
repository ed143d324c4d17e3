"""What the fuzzers run: every parser and flat reader, the rule an input must keep, the corpus.

The rule: whatever the bytes, a reader either gives threads (or events) that can be written
(every string encodes to UTF-8, so a lone surrogate never reaches a writer or the tokenizer) or
raises a :class:`~moderation.errors.ModerationError`. Any other exception is a crash.

The corpus is ``seeds/`` (one real-shaped export per format) plus the small inputs written for
it under ``corpus/<target>/``; a long run adds the inputs that showed new behaviour there.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from moderation import batch
from moderation.errors import ModerationError
from moderation.parsers import formats, parse_bytes
from moderation.rows import Kind
from moderation.thread import Thread

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SEEDS = REPO / "seeds"
CORPUS = HERE / "corpus"
CRASHES = HERE / "crashes"  # written by long runs, ignored by git

# Seed files per target (format name → files of that format in seeds/).
_SEED_FILES = {
    "json": ["threads.jsonl"],
    "reddit": ["reddit-thread.json"],
    "wxr": ["wordpress-export.xml"],
    "disqus": ["disqus-export.xml"],
    "html": ["wordpress-page.html", "wordpress-legacy.html"],
    "text": ["page-copy.txt", "three-pages.txt", "wordpress-says.txt"],
}


def _threads(format_name: str) -> Callable[[bytes], list[Thread]]:
    def run(data: bytes) -> list[Thread]:
        return list(formats()[format_name].parse(io.BytesIO(data), "fuzz-input"))
    return run


def _detected(data: bytes) -> list[Thread]:
    return parse_bytes(data, "fuzz-input")


def _flat(kind: Kind) -> Callable[[bytes], list[Any]]:
    def run(data: bytes) -> list[Any]:
        return list(batch._flat_events(io.BytesIO(data), "fuzz-input", kind, "text", "0:"))
    return run


def _flat_kind(data: bytes) -> list[Any]:
    kind = batch._flat_kind("-", io.BytesIO(data), "text")
    return [] if kind is None else _flat(kind)(data)


# name → (reader, the corpus folders and seed groups it starts from)
TARGETS: dict[str, tuple[Callable[[bytes], list[Any]], tuple[str, ...]]] = {
    "detect": (_detected, ("detect", *_SEED_FILES)),
    **{name: (_threads(name), (name,)) for name in _SEED_FILES},
    "flat-jsonl": (_flat("jsonl"), ("flat-jsonl",)),
    "flat-csv": (_flat("csv"), ("flat-csv",)),
    "flat-tsv": (_flat("tsv"), ("flat-tsv",)),
    "flat-sniff": (_flat_kind, ("flat-sniff", "flat-jsonl", "flat-csv", "flat-tsv")),
}


@dataclass(frozen=True)
class Crash:
    """An exception that is not a ModerationError: its type and the place it was raised."""

    target: str
    kind: str
    where: str

    def __str__(self) -> str:
        return f"{self.target}: {self.kind} at {self.where}"


def run_one(target: str, data: bytes) -> tuple[Crash | None, str]:
    """Run one input; the crash (or None) and a short signature of what happened.

    The signature (outcome, counts, warnings and errors with their numbers removed) tells a
    long run which inputs showed new behaviour, so they join the corpus.
    """
    reader = TARGETS[target][0]
    try:
        results = reader(data)
        _check_writable(results)
    except ModerationError as exc:
        return None, "error:" + _shape(str(exc))
    except Exception as exc:  # noqa: BLE001 - finding these is the point
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(frame.filename).name}:{frame.lineno}"
        return Crash(target, type(exc).__name__, where), f"crash:{type(exc).__name__}:{where}"
    return None, "ok:" + _signature(results)


def _check_writable(results: Sequence[Any]) -> None:
    """Each thread or event serialises to UTF-8 (a surrogate would fail on write)."""
    for result in results:
        if isinstance(result, Thread):
            json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")
        elif isinstance(result, batch.Item):
            result.comment.text.encode("utf-8")
            json.dumps(result.comment.to_dict(), ensure_ascii=False).encode("utf-8")
            result.thread.source.encode("utf-8")
            (result.thread.title or "").encode("utf-8")


_NUMBERS = re.compile(r"\d+")
# What varies with the input inside a message: quoted values, lists in parentheses, JSON paths.
_VARYING = re.compile(r"'[^']*'|\"[^\"]*\"|\u201c[^\u201d]*\u201d|\([^()]*\)|\[[^\]]*\]|<[^<>]*>")


def _shape(message: str) -> str:
    """A message with what varies from input to input taken out, so the same warning or
    error about another value counts as behaviour already seen."""
    shape = _VARYING.sub("Q", message.replace("fuzz-input", ""))
    return " ".join(_NUMBERS.sub("N", shape).split())[:60]


def _signature(results: Sequence[Any]) -> str:
    parts = set()
    for result in results:
        if isinstance(result, Thread):
            parts.add(f"{result.format}:{bool(result.article)}:{min(len(result.comments), 3)}:"
                      f"{min(len(result.pingbacks), 2)}")
            parts.update(_shape(w) for w in result.warnings)
        else:
            parts.add(type(result).__name__ + (":" + _shape(result.reason)
                                               if isinstance(result, batch.Skipped) else ""))
    return "|".join(sorted(parts))


# --- corpus -------------------------------------------------------------------------------


def corpus(target: str) -> list[bytes]:
    """The starting inputs of a target: its seeds and its corpus files, in a fixed order."""
    found: list[bytes] = []
    for name in TARGETS[target][1]:
        found += [(SEEDS / f).read_bytes() for f in _SEED_FILES.get(name, [])]
        folder = CORPUS / name
        if folder.is_dir():
            found += [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()]
    return found


def corpus_files() -> Iterator[tuple[str, Path]]:
    """(target, file) for every file in corpus/, for replaying them all."""
    for folder in sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []:
        if folder.is_dir() and folder.name in TARGETS:
            for path in sorted(folder.iterdir()):
                if path.is_file():
                    yield folder.name, path


def save(folder: Path, data: bytes) -> Path:
    """Store an input under its content's hash (the same input is stored once)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]
    if not path.exists():
        path.write_bytes(data)
    return path


# --- mutations ----------------------------------------------------------------------------

# Fragments that have broken, or come close to breaking, a reader: values out of range, lone
# surrogates, marked sections, bad URLs, encodings, deep nesting, CSV quoting, date lines.
TOKENS: tuple[bytes, ...] = (
    b"1e300", b"-1e20", b"NaN", b"Infinity", b"-Infinity", b"9" * 400, b"1" * 4400, b"-0", b"1.5",
    b'"\\ud800"', b'"a\\udfffb"', b'"\\ud83d\\ude00"', b"\\u0000", b'"\\', b"[]", b"{}", b"null",
    b"true", b'"created_utc": ', b'"selftext": [1]', b'"body": {"a": 1}', b'"replies": ',
    b'{"kind": "more", "data": {"count": 5}}', b'"kind": "Listing"', b'"kind": "t1"',
    b'"text": ', b'"id": ', b'"comments": [', b'"posted_at": "2024-13-45"', b'"status": [1]',
    b"<![foo ", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"&nbsp;", b"&#0;", b"&#xD800;",
    b"&#1114112;", b"&amp;#8217;", b"http://[bad", b'href="http://[bad#comment-1"',
    b'<link rel="canonical" href="http://[x">', b'<?xml version="1.0\xff"?>',
    b'<?xml version="1.0" encoding="utf-16"?>', b'<?xml version="1.0" encoding="nope"?>',
    b'<li class="comment" id="comment-9">', b'<ol class="children">', b"</li></ol>",
    b'<div class="comment-content"><p>x</p></div>', b'<time datetime="99999-01-01">',
    b'<li class="pingback"><a href="http://[y">Post \xe2\x80\x93 Site</a></li>',
    b'<meta charset="utf-16">', b'<meta charset="x-unknown">',
    b'<!DOCTYPE rss [<!ENTITY a "b">]>',
    b"<wp:comment_type>pingback</wp:comment_type>", b"<wp:comment_approved>1</wp:comment_approved>",
    b"<wp:comment_author_url>http://[bad</wp:comment_author_url>",
    b"<wp:comment_date_gmt>9999-99-99 99:99:99</wp:comment_date_gmt>",
    b"<createdAt>+275760-09-13T00:00:00Z</createdAt>", b"<message><![CDATA[<![foo]]></message>",
    b"\x00", b"\xff\xfe", b"\xfe\xff", b"\xef\xbb\xbf", b"\xed\xa0\x80", b"\xff", b"\xc3", b"\r",
    b"\n", b"\r\n", b"\t", b'"', b",", b'""', b'"a\nb"',
    b"October 31, 2024 at 6:33 pm\n", b"Name says:\nMarch 3rd, 2009 at 10:12 am\n",
    b"Pingback: A Post \xe2\x80\x93 Some Site\n", b"3 thoughts on \xe2\x80\x9cX\xe2\x80\x9d\n",
    b"About the Author: Someone\n", b"Reply\n", b"Leave a Reply\n", b"99:99 pm\n",
)


class Chooser:
    """The choices a mutation makes (see :class:`Drawn`)."""

    def integer(self, low: int, high: int) -> int:
        raise NotImplementedError

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.integer(0, len(options) - 1)]

    def raw(self, size: int) -> bytes:
        return bytes(self.integer(0, 255) for _ in range(size))


class Drawn(Chooser):
    """Choices drawn by Hypothesis (from ``st.data()``), so it can replay and shrink them."""

    def __init__(self, data: Any) -> None:
        from hypothesis import strategies

        self.data = data
        self.integers = strategies.integers

    def integer(self, low: int, high: int) -> int:
        return int(self.data.draw(self.integers(low, high)))


def _nest(choose: Chooser) -> bytes:
    opener, closer = choose.pick([
        (b"[", b"]"), (b'{"a":', b"}"), (b"<div>", b"</div>"),
        (b'<li class="comment"><div class="comment-content"><p>r</p></div><ol class="children">',
         b"</ol></li>"),
        (b'{"kind": "Listing", "data": {"children": [{"kind": "t1", "data": {"name": "t1_x", '
         b'"body": "r", "replies": ', b"}}]}}"),
    ])
    depth = choose.pick([10, 200, 1100, 3000, 60000])
    closed = choose.integer(0, 1)
    return opener * depth + (closer * depth if closed else b"")


def _transcode(data: bytes, choose: Chooser) -> bytes:
    text = data.decode("utf-8", errors="replace")
    codec = choose.pick(["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
    return text.encode(codec)


def mutate(data: bytes, choose: Chooser, splice_from: Sequence[bytes] = ()) -> bytes:
    """A few edits to ``data``: tokens in, bytes flipped or cut, parts repeated, nesting, a
    splice with another input, a change of encoding."""
    out = bytearray(data)
    for _ in range(choose.integer(1, 4)):
        at = choose.integer(0, len(out))
        op = choose.integer(0, 9)
        if op <= 2:
            out[at:at] = choose.pick(TOKENS)
        elif op == 3 and out:
            end = min(len(out), at + choose.integer(1, 64))
            out[at:end] = choose.pick(TOKENS)
        elif op == 4 and out:
            out[min(at, len(out) - 1)] ^= 1 << choose.integer(0, 7)
        elif op == 5:
            del out[at:at + choose.integer(1, 256)]
        elif op == 6:
            out[at:at] = choose.raw(choose.integer(1, 8))
        elif op == 7:
            out[at:at] = _nest(choose)
        elif op == 8 and splice_from:
            other = choose.pick(splice_from)
            cut = choose.integer(0, len(other))
            out = out[:at] + other[cut:]
        elif op == 9 and choose.integer(0, 3) == 0:
            out = bytearray(_transcode(bytes(out), choose))
    return bytes(out)
