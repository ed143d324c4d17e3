"""Flat comment lists: a table with one comment per row, as ``score`` and ``parse`` read it.

The table is CSV, TSV or JSON Lines, read by :func:`moderation.rows.read_rows` (so by the same
rules as labelled data). Fields: the text field (``text``, or what ``--text-field`` names) and
optionally ``id``, ``author``, ``thread``, ``posted_at``, ``parent_id``, ``status`` and
``url``. Consecutive rows naming the same ``thread`` form one thread; a row without an id is
named by the line it starts on.

Which inputs are flat lists (:func:`flat_kind`): a file named ``.csv``, ``.tsv`` or ``.tab``,
whatever it holds; else one whose first line is a JSON object with the text field and none of
a thread's keys (flat lists and ``moderation parse`` output share ``.jsonl``); else, for a
name that says nothing (``.txt``, none, standard input), a CSV or TSV header that names the
text field among other columns (a copied page is never such a table).

A row that cannot be read, or whose text is not a string, is skipped, and once the good rows
are out a :class:`~moderation.errors.ParseError` names the skipped ones: a list never loses its
good comments to a bad row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from moderation.errors import ParseError
from moderation.parsers import jsontext
from moderation.rows import (
    Kind,
    RowReport,
    first_line,
    header_cells,
    read_rows,
    sniff_kind,
    suffix_kind,
)
from moderation.thread import Article, Comment, Thread, naive_time_warning

THREAD_KEYS = frozenset({"comments", "article", "pingbacks"})
FORMAT_NAME = "comments"
_FIELDS = ("author", "posted_at", "parent_id", "status", "url")
_HINT = "name the text column with --text-field"


def flat_kind(name: str, head: bytes, text_field: str = "text") -> Kind | None:
    """The kind of table a flat comment list is, or None for a thread export (see above)."""
    named = suffix_kind(name)
    if named in ("csv", "tsv"):
        return named
    kind = sniff_kind(head)
    line = first_line(head)
    if kind == "jsonl":
        try:
            row, _ = jsontext.loads(line.strip())
        except ValueError:
            return None
        if isinstance(row, dict) and text_field in row and not THREAD_KEYS & row.keys():
            return "jsonl"
        return None
    if kind is not None and named is None:
        header = header_cells(line, kind)
        if len(header) > 1 and text_field in header:
            return kind
    return None


@dataclass(frozen=True)
class FlatRow:
    """One row: its comment, or (``comment`` None) why it is skipped. ``thread`` is the thread
    the row names; for a line that could not be read, that of the row before it."""

    line: int
    thread: str | None
    comment: Comment | None = None
    skip_id: str = ""
    why: str = ""


def flat_rows(stream: BinaryIO, source: str, kind: Kind, text_field: str = "text",
              report: RowReport | None = None) -> Iterator[FlatRow]:
    """The rows of a flat list in order, skipped ones included; then a ParseError naming the
    skipped ones, if any."""
    report = report if report is not None else RowReport()
    problems: list[str] = []
    thread: str | None = None
    told = 0

    def unreadable() -> Iterator[FlatRow]:
        # Lines the reader skipped since the last good row: they came before it in the file.
        nonlocal told
        for bad in report.bad[told:]:
            problems.append(str(bad))
            yield FlatRow(bad.line, thread, skip_id=f"line {bad.line}", why=bad.why)
        told = len(report.bad)

    require = (text_field,) if kind != "jsonl" else ()
    for row in read_rows(stream, kind, name=source, require=require, hint=_HINT, report=report):
        yield from unreadable()
        values = row.values
        name = values.get("thread")
        thread = None if name in (None, "") else str(name)
        where = f"line {row.line}"
        data = {key: (None if values.get(key) == "" else values.get(key)) for key in _FIELDS}
        given_id = values.get("id") not in (None, "")
        data["id"] = values["id"] if given_id else str(row.line)
        data["text"] = values.get(text_field)
        skip_id = str(data["id"]) if given_id else where
        if not isinstance(data["text"], str):
            why = (f"no {text_field!r} field" if data["text"] is None
                   else f"{text_field!r} must be a string, got {type(data['text']).__name__}")
            problems.append(f"{where}: {why}")
            yield FlatRow(row.line, thread, skip_id=skip_id, why=why)
            continue
        try:
            comment = Comment.from_dict(data, where)
        except ValueError as exc:
            problems.append(str(exc))
            yield FlatRow(row.line, thread, skip_id=skip_id, why=str(exc))
            continue
        yield FlatRow(row.line, thread, comment)
    yield from unreadable()
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise ParseError(source, f"{len(problems)} row(s) skipped: {'; '.join(problems[:3])}{more}")


def flat_threads(stream: BinaryIO, source: str, kind: Kind, text_field: str = "text"
                 ) -> Iterator[Thread]:
    """The threads of a flat list (``moderation parse``): consecutive rows naming the same
    thread form one; then the ParseError of :func:`flat_rows`, if any. The file's decoding
    warnings are known once it is read, so they come with its last thread."""
    report = RowReport()
    comments: list[Comment] = []
    title: str | None = None
    started = False

    def thread(last: bool) -> Thread:
        warnings = [w for w in [naive_time_warning(*(c.posted_at for c in comments))] if w]
        return Thread(source=source, format=FORMAT_NAME,
                      article=Article(title=title) if title is not None else None,
                      comments=tuple(comments),
                      warnings=tuple([*warnings, *report.warnings] if last else warnings))

    error: ParseError | None = None
    try:
        for row in flat_rows(stream, source, kind, text_field, report):
            if started and row.thread != title:
                yield thread(last=False)
                comments = []
            started, title = True, row.thread
            if row.comment is not None:
                comments.append(row.comment)
    except ParseError as exc:
        error = exc
    if started:
        yield thread(last=True)
    if error is not None:
        raise error
